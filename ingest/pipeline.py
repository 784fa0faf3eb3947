"""The ingest pipeline: load -> chunk -> embed -> store, idempotent, documents stored in the order they came.

A document's points carry a version hash (its content under this chunker, and its provenance). Re-ingesting
writes the new version's points first and only then drops the old version's, so a crash at any point leaves
either the old version, or both (removed by the next run), never a half-replaced document.

Streams (``run``, ``ingest_stream``) embed chunks of consecutive documents together, ``window`` texts per call,
so small documents do not make small batches; a document is stored once all its chunks are embedded. While the
model embeds, one background thread reads, parses, chunks and BM25-encodes the next ``prefetch`` documents.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial

import numpy as np

from askdocs.embedding import Embedder
from askdocs.errors import InputError, LoadError
from askdocs.index.protocol import StoredVersion, VectorIndex, point_id_for
from askdocs.models import Chunk, Document, Provenance
from askdocs.settings import ChunkingSettings
from askdocs.sparse import Bm25Encoder, SparseEncoder, SparseVec
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


@dataclass(slots=True)
class _Pending:
    """A loaded document and what the index holds of it; unless that is this version whole, its chunks and
    sparse vectors, waiting for their dense vectors (filled window by window)."""

    document: Document
    provenance: Provenance
    version: str
    stored: StoredVersion
    chunks: list[Chunk] = field(default_factory=list)
    sparse: list[SparseVec] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)

    @property
    def embedded(self) -> int:
        return sum(len(v) for v in self.vectors)

    @property
    def complete(self) -> bool:
        return self.embedded == len(self.chunks)


# An item to ingest: the source's name (for a failure), how to read and load it, and its provenance.
_Item = tuple[str, Callable[[], Document], Provenance]


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
    (the embedder may still be unloaded then: chunkers count tokens only when they split).

    ``window``: chunk texts per embedding call in a stream; ``prefetch``: documents prepared ahead in a
    background thread (0: none, all work in the caller's thread)."""

    def __init__(
        self,
        embedder: Embedder,
        index: VectorIndex,
        chunking: ChunkingSettings,
        *,
        sparse: SparseEncoder | None = None,
        window: int = 256,
        prefetch: int = 8,
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1 chunk, got {window}")
        if prefetch < 0:
            raise ValueError(f"prefetch must be >= 0 documents, got {prefetch}")
        self._embedder = embedder
        self._index = index
        self._chunker = build_chunker(chunking.chunker, embedder, chunking.chunk_size, chunking.chunk_overlap)
        self._sparse = sparse or Bm25Encoder()  # lexical vectors too, so any retrieval mode works later
        # The chunker's name and parameters are part of every document's version: a change re-chunks them all.
        self._signature = f"{chunking.chunker}:{chunking.chunk_size}:{chunking.chunk_overlap}"
        self._window = window
        self._prefetch = prefetch
        self._index_lock = threading.Lock()  # the background thread reads the index while this one writes

    # -- one document -------------------------------------------------------------------------------
    def ingest_document(self, document: Document, provenance: Provenance = Provenance()) -> Outcome:
        planned = self._plan(document, provenance)
        if planned.stored.complete:
            return _outcome(document, Status.UNCHANGED, planned.stored.expected)
        planned.vectors.append(self._embedder.embed_documents([c.embed_text for c in planned.chunks]))
        return self._store([planned])[0]

    def ingest_raw(self, raw: RawSource, provenance: Provenance = Provenance()) -> Outcome:
        try:
            return self.ingest_document(load(raw), provenance)
        except LoadError as exc:
            return Outcome(raw.source, Status.FAILED, error=exc.reason)

    # -- streams ------------------------------------------------------------------------------------
    def ingest_stream(self, items: Iterable[tuple[RawSource, Provenance]]) -> Iterator[Outcome]:
        """Outcomes in the order of ``items``, each yielded once its document is stored (or has failed: one
        document's failure does not stop the others). Items are drawn lazily, in the caller's thread."""
        return self._stream((raw.source, partial(load, raw), provenance) for raw, provenance in items)

    def run(
        self,
        refs: Iterable[SourceRef],
        reader: Reader,
        on_done: Callable[[Outcome], None] = lambda _: None,
    ) -> IngestReport:
        report = IngestReport()
        started = time.perf_counter()
        for outcome in self._stream((ref.location, partial(_read, reader, ref), Provenance()) for ref in refs):
            report.outcomes.append(outcome)
            on_done(outcome)
        report.seconds = time.perf_counter() - started
        return report

    def _stream(self, items: Iterable[_Item]) -> Iterator[Outcome]:
        queue: deque[Outcome | _Pending] = deque()  # arrival order; leaves from the head once stored
        seen: set[str] = set()  # doc_ids met in this stream
        waiting = 0  # chunks not yet embedded
        for prepared in self._prepared(items):
            if isinstance(prepared, _Pending) and prepared.document.doc_id in seen:
                # Met before in this stream: its check ran before that version was stored. Store everything
                # before it, then decide again, as one-by-one ingestion would.
                yield from self._drain(queue, waiting)
                document = prepared.document
                waiting, prepared = 0, self._prepare((document.source, partial(_given, document), prepared.provenance))
            if isinstance(prepared, _Pending):
                seen.add(prepared.document.doc_id)
            item = _settled(prepared)
            queue.append(item)
            waiting += len(item.chunks) if isinstance(item, _Pending) else 0
            while waiting >= self._window:
                waiting -= self._embed_window(queue)
            yield from self._finished(queue)
        yield from self._drain(queue, waiting)

    def _drain(self, queue: deque[Outcome | _Pending], waiting: int) -> Iterator[Outcome]:
        while waiting > 0:
            waiting -= self._embed_window(queue)
        yield from self._finished(queue)

    def _prepared(self, items: Iterable[_Item]) -> Iterator[Outcome | _Pending]:
        """Each item loaded, chunked and encoded, in order; up to ``prefetch`` of them ahead, in the background."""
        if self._prefetch == 0:
            yield from map(self._prepare, items)
            return
        pool = ThreadPoolExecutor(1, thread_name_prefix="askdocs-ingest")
        ahead: deque[Future[Outcome | _Pending]] = deque()
        try:
            for item in items:
                ahead.append(pool.submit(self._prepare, item))
                if len(ahead) > self._prefetch:
                    yield ahead.popleft().result()
            while ahead:
                yield ahead.popleft().result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _prepare(self, item: _Item) -> Outcome | _Pending:
        source, document, provenance = item
        try:
            return self._plan(document(), provenance)
        except LoadError as exc:
            return Outcome(source, Status.FAILED, error=exc.reason)

    def _embed_window(self, queue: deque[Outcome | _Pending]) -> int:
        """Embed up to ``window`` waiting chunks, the oldest first, in one call. Returns how many."""
        spans: list[tuple[_Pending, int, int]] = []
        taken = 0
        for item in queue:
            if isinstance(item, _Pending) and not item.complete:
                start = item.embedded
                end = min(len(item.chunks), start + self._window - taken)
                spans.append((item, start, end))
                taken += end - start
                if taken == self._window:
                    break
        vectors = self._embedder.embed_documents([c.embed_text for p, s, e in spans for c in p.chunks[s:e]])
        offset = 0
        for pending, start, end in spans:
            pending.vectors.append(vectors[offset : offset + end - start])
            offset += end - start
        return taken

    def _finished(self, queue: deque[Outcome | _Pending]) -> Iterator[Outcome]:
        """Store the complete documents at the head of the queue, then hand out their outcomes in order."""
        done: list[Outcome | _Pending] = []
        while queue and (isinstance(queue[0], Outcome) or queue[0].complete):
            done.append(queue.popleft())
        stored = iter(self._store([d for d in done if isinstance(d, _Pending)]))
        for item in done:
            yield item if isinstance(item, Outcome) else next(stored)

    # -- the steps ----------------------------------------------------------------------------------
    def _plan(self, document: Document, provenance: Provenance) -> _Pending:
        """The document's version and what the index holds of it; chunks and sparse vectors unless it is whole."""
        tags = f"{provenance.origin}|{','.join(sorted(provenance.acl))}"
        version = hashlib.sha256(f"{document.content_hash}|{self._signature}|{tags}".encode()).hexdigest()
        with self._index_lock:
            stored = self._index.stored_version(document.doc_id, version)
        pending = _Pending(document, provenance, version, stored)
        if stored.complete:
            return pending
        pending.chunks = self._chunks(document, version, provenance)
        if not pending.chunks:
            raise LoadError(document.source, "no text to index after chunking")
        pending.sparse = self._sparse.encode_documents([c.embed_text for c in pending.chunks])
        return pending

    def _store(self, pending: list[_Pending]) -> list[Outcome]:
        """All new points first, then each document's older versions dropped (crash safety, see the top)."""
        if not pending:
            return []
        with self._index_lock:
            self._index.ensure_collection(self._embedder.dimension)
            chunks = [c for p in pending for c in p.chunks]
            vectors = np.concatenate([v for p in pending for v in p.vectors])
            self._index.upsert(chunks, vectors, [s for p in pending for s in p.sparse])
            for p in pending:
                if p.stored.points:  # a document new to the index has no older version to drop
                    self._index.delete_document(p.document.doc_id, except_hash=p.version)
        return [_outcome(p.document, Status.UPDATED if p.stored.points else Status.NEW, len(p.chunks)) for p in pending]

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


def _settled(item: Outcome | _Pending) -> Outcome | _Pending:
    """A document the index holds whole is UNCHANGED: it has nothing to embed."""
    if isinstance(item, _Pending) and item.stored.complete:
        return _outcome(item.document, Status.UNCHANGED, item.stored.expected)
    return item


def _read(reader: Reader, ref: SourceRef) -> Document:
    return load(reader.read(ref))


def _given(document: Document) -> Document:
    return document


def _outcome(document: Document, status: Status, chunks: int) -> Outcome:
    return Outcome(document.source, status, chunks, document.doc_id, document.title)
