"""What the service needs, built once in the lifespan (or handed in by tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from askdocs.embedding import Embedder
from askdocs.index.protocol import VectorIndex
from askdocs.models import IngestResult
from askdocs.qa.pipeline import Asker
from askdocs.settings import Settings


class DocumentSink(Protocol):
    """Accepts documents sent to the service. Provided by the process that composes the app (the CLI)."""

    def ingest_bytes(self, name: str, data: bytes, content_type: str | None) -> IngestResult: ...

    def ingest_url(self, url: str) -> IngestResult: ...


@dataclass(slots=True)
class Container:
    settings: Settings
    embedder: Embedder
    index: VectorIndex
    asker: Asker
    sink: DocumentSink | None = None

    def close(self) -> None:
        self.index.close()


SinkFactory = Callable[[Settings, Embedder, VectorIndex], DocumentSink]


def build_container(settings: Settings, sink_factory: SinkFactory | None = None) -> Container:
    """The service's parts. The sink shares the service's index: an embedded index allows one process."""
    from askdocs.components import make_asker, make_embedder, open_checked_index

    embedder = make_embedder(settings)
    index = open_checked_index(settings, embedder)
    sink = sink_factory(settings, embedder, index) if sink_factory else None
    return Container(settings, embedder, index, make_asker(settings, embedder, index), sink)
