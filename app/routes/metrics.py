"""``GET /metrics`` for Prometheus: with ASKDOCS_AUTH__METRICS_TOKEN as a bearer token, or an admin key."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from app.deps import ContainerDep
from app.metrics import exposition
from app.security import require_admin

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
async def metrics(request: Request, container: ContainerDep) -> Response:
    """Request and stage latency, answers by mode, "I do not know", degraded, rate-limited, ingestion, queue."""
    token = container.settings.auth.metrics_token
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if token is None or not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        from app.security import get_caller

        require_admin(get_caller(request, container), container)
    depth = await run_in_threadpool(container.jobs.active) if container.jobs is not None else None
    failures = container.interactions.failures if container.interactions is not None else None
    body = exposition(depth, failures)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
