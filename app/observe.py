"""Every response: a request id (``X-Request-ID``, also stored with the interaction), security headers, a JSON
log line, and its latency in the metrics. Oversized JSON bodies are refused before they are read.

A plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware`` (``app.middleware("http")``), which runs
the rest of the app in a task of its own and passes the response through memory streams: under 16 clients its
machinery held the GIL the service's searches wait for (docs/PERFORMANCE.md "What holds /ask")."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics import REQUESTS

access = logging.getLogger("askdocs.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
_DOCS = ("/docs", "/redoc", "/openapi.json")  # the OpenAPI page loads its own scripts and styles


class Observe:
    """The request id, headers, log line and latency of every HTTP response, taken when its headers are sent
    (a stream's latency is its time to the first byte)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        given = request.headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        request.state.request_id = request_id
        started = time.perf_counter()
        docs = request.url.path.startswith(_DOCS)

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                for name, value in SECURITY_HEADERS.items():
                    if name != "Content-Security-Policy" or not docs:
                        headers.setdefault(name, value)
                _record(request, int(message["status"]), time.perf_counter() - started, request_id)
            await send(message)

        await (_too_large(request) or self.app)(scope, receive, send_observed)


def _record(request: Request, status: int, seconds: float, request_id: str) -> None:
    route = getattr(request.scope.get("route"), "path", "unmatched")
    REQUESTS.labels(route, request.method, str(status)).observe(seconds)
    caller = getattr(request.state, "caller", None)
    access.info(
        json.dumps(
            {
                "request_id": request_id,
                "method": request.method,
                "route": route,
                "status": status,
                "ms": round(seconds * 1000, 1),
                "caller": getattr(caller, "name", None),
                "client": request.client.host if request.client else None,
            }
        )
    )


def _too_large(request: Request) -> JSONResponse | None:
    if request.headers.get("content-type", "").startswith("multipart/"):
        return None  # uploads: POST /ingest checks each file against ASKDOCS_SERVICE__MAX_UPLOAD_MB
    limit = request.app.state.container.settings.auth.max_body_kb * 1024
    try:
        length = int(request.headers.get("content-length") or 0)
    except ValueError:
        return JSONResponse({"detail": "bad Content-Length"}, status_code=400)
    if length > limit:
        return JSONResponse(
            {"detail": f"request body of {length} bytes is over the {limit} byte limit (ASKDOCS_AUTH__MAX_BODY_KB)"},
            status_code=413,
        )
    return None
