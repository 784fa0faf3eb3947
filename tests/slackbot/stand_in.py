"""A stand-in Slack Web API on 127.0.0.1 (the real ``slack_sdk`` client talks to it) and signed requests to the
bot, as Slack would send them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from slack_bolt import App

BOT_USER = "UBOT"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the signing secret the bot is configured with
TOKEN = "xoxb-test-token"


class Listeners(Executor):
    """A bolt app's lazy listeners (the bot answers, reacts and rates in them), counted from submission to end:
    ``wait_idle`` returns once the bot has done everything it was handed, so a test can then assert that nothing
    more was posted. Bolt submits a request's lazy listeners before its dispatch returns (before the HTTP answer
    or the Socket Mode acknowledgement), so nothing handed over before ``wait_idle`` is missed."""

    def __init__(self, bolt: App) -> None:
        runner = bolt.listener_runner.lazy_listener_runner
        self._executor: Executor = runner.executor  # type: ignore[attr-defined]
        self._running = 0
        self._changed = threading.Condition()
        runner.executor = self  # type: ignore[attr-defined]

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._changed:
            self._running += 1
        try:
            future = self._executor.submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _: object) -> None:
        with self._changed:
            self._running -= 1
            self._changed.notify_all()

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self._running == 0, timeout_s):
                raise AssertionError(f"the bot was still answering ({self._running} listeners) after {timeout_s} s")


@dataclass
class Call:
    method: str
    args: dict[str, Any]


@dataclass
class FakeSlack:
    """Records every Web API call; ``throttle`` answers those methods 429 (Retry-After: 1) once each;
    ``emails`` is what users.info tells about a user."""

    emails: dict[str, str] = field(default_factory=dict)
    throttle: set[str] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    refused: list[tuple[str, float]] = field(default_factory=list)  # (method, when) of each 429
    not_in: set[str] = field(default_factory=set)  # channels where chat.postMessage fails: not_in_channel
    responses: list[dict[str, Any]] = field(default_factory=list)  # what was posted to a response_url
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.api_route("/api/{method}", methods=["GET", "POST"])
        async def call(method: str, request: Request) -> Response:
            args = dict(request.query_params) | await _body(request)
            if method in self.throttle:
                self.throttle.discard(method)
                self.refused.append((method, time.monotonic()))
                return JSONResponse({"ok": False, "error": "ratelimited"}, 429, headers={"Retry-After": "1"})
            with self._lock:
                self.calls.append(Call(method, args | {"at": time.monotonic()}))
            if method == "chat.postMessage" and args.get("channel") in self.not_in:
                return JSONResponse({"ok": False, "error": "not_in_channel"})
            return JSONResponse(self._answer(method, args))

        @api.post("/respond")
        async def respond(request: Request) -> Response:
            self.responses.append(await request.json())
            return Response("ok")

        return api

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": "BBOT", "team_id": "T1", "user": "askdocs"}
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"text": args.get("text")}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method in ("reactions.add", "reactions.remove"):
            return {"ok": True}
        if method == "users.info":
            user = str(args.get("user"))
            return {"ok": True, "user": {"id": user, "profile": {"email": self.emails.get(user, "")}}}
        return {"ok": False, "error": "unknown_method"}

    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait(self, method: str, count: int = 1, timeout_s: float = 60.0) -> list[Call]:
        """The calls of ``method`` once there are ``count`` of them (the bot answers in a thread)."""
        deadline = time.monotonic() + timeout_s
        while len(self.of(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} {method} expected, got {self.of(method)}")
            time.sleep(0.05)
        return self.of(method)


async def _body(request: Request) -> dict[str, Any]:
    raw = (await request.body()).decode()
    if not raw:
        return {}
    if request.headers.get("content-type", "").startswith("application/json"):
        loaded: dict[str, Any] = json.loads(raw)
        return loaded
    return dict(parse_qsl(raw))


def signed(body: str, *, secret: str = SECRET, ts: int | None = None, **headers: str) -> dict[str, str]:
    """Slack's v0 signature: HMAC-SHA256 over ``v0:{timestamp}:{body}`` with the signing secret."""
    stamp = str(int(time.time()) if ts is None else ts)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"} | headers


def event(inner: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
        "event": inner,
    }


def mention(
    text: str, ts: str, channel: str = "CPUBLIC", user: str = "UANA", thread: str | None = None
) -> dict[str, Any]:
    out = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": channel}
    return out | ({"thread_ts": thread} if thread else {})


def message(
    text: str, ts: str, channel: str = "CPUBLIC", user: str = "UANA", channel_type: str = "channel", **more: Any
) -> dict[str, Any]:
    return {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "channel_type": channel_type,
    } | more


def post_event(base_url: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    raw = json.dumps(body)
    sent = {"Content-Type": "application/json"} | signed(raw) | headers
    return httpx.post(f"{base_url}/slack/events", content=raw, headers=sent, timeout=30)


def post_form(base_url: str, fields: dict[str, str]) -> httpx.Response:
    """A slash command or an interaction payload, form-encoded and signed."""
    raw = urlencode(fields)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} | signed(raw)
    return httpx.post(f"{base_url}/slack/events", content=raw, headers=headers, timeout=30)


def text_of(call: Call) -> str:
    """Everything a call shows a reader: its text and its blocks."""
    blocks = call.args.get("blocks")
    return (
        f"{call.args.get('text', '')}\n{blocks if isinstance(blocks, str) else json.dumps(blocks, ensure_ascii=False)}"
    )
