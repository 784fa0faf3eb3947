"""``askdocs serve``: the service's composition root. The HTTP app, and beside it the ingest worker thread (an
embedded index allows one process, so the service runs the jobs it queues). Tests build the service with
:func:`service_container`, the same parts the command serves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import settings_or_exit
from cli.sources_cmd import load_configured_sources

if TYPE_CHECKING:
    from app.container import Background, BackgroundFactory, Container
    from askdocs.embedding import Embedder
    from askdocs.settings import Settings
    from ingest.sourcefile import SourcesFile


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default ASKDOCS_SERVICE__HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default ASKDOCS_SERVICE__PORT).")] = None,
) -> None:
    """Serve the HTTP API (POST /ask, /docs for the OpenAPI page)."""
    import uvicorn

    from app.main import create_app

    settings = settings_or_exit()
    sources = load_configured_sources(settings, None)  # a bad sources file fails now, not in the thread
    application = create_app(settings=settings, background=worker_thread(settings, sources))
    uvicorn.run(application, host=host or settings.service.host, port=port or settings.service.port, log_level="info")


def worker_thread(settings: Settings, sources: SourcesFile | None) -> BackgroundFactory:
    """Starts the ingest worker beside the service on its model, index and store (ASKDOCS_WORKER__IN_SERVICE)."""
    from app.metrics import record_job
    from ingest.worker import start_background_worker

    def start(container: Container) -> Background | None:
        if not settings.worker.in_service or container.store is None:
            return None
        store = container.store
        return start_background_worker(
            settings, container.embedder, container.index, store.queue, sources, on_job=record_job
        )

    return start


def service_container(
    settings: Settings, *, embedder: Embedder | None = None, sources: SourcesFile | None = None
) -> Container:
    """What ``askdocs serve`` builds in its lifespan; ``embedder``: a model already loaded (tests share one)."""
    from app.container import build_container

    return build_container(settings, worker_thread(settings, sources), embedder=embedder)
