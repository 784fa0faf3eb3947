"""What the service needs, built once in the lifespan by :func:`build_container` (tests call it too)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from app.limits import RateLimits
from askdocs.embedding import Embedder
from askdocs.index.protocol import VectorIndex
from askdocs.jobs import JobQueue
from askdocs.qa.pipeline import AnswerPipeline
from askdocs.settings import Settings
from askdocs.store.keys import KeyStore
from askdocs.store.ratelimits import SqlRateCounts
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
    pipeline: AnswerPipeline
    jobs: JobQueue | None = None  # POST /ingest queues jobs here; a worker runs them
    interactions: BackgroundLog | None = None  # the interaction log: every answer, unless ASKDOCS_LOG__ENABLED=false
    store: Store | None = None
    background: Background | None = None
    keys: KeyStore | None = None  # API keys; none stored (and auth not required): callers are anonymous
    rate_limit: RateLimits | None = None  # counted in the store: every replica on it enforces the same limits

    def close(self) -> None:
        if self.background is not None:
            self.background.close()
        if self.interactions is not None:
            self.interactions.close()
        if self.store is not None:
            self.store.close()
        self.index.close()


# Given the built container, starts what runs beside the service. Provided by the process that composes the
# app (the CLI starts an ingest worker thread: an embedded index allows one process, so the service runs it).
BackgroundFactory = Callable[[Container], Background | None]


def build_container(
    settings: Settings, background: BackgroundFactory | None = None, *, embedder: Embedder | None = None
) -> Container:
    """The service's parts from its settings. ``embedder``: a model already loaded (tests share one)."""
    from askdocs.components import make_embedder, make_pipeline, open_checked_index
    from askdocs.store.store import open_store

    store = open_store(settings)  # first: a store that cannot be reached or migrated stops the start
    try:
        embedder = embedder or make_embedder(settings)
        embedder.embed_query("warm-up")  # the question path ready before the first request (its ONNX export, once)
        index = open_checked_index(settings, embedder, tolerate_unreachable=True)
    except BaseException:
        store.close()
        raise
    container = Container(settings, embedder, index, make_pipeline(settings, embedder, index), store.queue)
    container.store = store
    container.interactions = BackgroundLog(store.interactions) if settings.log.enabled else None
    container.keys = KeyStore(store.engine)
    container.rate_limit = RateLimits(settings.auth, SqlRateCounts(store.engine))
    if background is not None:
        container.background = background(container)
    return container
