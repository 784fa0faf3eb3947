"""Embedded adapter: Qdrant's engine in-process (``qdrant-edge-py``), one shard directory per collection.

One process at a time may open a shard directory; a second one gets :class:`IndexLockedError`.

Inside the process, reads (searches, scrolls, counts) run under the shared side of a readers-writer lock, beside
writes (checked with 16 threads searching during upserts, tests/askdocs/test_index_concurrency.py). Writes take the
shared side too, and a mutex among themselves; loading, creating, optimising and closing the shard take the
exclusive side. qdrant-edge holds the GIL while it searches (its search runs on a thread of its own while the
calling thread waits with the GIL held: 4 threads search no faster than one); searches take no lock of their own
(one made them take turns until the points' keys became numbers: then it gained nothing, docs/PERFORMANCE.md).

The engine writes through memory maps, so a write that meets a full disk ends the process with SIGBUS (seen on a
40 MB tmpfs: "Fatal Python error: Bus error" in ``EdgeShard.update``, and again when the shard was loaded on the full
disk; with room again it opened with every point). So writes, creating and loading the shard are refused with
:class:`DiskSpaceError` while the disk holding it has less than ``min_free_mb`` free (ASKDOCS_QDRANT__MIN_FREE_MB),
and the optimisation at close is left out (searches scan until it runs). Reads go on.

The engine builds its HNSW graphs only when asked (``EdgeShard.optimize``): without that every search scans all
vectors (5.0 ms at 50,000 points with the groups filter, against 0.7 ms indexed; docs/PERFORMANCE.md). The shard is
optimised when it is opened and when an instance that wrote to it closes (``askdocs ingest`` and the worker close
it at the end), never while a service answers: ``optimize`` holds the GIL, 50 s for 50,000 points on two cores.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from askdocs.errors import DimensionMismatchError, DiskSpaceError, IndexLockedError, VectorIndexError
from askdocs.index.fusion import fuse
from askdocs.index.points import (
    ACL,
    CHUNK_INDEX,
    DENSE,
    DOC_FIELDS,
    INTEGER_INDEXES,
    KEYWORD_INDEXES,
    POINT_ID,
    SENTENCE_KEYS,
    SENTENCES,
    SPARSE,
    VERSION,
    chunk_of,
    document_info,
    expected_chunks,
    fetched_hits,
    payload_of,
    point_id_of,
    sentence_parts,
    sentences_of,
)
from askdocs.index.protocol import (
    Filters,
    Scope,
    StoredVersion,
    check_mode,
    hybrid_candidates,
    scope_of,
)
from askdocs.index.rwlock import ReadWriteLock
from askdocs.models import Chunk, DocumentInfo, Fusion, Hit, RetrievalMode, SentenceVectors
from askdocs.settings import DEFAULT_HYBRID_FACTOR, DEFAULT_MIN_FREE_MB
from askdocs.sparse import SparseVec

_CONFIG_FILE = "edge_config.json"
_EMBEDDING_FILE = "askdocs_embedding.json"  # beside the shard's files: the model and number formats of its vectors
_LOW_64 = (1 << 64) - 1
log = logging.getLogger("askdocs.index")


def _free_mb(path: Path) -> int:
    """Free megabytes on the disk holding ``path`` (or its nearest existing parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free // 2**20


def _sentence_params(dimension: int) -> qe.EdgeVectorParams:
    """The answer candidates' vectors: read by point id only, so no HNSW graph (m=0), and half-size numbers."""
    return qe.EdgeVectorParams(
        size=dimension,
        distance=qe.Distance.Cosine,
        multivector_config=qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim),
        datatype=qe.VectorStorageDatatype.Float16,
        hnsw_config=qe.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10000),
    )


class EdgeIndex:
    def __init__(
        self,
        path: Path,
        *,
        fusion: Fusion = "dbsf",
        dense_weight: float = 1.0,
        model: str | None = None,
        hybrid_factor: int = DEFAULT_HYBRID_FACTOR,
        min_free_mb: int = DEFAULT_MIN_FREE_MB,
    ) -> None:
        self._path = path
        self.min_free_mb = min_free_mb  # writes and loading need this much free on the disk (see the top); 0: any
        self._model = model  # the embedding model the shard was built with, when its pointer file names it
        self.fusion = fusion  # how hybrid search fuses; may be changed between searches (evaluation does)
        self.dense_weight = dense_weight  # the dense list's weight in the fusion (the sparse list's is 1)
        self.hybrid_factor = hybrid_factor  # each list brings this many times the hits asked for to the fusion
        self._shard: Any = None
        self._lock = ReadWriteLock()
        self._write_mutex = threading.Lock()  # one write at a time; reads go on beside it
        self._written = False  # optimise on close: this instance added points
        self._has_sentences: bool | None = None  # the shard has a SENTENCES vector (made since they exist)
        self._numbers = True  # the open shard keys its points by numbers, not UUIDs (see _key); set as it opens

    @property
    def path(self) -> Path:
        return self._path

    # -- lifecycle ---------------------------------------------------------------------------------
    def _open(self) -> Any:
        """The shard, loaded (and optimised) on first use; None while no collection exists yet."""
        if self._shard is None and (self._path / _CONFIG_FILE).is_file():
            with self._lock.exclusive():
                if self._shard is None:
                    self._check_room("opening the index")  # loading replays the write-ahead log into the segments
                    shard = self._call(qe.EdgeShard.load, str(self._path))
                    self._optimise(shard)
                    self._numbers = self._call(_numbered, shard)
                    self._shard = shard
        return self._shard

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        """The shard (None while no collection exists), held open for the block; other reads run beside it."""
        self._open()
        with self._lock.shared():
            yield self._shard

    def _optimise(self, shard: Any) -> None:
        """Build the HNSW graphs of segments past the engine's indexing threshold (quick when none is)."""
        started = time.perf_counter()
        if self._call(shard.optimize):
            log.info("embedded index at %s optimised in %.1f s", self._path, time.perf_counter() - started)

    def _check_room(self, doing: str) -> None:
        """Refuse ``doing`` while the disk holding the shard has less than ``min_free_mb`` free."""
        if self.min_free_mb <= 0:
            return
        free_mb = _free_mb(self._path)
        if free_mb < self.min_free_mb:
            raise DiskSpaceError(
                f"{doing} refused: the disk holding the index at {self._path} has {free_mb} MB free, under the "
                f"{self.min_free_mb} MB askdocs keeps free there (ASKDOCS_QDRANT__MIN_FREE_MB): the embedded engine "
                "ends the process when a write meets a full disk. Nothing was written and what is stored is intact; "
                "free some space and try again"
            )

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:  # the binding raises plain Exception; translate at the boundary
            if "WouldBlock" in str(exc):
                raise IndexLockedError(
                    f"the index at {self._path} is in use by another askdocs process (askdocs serve or "
                    "worker). Stop it first, or send documents to the running service "
                    "(askdocs ingest sends them there when ASKDOCS_ADMIN_TOKEN is set), or use a Qdrant "
                    "server (ASKDOCS_QDRANT__URL) that several processes can share"
                ) from exc
            raise VectorIndexError(
                f"embedded Qdrant failed at {self._path}: {exc} (the files were left as they are)"
            ) from exc

    def stored_dimension(self) -> int | None:
        vectors = self._stored_vectors()
        return None if vectors is None else int(vectors[DENSE]["size"])

    def _stored_vectors(self) -> dict[str, Any] | None:
        """The shard's named vectors as its config file gives them; None while no collection exists."""
        config_file = self._path / _CONFIG_FILE
        if not config_file.is_file():
            return None
        try:
            vectors = json.loads(config_file.read_text())["vectors"]
            int(vectors[DENSE]["size"])
            return dict(vectors)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VectorIndexError(
                f"the embedded index at {self._path} is damaged ({config_file.name} cannot be read: {exc}); nothing "
                "was changed: restore it from a backup, or ingest again into a new ASKDOCS_DATA_DIR"
            ) from exc

    def stored_model(self) -> str | None:
        return self._model or self._embedding_record().get("model")

    def stored_precisions(self) -> tuple[str, ...]:
        return tuple(self._embedding_record().get("precisions") or ())

    def record_embedding(self, model_id: str, precision: str) -> None:
        record = self._embedding_record()
        if record.get("model") and precision in (record.get("precisions") or ()):
            return
        record = {"model": record.get("model") or model_id, "precisions": [*record.get("precisions", ()), precision]}
        path = self._path / _EMBEDDING_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(record), encoding="utf-8")
        temporary.replace(path)

    def _embedding_record(self) -> dict[str, Any]:
        try:
            record = json.loads((self._path / _EMBEDDING_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # none yet (an index from before the record), or unreadable: not recorded
            return {}
        return record if isinstance(record, dict) else {}

    def watch_model(self, model_id: str) -> None:
        """Nothing to watch: an embedded shard is switched only while no service holds it (one process each)."""

    def ensure_collection(self, dimension: int) -> None:
        self._open()
        with self._lock.exclusive():
            stored = self.stored_dimension()
            if stored is not None:
                if stored != dimension:
                    raise DimensionMismatchError(
                        f"the index at {self._path} holds {stored}-dimensional vectors but the embedding "
                        f"model makes {dimension}-dimensional ones; use the model the index was built "
                        "with, or a new ASKDOCS_DATA_DIR / ASKDOCS_QDRANT__COLLECTION"
                    )
                return
            self._check_room("creating the index")
            self._path.mkdir(parents=True, exist_ok=True)
            config = qe.EdgeConfig(
                vectors={
                    DENSE: qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine),
                    SENTENCES: _sentence_params(dimension),
                },
                sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            )
            shard = self._call(qe.EdgeShard.create, str(self._path), config)
            for field in KEYWORD_INDEXES:
                self._call(shard.update, qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
            for field in INTEGER_INDEXES:
                self._call(shard.update, qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Integer))
            self._shard = shard
            self._numbers = True

    def close(self) -> None:
        with self._lock.exclusive():
            if self._shard is not None:
                if self._written and self._has_room():
                    self._optimise(self._shard)
                self._shard.flush()
                self._shard.close()
                self._shard = None

    def _has_room(self) -> bool:
        try:
            self._check_room("optimising the index")
        except DiskSpaceError as exc:
            log.warning("%s; searches scan every vector until it is optimised (when it is next opened)", exc)
            return False
        return True

    # -- writes ------------------------------------------------------------------------------------
    def _update(self, operation: Any, *, flush: bool = False) -> None:
        self._check_room("writing to the index")
        with self._lock.shared(), self._write_mutex:
            self._call(self._shard.update, operation)
            self._written = True
            if flush:
                self._call(self._shard.flush)

    def upsert(
        self,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        sparse: Sequence[SparseVec] | None = None,
        sentences: Sequence[SentenceVectors | None] | None = None,
    ) -> None:
        if not chunks:
            return
        keep_sentences = sentences is not None and self.stores_sentences()
        points = []
        for i, (c, vector) in enumerate(zip(chunks, vectors, strict=True)):
            named: dict[str, qe.NamedVector] = {DENSE: vector.tolist()}
            if sparse is not None:
                named[SPARSE] = qe.SparseVector(sparse[i].indices, sparse[i].values)
            rows, keys = sentence_parts(sentences[i] if sentences is not None and keep_sentences else None)
            if rows is not None:
                named[SENTENCES] = rows
            points.append(qe.Point(self._key(c.point_id), named, payload_of(c) | keys))
        self._update(qe.UpdateOperation.upsert_points(points), flush=True)

    def _key(self, point_id: str) -> int | str:
        """A point's key in the shard: a 64-bit number folded from its id (a UUID), or the id itself in a shard
        made before (its points are keyed by their UUIDs). The binding makes every UUID key it returns a
        ``uuid.UUID`` in Python, 0.5 microseconds each with the GIL held: 800 a hybrid search, 14 % of the GIL's
        time under 16 clients (docs/PERFORMANCE.md). Two of a million ids share a key with a chance of 3e-8."""
        if not self._numbers:
            return point_id
        try:
            number = uuid.UUID(point_id).int
        except ValueError:
            raise VectorIndexError(
                f"the point id {point_id!r} is not a UUID (askdocs makes them with point_id_for)"
            ) from None
        return (number >> 64) ^ (number & _LOW_64)

    def stores_sentences(self) -> bool:
        """Whether the shard keeps answer candidates' vectors (False for one made before they existed)."""
        if self._has_sentences is None:
            vectors = self._stored_vectors()
            if vectors is None:
                return False  # not made yet: asked again once it is
            self._has_sentences = SENTENCES in vectors
        return self._has_sentences

    def sentence_vectors(self, point_ids: Sequence[str]) -> dict[str, SentenceVectors] | None:
        with self._reading() as shard:
            if shard is None or not self.stores_sentences():
                return None
            keys = [self._key(p) for p in point_ids]
            records = self._call(shard.retrieve, keys, [SENTENCE_KEYS, POINT_ID], [SENTENCES])
        found = {point_id_of(r.id, r.payload): sentences_of(r.payload, r.vector) for r in records}
        return {point_id: s for point_id, s in found.items() if s is not None}

    def delete_document(self, doc_id: str, *, except_version: str | None = None) -> None:
        if self._open() is None:
            return
        must_not = [_match(VERSION, except_version)] if except_version else None
        self._update(
            qe.UpdateOperation.delete_points_by_filter(qe.Filter(must=[_match("doc_id", doc_id)], must_not=must_not)),
            flush=True,
        )

    # -- reads -------------------------------------------------------------------------------------
    def search(
        self,
        vector: np.ndarray,
        limit: int,
        filters: Filters | None = None,
        *,
        sparse: SparseVec | None = None,
        mode: RetrievalMode = "dense",
        groups: Sequence[str] | None = None,
        vectors: bool = False,
    ) -> list[Hit]:
        flt = _filter(scope_of(filters, groups))
        check_mode(mode, sparse)
        dense_q = qe.Query.Nearest(vector.tolist(), using=DENSE)
        sparse_q = qe.Query.Nearest(qe.SparseVector(sparse.indices, sparse.values), using=SPARSE) if sparse else None
        with self._reading() as shard:
            if shard is None:
                return []
            if mode == "sparse":
                (lexical,) = self._scored(shard, [sparse_q], limit, flt)
                return self._hits(shard, vector, lexical, [], vectors)
            if mode == "dense":
                (dense,) = self._scored(shard, [dense_q], limit, flt)
                return self._hits(shard, vector, dense, dense, vectors)
            candidates = hybrid_candidates(limit, self.hybrid_factor)
            dense, lexical = self._scored(shard, [dense_q, sparse_q], candidates, flt)
            fused = fuse(dense, lexical, fusion=self.fusion, dense_weight=self.dense_weight, limit=limit)
            return self._hits(shard, vector, fused, dense, vectors)

    def _scored(self, shard: Any, queries: list[Any], limit: int, flt: Any) -> list[list[tuple[Any, float]]]:
        """Each query's scored keys, the queries run as one batch (the engine plans them together: a hybrid
        search's two lists in 1.7 ms against 2.1 ms one after the other over 80,364 chunks)."""
        batch = qe.QueryBatchRequest(
            [qe.QueryRequest(limit=limit, query=q, filter=flt, with_payload=False, with_vector=False) for q in queries]
        )
        return [[(p.id, p.score) for p in found] for found in self._call(shard.query_batch, batch)]

    def _hits(
        self,
        shard: Any,
        vector: np.ndarray,
        scored: list[tuple[Any, float]],
        dense: list[tuple[Any, float]],
        vectors: bool,
    ) -> list[Hit]:
        def retrieve(ids: list[Any], with_vector: bool) -> list[Any]:
            return list(self._call(shard.retrieve, ids, True, [DENSE] if with_vector else False))

        return fetched_hits(vector, scored, dense, vectors, retrieve)

    def neighbours(self, hit: Hit, window: int) -> list[Hit]:
        """The chunks within ``window`` positions of ``hit`` in the same version of its document, in order."""
        if window < 1:
            return []
        index = hit.chunk.chunk_index
        flt = qe.Filter(
            must=[
                _match("doc_id", hit.doc_id),
                _match(VERSION, hit.chunk.version),
                qe.FieldCondition(CHUNK_INDEX, range=qe.RangeFloat(gte=index - window, lte=index + window)),
            ]
        )
        with self._reading() as shard:
            if shard is None:
                return []
            records, _ = self._call(shard.scroll, qe.ScrollRequest(limit=2 * window + 1, filter=flt, with_payload=True))
        found = [Hit(chunk_of(r.id, r.payload), 0.0) for r in records]
        return sorted(found, key=lambda h: h.chunk.chunk_index)

    def count(self) -> int:
        with self._reading() as shard:
            return 0 if shard is None else int(self._call(shard.count, qe.CountRequest(exact=True)))

    def stored_version(self, doc_id: str, version: str) -> StoredVersion:
        same_doc = _match("doc_id", doc_id)
        same_hash = qe.Filter(must=[same_doc, _match(VERSION, version)])
        with self._reading() as shard:
            if shard is None:
                return StoredVersion(0, 0, 0)
            points = int(self._call(shard.count, qe.CountRequest(exact=True, filter=qe.Filter(must=[same_doc]))))
            with_hash = int(self._call(shard.count, qe.CountRequest(exact=True, filter=same_hash)))
            expected = 0
            if with_hash:
                records, _ = self._call(
                    shard.scroll, qe.ScrollRequest(limit=1, filter=same_hash, with_payload=["chunk_count"])
                )
                expected = expected_chunks(records[0].payload) if records else 0
        return StoredVersion(points, with_hash, expected)

    def documents(self) -> list[DocumentInfo]:
        first_chunks = qe.Filter(must=[qe.FieldCondition(CHUNK_INDEX, match=qe.MatchValue(0))])
        return sorted((document_info(p) for p in self._scroll(first_chunks, DOC_FIELDS)), key=lambda d: d.source)

    def iter_chunks(self, batch: int = 256) -> Iterator[list[Chunk]]:
        """Every stored chunk, ``batch`` at a time (re-embedding reads them so)."""
        for records in self._pages(None, batch, True):
            yield [chunk_of(r.id, r.payload) for r in records]

    def _scroll(self, flt: Any, fields: list[str]) -> Iterator[dict[str, Any]]:
        for records in self._pages(flt, 256, fields):
            yield from (dict(r.payload or {}) for r in records)

    def _pages(self, flt: Any, limit: int, payload: bool | list[str]) -> Iterator[list[Any]]:
        """The matching records a page at a time; the lock is held for each page's read, not across the yields."""
        offset = None
        while True:
            request = qe.ScrollRequest(offset=offset, limit=limit, filter=flt, with_payload=payload)
            with self._reading() as shard:
                if shard is None:
                    return
                records, offset = self._call(shard.scroll, request)
            if records:
                yield records
            if offset is None:
                return


def _numbered(shard: Any) -> bool:
    """Whether a shard keys its points by numbers: a filled one as its first point is keyed, an empty one from now
    on (one made before numbered keys keeps its UUIDs)."""
    records, _ = shard.scroll(qe.ScrollRequest(limit=1, with_payload=False))
    return not records or isinstance(records[0].id, int)


def _match(field: str, value: str) -> Any:
    return qe.FieldCondition(field, match=qe.MatchValue(value))


def _filter(scope: Scope) -> Any:
    if scope.unrestricted:
        return None
    must: list[Any] = []
    if scope.groups is not None:  # public (no ACL) or shared with one of the caller's groups
        visible: list[Any] = [qe.IsEmptyCondition(ACL)]
        if scope.groups:
            visible.append(qe.FieldCondition(ACL, match=qe.MatchAny(list(scope.groups))))
        must.append(qe.Filter(should=visible))
    for key, values in scope.match:
        must.append(
            qe.FieldCondition(key, match=qe.MatchValue(values[0]) if len(values) == 1 else qe.MatchAny(list(values)))
        )
    return qe.Filter(must=must)
