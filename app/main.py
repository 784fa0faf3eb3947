"""The FastAPI application factory. ``create_app(container)`` for tests, ``create_app(settings=...)`` to serve."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from app import slack
from app.container import BackgroundFactory, Container, build_container
from app.errors import error_status
from app.observe import Observe
from app.routes import ask, documents, health, ingest, interactions, keys, me, metrics
from app.slack import slack_app
from app.web import admin, admin_keys, pages
from askdocs.errors import AskdocsError
from askdocs.settings import Settings, load_settings


def create_app(
    container: Container | None = None,
    *,
    settings: Settings | None = None,
    background: BackgroundFactory | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        app.state.container = container or build_container(settings or load_settings(), background)
        try:
            if slack_on:  # a bad Slack settings file stops the start (and closes what was opened)
                app.state.slack = slack_app(app.state.container)
            yield
        finally:
            if owned:
                app.state.container.close()

    app = FastAPI(
        title="askdocs",
        summary="Answers questions from your company's documents, citing its sources.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.include_router(ask.router)
    app.include_router(documents.router)
    app.include_router(ingest.router)
    app.include_router(interactions.router)
    app.include_router(interactions.admin)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(me.router)
    app.include_router(keys.router)
    app.include_router(pages.router)  # the web pages: /, /admin/<page> and their fragments, /static
    app.include_router(admin.router)
    app.include_router(admin_keys.router)
    pages.mount_static(app)
    app.add_middleware(Observe)
    configured = settings or (container.settings if container else None) or load_settings()
    slack_on = configured.slack.http_enabled
    if slack_on:  # the route exists only when the bot's tokens are set
        app.include_router(slack.router)
    origins = configured.auth.cors_origins
    if origins:  # off unless origins are named: a browser page on another origin cannot call the API
        app.add_middleware(
            CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"], allow_headers=["Authorization"]
        )
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
