"""What the service needs, built once in the lifespan (or handed in by tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from app.limits import RateLimit
from askdocs.embedding import Embedder
from askdocs.index.protocol import VectorIndex
from askdocs.jobs import JobQueue
from askdocs.qa.pipeline import Asker
from askdocs.settings import Settings
from askdocs.store.keys import KeyStore
from askdocs.store.sqllog import BackgroundLog
from askdocs.store.store import Store


class Background(Protocol):
    """Something running beside the service (the in-service ingest worker); stopped at shutdown."""

    def close(self) -> None: ...


@dataclass(slots=True)
class Container:
    settings: Settings
    embedder: Embedder
    index: VectorIndex
    asker: Asker
    jobs: JobQueue | None = None  # POST /ingest queues jobs here; a worker runs them
    log: BackgroundLog | None = None  # every answer, unless ASKDOCS_LOG__ENABLED=false
    store: Store | None = None
    background: Background | None = None
    keys: KeyStore | None = None  # API keys; none stored (and auth not required): callers are anonymous
    rate_limit: RateLimit | None = None

    def close(self) -> None:
        if self.background is not None:
            self.background.close()
        if self.log is not None:
            self.log.close()
        if self.store is not None:
            self.store.close()
        self.index.close()


# Given the built container, starts what runs beside the service. Provided by the process that composes the
# app (the CLI starts an ingest worker thread: an embedded index allows one process, so the service runs it).
BackgroundFactory = Callable[[Container], Background | None]


def build_container(settings: Settings, background: BackgroundFactory | None = None) -> Container:
    from askdocs.components import make_asker, make_embedder, open_checked_index
    from askdocs.store.store import open_store

    store = open_store(settings)  # first: a store that cannot be reached or migrated stops the start
    embedder = make_embedder(settings)
    index = open_checked_index(settings, embedder, tolerate_unreachable=True)
    log = BackgroundLog(store.log) if settings.log.enabled else None
    container = Container(settings, embedder, index, make_asker(settings, embedder, index), store.queue, log, store)
    container.keys = KeyStore(store.engine)
    container.rate_limit = RateLimit(settings.auth.rate_limit)
    if background is not None:
        container.background = background(container)
    return container
