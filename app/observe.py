"""Every response: a request id (``X-Request-ID``, also stored with the interaction), security headers, a JSON
log line, and its latency in the metrics. Oversized JSON bodies are refused before they are read."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import JSONResponse

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


async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    given = request.headers.get("x-request-id", "")
    request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
    request.state.request_id = request_id
    started = time.perf_counter()
    response = _too_large(request) or await call_next(request)
    seconds = time.perf_counter() - started
    response.headers["X-Request-ID"] = request_id
    for name, value in SECURITY_HEADERS.items():
        if name != "Content-Security-Policy" or not request.url.path.startswith(_DOCS):
            response.headers.setdefault(name, value)
    route = getattr(request.scope.get("route"), "path", "unmatched")
    REQUESTS.labels(route, request.method, str(response.status_code)).observe(seconds)
    caller = getattr(request.state, "caller", None)
    access.info(
        json.dumps(
            {
                "request_id": request_id,
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "ms": round(seconds * 1000, 1),
                "caller": getattr(caller, "name", None),
                "client": request.client.host if request.client else None,
            }
        )
    )
    return response


def _too_large(request: Request) -> Response | None:
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
