"""Real HTTP servers on 127.0.0.1 for tests: the app under uvicorn, and a stand-in OpenAI-compatible API."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[str]:
    """Run an ASGI app under uvicorn in a thread (on ``port``, default a free one); yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


Reply = str | int | tuple[str, int]


@dataclass
class FakeOpenAI:
    """Speaks the chat-completions API, plain or streamed (``"stream": true``).

    ``replies`` are served in order: a str is an answer, an int an HTTP error, and ``(text, status)`` a stream
    that breaks off after ``text`` with an error event (``status`` is then the error's code).
    """

    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.post("/v1/chat/completions")
        async def complete(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            self.headers.append(dict(request.headers))
            reply = self.replies.pop(0) if self.replies else "I do not know."
            if isinstance(reply, int):
                return JSONResponse({"error": {"message": "stand-in failure", "type": "server_error"}}, reply)
            if body.get("stream"):
                return StreamingResponse(_sse(_chunks(body, reply)), media_type="text/event-stream")
            if isinstance(reply, tuple):
                raise ValueError("a broken-off reply needs a streamed request")
            return JSONResponse(
                {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": reply},
                        }
                    ],
                    "usage": USAGE,
                }
            )

        return api


USAGE = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}


def pieces(text: str) -> list[str]:
    """How the stand-in splits a reply into streamed deltas: word by word, spaces kept."""
    return re.findall(r"\s*\S+\s*", text) or [text]


def _chunks(body: dict[str, Any], reply: str | tuple[str, int]) -> Iterator[dict[str, Any]]:
    text, broken = reply if isinstance(reply, tuple) else (reply, 0)
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return out | ({"usage": None} if with_usage else {})

    yield chunk({"role": "assistant", "content": ""})
    for piece in pieces(text):
        yield chunk({"content": piece})
    if broken:
        yield {"error": {"message": "stand-in failure mid-stream", "type": "server_error", "code": broken}}
        return
    yield chunk({}, "stop")
    if with_usage:
        yield chunk({}) | {"choices": [], "usage": USAGE}


def _sse(chunks: Iterator[dict[str, Any]]) -> Iterator[str]:
    for data in chunks:
        yield f"data: {json.dumps(data)}\n\n"
    yield "data: [DONE]\n\n"


@dataclass
class FakeFineTuning:
    """Speaks the portable part of OpenAI's files and fine-tuning API, plus chat completions (``chat``).

    Each job moves one status further on every retrieve: validating_files, queued, running, then succeeded with a
    fine-tuned model id (or ``fail_with`` set: failed with that message). Events grow as the status advances.
    """

    chat: FakeOpenAI = field(default_factory=FakeOpenAI)
    fail_with: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)

    STEPS = ("validating_files", "queued", "running", "succeeded")

    def app(self) -> FastAPI:
        api = self.chat.app()

        @api.post("/v1/files")
        async def upload(request: Request) -> Response:
            form = await request.form()
            upload = form["file"]
            if form.get("purpose") != "fine-tune" or isinstance(upload, str):
                return JSONResponse({"error": {"message": "purpose must be fine-tune", "type": "invalid"}}, 400)
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = await upload.read()
            return JSONResponse(
                {
                    "id": file_id,
                    "object": "file",
                    "bytes": len(self.files[file_id]),
                    "created_at": 0,
                    "filename": upload.filename,
                    "purpose": "fine-tune",
                    "status": "processed",
                }
            )

        @api.post("/v1/fine_tuning/jobs")
        async def create(request: Request) -> Response:
            body = await request.json()
            if body.get("training_file") not in self.files:
                return JSONResponse({"error": {"message": "unknown training_file", "type": "invalid"}}, 400)
            self.created.append(body)
            job_id = f"ftjob-{len(self.jobs) + 1}"
            self.jobs[job_id] = {"body": body, "step": 0, "cancelled": False}
            return JSONResponse(self._job(job_id))

        @api.get("/v1/fine_tuning/jobs/{job_id}")
        async def retrieve(job_id: str) -> Response:
            if job_id not in self.jobs:
                return JSONResponse({"error": {"message": "no such job", "type": "invalid"}}, 404)
            job = self.jobs[job_id]
            job["step"] = min(job["step"] + 1, len(self.STEPS) - 1)
            return JSONResponse(self._job(job_id))

        @api.get("/v1/fine_tuning/jobs/{job_id}/events")
        async def events(job_id: str) -> Response:
            if job_id not in self.jobs:
                return JSONResponse({"error": {"message": "no such job", "type": "invalid"}}, 404)
            step = self.jobs[job_id]["step"]
            data = [
                {
                    "id": f"{job_id}-ev{i}",
                    "object": "fine_tuning.job.event",
                    "created_at": 1000 + i,
                    "level": "info",
                    "message": f"status: {self.STEPS[i]}",
                    "type": "message",
                }
                for i in range(step + 1)
            ]
            return JSONResponse({"object": "list", "data": list(reversed(data)), "has_more": False})

        @api.post("/v1/fine_tuning/jobs/{job_id}/cancel")
        async def cancel(job_id: str) -> Response:
            if job_id not in self.jobs:
                return JSONResponse({"error": {"message": "no such job", "type": "invalid"}}, 404)
            self.jobs[job_id]["cancelled"] = True
            return JSONResponse(self._job(job_id))

        return api

    def _job(self, job_id: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        body = job["body"]
        status = "cancelled" if job["cancelled"] else self.STEPS[job["step"]]
        if status == "succeeded" and self.fail_with:
            status = "failed"
        done = status == "succeeded"
        return {
            "id": job_id,
            "object": "fine_tuning.job",
            "created_at": 1000,
            "model": body["model"],
            "fine_tuned_model": f"ft:{body['model']}:{body.get('suffix') or 'x'}:{job_id}" if done else None,
            "organization_id": "org-test",
            "status": status,
            "training_file": body["training_file"],
            "validation_file": body.get("validation_file"),
            "result_files": [],
            "seed": body.get("seed") or 0,
            "trained_tokens": 1234 if done else None,
            "hyperparameters": {"n_epochs": 3},
            "error": {"code": "failed", "message": self.fail_with, "param": None} if status == "failed" else None,
            "finished_at": 2000 if status in ("succeeded", "failed", "cancelled") else None,
        }
