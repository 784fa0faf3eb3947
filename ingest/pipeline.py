"""The ingest pipeline: load -> chunk -> embed -> store, one document at a time, idempotent.

A document's points carry a version hash (its content under this chunker). Re-ingesting writes the new
version's points first and only then drops the old version's, so a crash at any point leaves either the
old version, or both (removed by the next run), never a half-replaced document.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from askdocs.embedding import Embedder
from askdocs.errors import InputError, LoadError
from askdocs.index.protocol import VectorIndex, point_id_for
from askdocs.models import Chunk, Document, Provenance
from askdocs.settings import ChunkingSettings
from askdocs.sparse import Bm25Encoder, SparseEncoder
from chunkers import Chunker, UnknownChunkerError, make_chunker
from ingest.loaders import RawSource, load
from ingest.sources import Reader, SourceRef


class Status(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Outcome:
    source: str
    status: Status
    chunks: int = 0
    doc_id: str = ""
    title: str = ""
    error: str = ""


@dataclass(slots=True)
class IngestReport:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, *statuses: Status) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    @property
    def documents(self) -> int:
        return self.count(Status.NEW, Status.UPDATED)

    @property
    def chunks(self) -> int:
        return sum(o.chunks for o in self.outcomes if o.status in (Status.NEW, Status.UPDATED))

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is Status.FAILED]


def build_chunker(name: str, embedder: Embedder, size: int, overlap: int) -> Chunker:
    """The named strategy, counting tokens with the embedding model's tokenizer."""
    try:
        return make_chunker(name, embedder.count_tokens, embed=embedder.embed_documents, size=size, overlap=overlap)
    except UnknownChunkerError as exc:
        raise InputError(str(exc)) from exc
    except ValueError as exc:
        raise InputError(f"chunker {name!r}: {exc}") from exc


class Ingestor:
    """Builds its chunker from ``chunking`` at construction, so a bad name or parameter fails before any work
    (the embedder may still be unloaded then: chunkers count tokens only when they split)."""

    def __init__(
        self, embedder: Embedder, index: VectorIndex, chunking: ChunkingSettings, *, sparse: SparseEncoder | None = None
    ) -> None:
        self._embedder = embedder
        self._index = index
        self._chunker = build_chunker(chunking.chunker, embedder, chunking.chunk_size, chunking.chunk_overlap)
        self._sparse = sparse or Bm25Encoder()  # lexical vectors too, so any retrieval mode works later
        # The chunker's name and parameters are part of every document's version: a change re-chunks them all.
        self._signature = f"{chunking.chunker}:{chunking.chunk_size}:{chunking.chunk_overlap}"

    def ingest_document(self, document: Document, provenance: Provenance = Provenance()) -> Outcome:
        tags = f"{provenance.origin}|{','.join(sorted(provenance.acl))}"
        version = hashlib.sha256(f"{document.content_hash}|{self._signature}|{tags}".encode()).hexdigest()
        stored = self._index.stored_version(document.doc_id, version)
        if stored.complete:
            return self._outcome(document, Status.UNCHANGED, stored.expected)
        chunks = self._chunks(document, version, provenance)
        if not chunks:
            raise LoadError(document.source, "no text to index after chunking")
        self._index.ensure_collection(self._embedder.dimension)
        texts = [c.embed_text for c in chunks]
        self._index.upsert(chunks, self._embedder.embed_documents(texts), self._sparse.encode_documents(texts))
        self._index.delete_document(document.doc_id, except_hash=version)
        status = Status.NEW if stored.points == 0 else Status.UPDATED
        return self._outcome(document, status, len(chunks))

    def ingest_raw(self, raw: RawSource, provenance: Provenance = Provenance()) -> Outcome:
        try:
            return self.ingest_document(load(raw), provenance)
        except LoadError as exc:
            return Outcome(raw.source, Status.FAILED, error=exc.reason)

    def run(
        self,
        refs: Iterable[SourceRef],
        reader: Reader,
        on_done: Callable[[Outcome], None] = lambda _: None,
    ) -> IngestReport:
        report = IngestReport()
        started = time.perf_counter()
        for ref in refs:
            try:
                outcome = self.ingest_raw(reader.read(ref))
            except LoadError as exc:
                outcome = Outcome(ref.location, Status.FAILED, error=exc.reason)
            report.outcomes.append(outcome)
            on_done(outcome)
        report.seconds = time.perf_counter() - started
        return report

    def _chunks(self, document: Document, version: str, provenance: Provenance) -> list[Chunk]:
        pieces = self._chunker.split(document.sections, document.title)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        chunks = []
        for i, piece in enumerate(pieces):
            section = document.sections[piece.section]
            chunks.append(
                Chunk(
                    point_id=point_id_for(document.doc_id, f"{version[:16]}:{i}"),
                    doc_id=document.doc_id,
                    source=document.source,
                    title=document.title,
                    text=piece.text,
                    embed_text=piece.embed_text or piece.text,
                    chunk_index=i,
                    chunk_count=len(pieces),
                    chunker=self._chunker.name,
                    content_hash=version,
                    ingested_at=now,
                    heading_path=section.heading_path,
                    page=section.page,
                    start=piece.start,
                    end=piece.end,
                    context=piece.context,
                    context_start=piece.context_start,
                    context_end=piece.context_end,
                    origin=provenance.origin,
                    acl=provenance.acl,
                )
            )
        return chunks

    @staticmethod
    def _outcome(document: Document, status: Status, chunks: int) -> Outcome:
        return Outcome(document.source, status, chunks, document.doc_id, document.title)
