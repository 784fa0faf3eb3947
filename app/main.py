"""The FastAPI application factory. ``create_app(container)`` for tests, ``create_app(settings=...)`` to serve."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.container import BackgroundFactory, Container, build_container
from app.routes import ask, documents, health, ingest
from askdocs.errors import AskdocsError, GenerationError, IndexError_, InputError
from askdocs.settings import Settings

log = logging.getLogger("askdocs.app")


def create_app(
    container: Container | None = None,
    *,
    settings: Settings | None = None,
    background: BackgroundFactory | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        app.state.container = container or build_container(settings or Settings(), background)
        try:
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
    app.include_router(health.router)
    _error_handlers(app)
    return app


def _error_handlers(app: FastAPI) -> None:
    """The only place errors become HTTP responses; never a stack trace to the caller."""

    @app.exception_handler(InputError)
    async def _input(_: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(IndexError_)
    async def _index(_: Request, exc: IndexError_) -> JSONResponse:
        log.error("index error: %s", exc)
        return JSONResponse({"detail": f"the index is unavailable: {exc}"}, status_code=503)

    @app.exception_handler(GenerationError)
    async def _generation(_: Request, exc: GenerationError) -> JSONResponse:
        return JSONResponse({"detail": f"the language model failed: {exc}"}, status_code=502)

    @app.exception_handler(AskdocsError)
    async def _askdocs(_: Request, exc: AskdocsError) -> JSONResponse:
        log.error("error: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=500)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"detail": "internal error; see the service log"}, status_code=500)
