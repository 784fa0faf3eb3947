"""One ASGI middleware around every request: request id, body size limit, security headers, metrics, a JSON log line."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics import Metrics

access_log = logging.getLogger("askdocs.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
# The API serves JSON only; /docs (Swagger UI) loads its scripts from a CDN, so it gets no CSP.
_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_UPLOAD_PATHS = ("/ingest",)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None) or {"message": record.getMessage()}
        return json.dumps({"ts": round(record.created, 3), "level": record.levelname.lower(), **fields})


def json_access_log() -> None:
    """The access logger writes JSON lines to stderr (once per process)."""
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


class Observe:
    def __init__(self, app: ASGIApp, metrics: Metrics, *, max_body: int, max_upload: int, log: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.max_upload = max_upload
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        path: str = scope["path"]
        limit = self.max_upload if path.startswith(_UPLOAD_PATHS) else self.max_body

        async def send_wrapped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS]
                if not path.startswith(("/docs", "/redoc")):
                    extra.append(_CSP)
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        try:
            length = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            length = 0
        if length > limit:
            await _too_large(send_wrapped, limit)
        else:
            await self.app(scope, _bounded(receive, limit), send_wrapped)
        self._record(scope, request_id, status, time.perf_counter() - started)

    def _record(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        self.metrics.requests.labels(route, scope["method"]).observe(seconds)
        self.metrics.responses.labels(route, str(status)).inc()
        state: dict[str, Any] = scope.get("state", {})
        if status == 429:
            self.metrics.rate_limited.inc()
        if not self.log:
            return
        identity = state.get("identity")
        client = scope.get("client")
        fields = {
            "request_id": request_id,
            "method": scope["method"],
            "path": scope["path"],
            "route": route,
            "status": status,
            "ms": round(seconds * 1000, 1),
            "key": getattr(identity, "key", "") or None,
            "client": client[0] if client else None,
        }
        access_log.info("request", extra={"fields": fields})


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over the limit of {limit // 1024} KiB")


def _bounded(receive: Receive, limit: int) -> Receive:
    """A body sent without (or with a false) Content-Length is still cut at the limit."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return wrapped


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body over the limit of {limit // 1024} KiB"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
