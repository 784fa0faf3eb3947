"""The FastAPI application factory. ``create_app(container)`` for tests, ``create_app(settings=...)`` to serve."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from app import hardening
from app.container import BackgroundFactory, Container, build_container
from app.errors import error_status
from app.routes import ask, documents, health, ingest
from app.security import authenticate
from askdocs.errors import AskdocsError
from askdocs.settings import Settings, load_settings


def create_app(
    container: Container | None = None,
    *,
    settings: Settings | None = None,
    background: BackgroundFactory | None = None,
) -> FastAPI:
    resolved = container.settings if container is not None else settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        app.state.container = container or build_container(resolved, background)
        try:
            yield
        finally:
            hardening.close(app)
            if owned:
                app.state.container.close()

    app = FastAPI(
        title="askdocs",
        summary="Answers questions from your company's documents, citing its sources.",
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(authenticate)],  # every route but /health and /metrics: see app.security
    )
    hardening.harden(app, resolved)
    app.include_router(ask.router)
    app.include_router(documents.router)
    app.include_router(ingest.router)
    app.include_router(health.router)
    _error_handlers(app)
    return app


def _error_handlers(app: FastAPI) -> None:
    """The only place errors become HTTP responses (through ``app.errors``); never a stack trace to the caller."""

    async def _respond(_: Request, exc: Exception) -> JSONResponse:
        status, detail = error_status(exc)
        return JSONResponse({"detail": detail}, status_code=status)

    # Registered twice on purpose: AskdocsError is answered by the exception middleware; the catch-all only by
    # the outermost server-error middleware, which also re-raises (so test clients see the bug).
    app.add_exception_handler(AskdocsError, _respond)
    app.add_exception_handler(Exception, _respond)
