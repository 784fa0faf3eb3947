"""Puts the guard (keys, groups, rate limits), the metrics and the request middleware on an app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import metrics as metrics_route
from app.metrics import Metrics
from app.observe import Observe, json_access_log
from app.security import Guard
from askdocs.keys import SqliteKeyStore
from askdocs.settings import Settings


def harden(app: FastAPI, settings: Settings) -> None:
    """Called by create_app before it starts: the middleware stack is fixed from then on."""
    app.state.metrics = Metrics(settings.queue_path)
    app.state.guard = Guard(settings, SqliteKeyStore(settings.keys_path))
    app.include_router(metrics_route.router)
    limits = settings.limits
    if limits.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=limits.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    if limits.json_logs:
        json_access_log()
    app.add_middleware(
        Observe,
        metrics=app.state.metrics,
        max_body=limits.max_body_kb * 1024,
        max_upload=settings.service.max_upload_mb * 2**20 * 4 + 2**20,  # several files per upload request
        log=limits.json_logs,
    )


def close(app: FastAPI) -> None:
    keys = app.state.guard.keys
    if keys is not None:
        keys.close()
