"""The ingest pipeline: load -> chunk -> embed -> store, idempotent, documents stored in the order they came.

A document's points carry a version hash (its content under this chunker, and its provenance). Re-ingesting
writes the new version's points first and only then drops the old version's, so a crash at any point leaves
either the old version, or both (removed by the next run), never a half-replaced document.

Streams (``run``, ``ingest_stream``) embed chunks of consecutive documents together, ``window`` texts per call,
so small documents do not make small batches; a document is stored once all its chunks are embedded.

Whatever goes wrong with one document (any exception of a loader, the chunker or the embedder) is that document's
FAILED outcome, with the exception's type and message; the traceback goes to the debug log and the stream goes on.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from askdocs.embedding import Embedder
from askdocs.errors import LoadError
from askdocs.index.protocol import StoredVersion, VectorIndex
from askdocs.memory import release_free_memory
from askdocs.models import Chunk, Document, DocumentResult, DocumentStatus, Provenance, SentenceVectors
from askdocs.sentences import embed_chunks
from askdocs.settings import ChunkingSettings
from askdocs.sparse import Bm25Encoder, SparseEncoder, SparseVec
from ingest.chunking import build_chunker, make_chunks
from ingest.loaders import RawSource
from ingest.parsing import InlineParser, Parser
from ingest.sources import Reader, SourceRef

log = logging.getLogger(__name__)


@dataclass(slots=True)
class IngestReport:
    outcomes: list[DocumentResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, *statuses: DocumentStatus) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    @property
    def documents(self) -> int:
        return self.count(DocumentStatus.NEW, DocumentStatus.UPDATED)

    @property
    def chunks(self) -> int:
        return sum(o.chunks for o in self.outcomes if o.status in (DocumentStatus.NEW, DocumentStatus.UPDATED))

    @property
    def failed(self) -> list[DocumentResult]:
        return [o for o in self.outcomes if o.status is DocumentStatus.FAILED]


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
    sentences: list[SentenceVectors | None] = field(default_factory=list)  # each chunk's candidates' vectors

    @property
    def embedded(self) -> int:
        return sum(len(v) for v in self.vectors)

    @property
    def complete(self) -> bool:
        return self.embedded == len(self.chunks)


# An item to ingest: the source's name (for a failure), how to read it (bytes to parse, or a Document already
# loaded), and its provenance.
_Item = tuple[str, Callable[[], RawSource | Document], Provenance]
# What the parser carries along for each item: its source, provenance, and what is known before parsing.
_Key = tuple[str, Provenance, Document | DocumentResult | None]


class Ingestor:
    """Builds its chunker from ``chunking`` at construction, so a bad name or parameter fails before any work
    (the embedder may still be unloaded then: chunkers count tokens only when they split).

    ``parser``: where bytes become Documents (default: in this process; ``ChildParser`` for limits on time and
    memory); ``window``: chunk texts per embedding call in a stream."""

    def __init__(
        self,
        embedder: Embedder,
        index: VectorIndex,
        chunking: ChunkingSettings,
        *,
        sparse: SparseEncoder | None = None,
        parser: Parser | None = None,
        window: int = 256,
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1 chunk, got {window}")
        self._embedder = embedder
        self._index = index
        self._chunker = build_chunker(chunking.chunker, embedder, chunking.chunk_size, chunking.chunk_overlap)
        self._sparse = sparse or Bm25Encoder()  # lexical vectors too, so any retrieval mode works later
        # The chunker's name and parameters are part of every document's version: a change re-chunks them all.
        self._signature = f"{chunking.chunker}:{chunking.chunk_size}:{chunking.chunk_overlap}"
        self._window = window
        self._parser = parser or InlineParser()
        self._recorded = False  # the model and precision noted beside the vectors (``record_embedding``)

    # -- one document -------------------------------------------------------------------------------
    def ingest_document(self, document: Document, provenance: Provenance = Provenance()) -> DocumentResult:
        return next(self._stream([(document.source, partial(_given, document), provenance)]))

    def ingest_raw(self, raw: RawSource, provenance: Provenance = Provenance()) -> DocumentResult:
        return next(self.ingest_stream([(raw, provenance)]))

    # -- streams ------------------------------------------------------------------------------------
    def ingest_stream(self, items: Iterable[tuple[RawSource, Provenance]]) -> Iterator[DocumentResult]:
        """Outcomes in the order of ``items``, each yielded once its document is stored (or has failed: one
        document's failure does not stop the others). Items are drawn lazily, in the caller's thread."""
        return self._stream((raw.source, partial(_given, raw), provenance) for raw, provenance in items)

    def run(
        self,
        refs: Iterable[SourceRef],
        reader: Reader,
        on_done: Callable[[DocumentResult], None] = lambda _: None,
    ) -> IngestReport:
        report = IngestReport()
        started = time.perf_counter()
        for outcome in self._stream((ref.location, partial(reader.read, ref), Provenance()) for ref in refs):
            report.outcomes.append(outcome)
            on_done(outcome)
        report.seconds = time.perf_counter() - started
        return report

    def _stream(self, items: Iterable[_Item]) -> Iterator[DocumentResult]:
        queue: deque[DocumentResult | _Pending] = deque()  # arrival order; leaves from the head once stored
        seen: set[str] = set()  # doc_ids met in this stream
        waiting = 0  # chunks not yet embedded
        for prepared in self._prepared(items):
            if isinstance(prepared, _Pending) and prepared.document.doc_id in seen:
                # Met before in this stream: its check ran before that version was stored. Store everything
                # before it, then decide again, as one-by-one ingestion would.
                yield from self._drain(queue, waiting)
                document = prepared.document
                waiting, prepared = 0, self._planned(document.source, document, prepared.provenance)
            if isinstance(prepared, _Pending):
                seen.add(prepared.document.doc_id)
            item = _settled(prepared)
            queue.append(item)
            waiting += len(item.chunks) if isinstance(item, _Pending) else 0
            waiting = self._embed_while(queue, waiting, lambda left: left >= self._window)
            yield from self._finished(queue)
        yield from self._drain(queue, waiting)

    def _drain(self, queue: deque[DocumentResult | _Pending], waiting: int) -> Iterator[DocumentResult]:
        self._embed_while(queue, waiting, lambda left: left > 0)
        yield from self._finished(queue)

    def _embed_while(self, queue: deque[DocumentResult | _Pending], waiting: int, more: Callable[[int], bool]) -> int:
        """Embed windows while ``more(waiting)``; returns the chunks still waiting."""
        while more(waiting):
            taken = self._embed_window(queue)
            if not taken:  # nothing left to embed (cannot happen while the count is right; never spin)
                break
            waiting -= taken
        return waiting

    def _prepared(self, items: Iterable[_Item]) -> Iterator[DocumentResult | _Pending]:
        """Each item read here, parsed by the parser (maybe ahead, in a child process), then chunked and encoded;
        in order, each a _Pending or its failure."""
        for (source, provenance, ready), parsed in self._parser.map(_fetched(items)):
            found = ready if ready is not None else parsed
            if isinstance(found, Document):
                yield self._planned(source, found, provenance)
            elif isinstance(found, LoadError):
                yield DocumentResult(source, DocumentStatus.FAILED, error=found.reason)
            else:
                yield found or DocumentResult(source, DocumentStatus.FAILED, error="the parser returned nothing")

    def _planned(self, source: str, document: Document, provenance: Provenance) -> DocumentResult | _Pending:
        try:
            return self._plan(document, provenance)
        except LoadError as exc:
            return DocumentResult(source, DocumentStatus.FAILED, error=exc.reason)
        except Exception as exc:  # the per-document boundary: nothing one document raises stops the others
            return _failed(source, exc)

    def _embed_window(self, queue: deque[DocumentResult | _Pending]) -> int:
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
        try:
            vectors, sentences = embed_chunks(self._embedder, [c for p, s, e in spans for c in p.chunks[s:e]])
        except Exception:  # one bad text must not sink its window's neighbours: each document alone
            return self._embed_one_by_one(queue, spans)
        finally:
            release_free_memory()  # the forward passes' freed activations, or the heaps grow batch by batch
        offset = 0
        for pending, start, end in spans:
            pending.vectors.append(vectors[offset : offset + end - start])
            pending.sentences.extend(sentences[offset : offset + end - start])
            offset += end - start
        return taken

    def _embed_one_by_one(self, queue: deque[DocumentResult | _Pending], spans: list[tuple[_Pending, int, int]]) -> int:
        """The window's documents embedded one at a time; one that fails leaves the queue as FAILED, and all its
        chunks not embedded yet leave the count of waiting chunks with it."""
        left = 0
        for pending, start, end in spans:
            try:
                vectors, sentences = embed_chunks(self._embedder, pending.chunks[start:end])
                pending.vectors.append(vectors)
                pending.sentences.extend(sentences)
                left += end - start
            except Exception as exc:
                queue[queue.index(pending)] = _failed(pending.document.source, exc)
                left += len(pending.chunks) - start
        return left

    def _finished(self, queue: deque[DocumentResult | _Pending]) -> Iterator[DocumentResult]:
        """Store the complete documents at the head of the queue, then hand out their outcomes in order."""
        done: list[DocumentResult | _Pending] = []
        while queue and (isinstance(queue[0], DocumentResult) or queue[0].complete):
            done.append(queue.popleft())
        stored = iter(self._store([d for d in done if isinstance(d, _Pending)]))
        for item in done:
            yield item if isinstance(item, DocumentResult) else next(stored)

    # -- the steps ----------------------------------------------------------------------------------
    def _plan(self, document: Document, provenance: Provenance) -> _Pending:
        """The document's version and what the index holds of it; chunks and sparse vectors unless it is whole."""
        tags = f"{provenance.origin}|{','.join(sorted(provenance.acl))}"
        version = hashlib.sha256(f"{document.content_hash}|{self._signature}|{tags}".encode()).hexdigest()
        stored = self._index.stored_version(document.doc_id, version)
        pending = _Pending(document, provenance, version, stored)
        if stored.complete:
            return pending
        pending.chunks = make_chunks(self._chunker, document, version, provenance)
        if not pending.chunks:
            raise LoadError(document.source, "no text to index after chunking")
        pending.sparse = self._sparse.encode_documents([c.embed_text for c in pending.chunks])
        return pending

    def _store(self, pending: list[_Pending]) -> list[DocumentResult]:
        """All new points first, then each document's older versions dropped (crash safety, see the top)."""
        if not pending:
            return []
        self._index.ensure_collection(self._embedder.dimension)
        if not self._recorded:  # once per ingestor: the model and precision do not change under it
            self._index.record_embedding(self._embedder.model_id, self._embedder.precision.precision)
            self._recorded = True
        chunks = [c for p in pending for c in p.chunks]
        vectors = np.concatenate([v for p in pending for v in p.vectors])
        sentences = [s for p in pending for s in p.sentences]
        self._index.upsert(chunks, vectors, [s for p in pending for s in p.sparse], sentences)
        for p in pending:
            if p.stored.points:  # a document new to the index has no older version to drop
                self._index.delete_document(p.document.doc_id, except_version=p.version)
        return [
            _outcome(p.document, DocumentStatus.UPDATED if p.stored.points else DocumentStatus.NEW, len(p.chunks))
            for p in pending
        ]


def _settled(item: DocumentResult | _Pending) -> DocumentResult | _Pending:
    """A document the index holds whole is UNCHANGED: it has nothing to embed."""
    if isinstance(item, _Pending) and item.stored.complete:
        return _outcome(item.document, DocumentStatus.UNCHANGED, item.stored.expected)
    return item


def _fetched(items: Iterable[_Item]) -> Iterator[tuple[_Key, RawSource | None]]:
    """Each item read (in this process: files, HTTP); bytes go on to the parser, the rest is already settled."""
    for source, read, provenance in items:
        try:
            got = read()
        except LoadError as exc:
            yield (source, provenance, DocumentResult(source, DocumentStatus.FAILED, error=exc.reason)), None
            continue
        except Exception as exc:
            yield (source, provenance, _failed(source, exc)), None
            continue
        if isinstance(got, Document):
            yield (source, provenance, got), None
        else:
            yield (source, provenance, None), got


def _given(item: RawSource | Document) -> RawSource | Document:
    return item


def _failed(source: str, exc: BaseException) -> DocumentResult:
    log.debug("%s failed", source, exc_info=exc)
    return DocumentResult(source, DocumentStatus.FAILED, error=f"{type(exc).__name__}: {exc}")


def _outcome(document: Document, status: DocumentStatus, chunks: int) -> DocumentResult:
    return DocumentResult(document.source, status, chunks, document.doc_id, document.title)
