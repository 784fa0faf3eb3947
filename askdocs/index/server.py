"""Server adapter: a Qdrant server (one node or a cluster) through ``qdrant-client``'s REST client, which
threads may share: the service's requests reach Qdrant concurrently.

On a cluster: Qdrant's default read consistency (one active replica per shard) and write ordering (weak), every
write waited for. Enough here: a replica that missed a write is out of service until it has caught up, and askdocs
never writes one point two ways (its id hashes the document, version and position). Stronger reads or ordered
writes would query several replicas or a shard's leader, and fail or slow down while a peer is down.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from askdocs.errors import DimensionMismatchError, VectorIndexError
from askdocs.index.aliases import MODEL_KEY, PRECISION_KEY, alias_target, initial_name
from askdocs.index.fusion import fuse
from askdocs.index.layout import Layout, count_peers, create_collection
from askdocs.index.points import (
    ACL,
    CHUNK_INDEX,
    DENSE,
    DOC_FIELDS,
    SENTENCE_KEYS,
    SENTENCES,
    SPARSE,
    VERSION,
    chunk_of,
    document_info,
    expected_chunks,
    fetched_hits,
    payload_of,
    sentence_parts,
    sentences_of,
)
from askdocs.index.protocol import (
    Filters,
    Scope,
    StoredVersion,
    check_mode,
    check_model,
    hybrid_candidates,
    scope_of,
)
from askdocs.models import Chunk, DocumentInfo, Fusion, Hit, RetrievalMode, SentenceVectors
from askdocs.settings import DEFAULT_HYBRID_FACTOR
from askdocs.sparse import SparseVec

T = TypeVar("T")
MODEL_RECHECK_S = 30.0  # how stale a running service's view of the alias's model may be


class ServerIndex:
    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        *,
        where: str = "Qdrant server",
        fusion: Fusion = "dbsf",
        dense_weight: float = 1.0,
        physical: bool = False,
        layout: Layout = Layout(),
        hybrid_factor: int = DEFAULT_HYBRID_FACTOR,
    ) -> None:
        """``collection``: the configured name, an alias created with the collection it points at (``physical``:
        a collection of that very name, as re-embedding builds). ``layout``: how to create it, if it is not there."""
        self._client = client
        self._physical = physical
        self._layout = layout
        self.fusion = fusion  # how hybrid search fuses; may be changed between searches (evaluation does)
        self.dense_weight = dense_weight  # the dense list's weight in the fusion (the sparse list's is 1)
        self.hybrid_factor = hybrid_factor  # each list brings this many times the hits asked for to the fusion
        self._collection = collection
        self._where = where
        self._exists: bool | None = None
        self._all_copies: bool | None = None  # the completeness check reads every copy (``_version_reads``)
        self._watched: str | None = None  # the model the service embeds questions with (``watch_model``)
        self._model_checked = -MODEL_RECHECK_S
        self._has_sentences: bool | None = None  # the collection has a SENTENCES vector (made since they exist)

    @classmethod
    def connect(
        cls,
        url: str,
        api_key: str | None,
        collection: str,
        timeout_s: float,
        *,
        fusion: Fusion = "dbsf",
        dense_weight: float = 1.0,
        layout: Layout = Layout(),
        hybrid_factor: int = DEFAULT_HYBRID_FACTOR,
    ) -> ServerIndex:
        # No version check thread at start: it fails noisily while the server is down; calls say so clearly.
        client = QdrantClient(url=url, api_key=api_key, timeout=int(timeout_s), check_compatibility=False)
        where = f"Qdrant server {url}"
        return cls(
            client,
            collection,
            where=where,
            fusion=fusion,
            dense_weight=dense_weight,
            layout=layout,
            hybrid_factor=hybrid_factor,
        )

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except (UnexpectedResponse, ResponseHandlingException, ConnectionError, OSError) as exc:
            raise VectorIndexError(f"{self._where} failed: {exc}") from exc

    def _has_collection(self) -> bool:
        if not self._exists:
            exists = self._call(self._client.collection_exists, self._collection)
            self._exists = bool(exists or self._call(alias_target, self._client, self._collection))
        return bool(self._exists)

    def stored_dimension(self) -> int | None:
        if not self._has_collection():
            return None
        info = self._call(self._client.get_collection, self._collection)
        vectors = info.config.params.vectors
        if not isinstance(vectors, dict) or DENSE not in vectors:
            raise VectorIndexError(
                f"collection {self._collection!r} on the {self._where} has no vector named {DENSE!r}: it was not "
                "made by askdocs; choose another ASKDOCS_QDRANT__COLLECTION"
            )
        return int(vectors[DENSE].size)

    def stored_model(self) -> str | None:
        """The embedding model the collection was built with, when ``askdocs index reembed`` recorded it."""
        model = self._metadata().get(MODEL_KEY)
        return str(model) if model else None

    def stored_precisions(self) -> tuple[str, ...]:
        return tuple(str(p) for p in self._metadata().get(PRECISION_KEY) or ())

    def _metadata(self) -> dict[str, Any]:
        """The collection's metadata (the model and number formats askdocs recorded); empty while it does not exist."""
        if not self._has_collection():
            return {}
        return dict(self._call(self._client.get_collection, self._collection).config.metadata or {})

    def record_embedding(self, model_id: str, precision: str) -> None:
        metadata = self._metadata()
        precisions = [str(p) for p in metadata.get(PRECISION_KEY) or ()]
        if not metadata.get(MODEL_KEY) or precision not in precisions:
            # Metadata updates merge with what is stored; the collection behind the alias is the one updated.
            target = self._call(alias_target, self._client, self._collection) or self._collection
            update = {MODEL_KEY: metadata.get(MODEL_KEY) or model_id, PRECISION_KEY: [*precisions, precision]}
            self._call(self._client.update_collection, target, metadata=update)

    def watch_model(self, model_id: str) -> None:
        self._watched = model_id

    def _check_model(self) -> None:
        """At most every MODEL_RECHECK_S: the alias may have been switched to vectors of another model since."""
        if self._watched is None or time.monotonic() - self._model_checked < MODEL_RECHECK_S:
            return
        check_model(self.stored_model(), self._watched)  # when it raises, checked again on the next search
        self._model_checked = time.monotonic()

    def ensure_collection(self, dimension: int) -> None:
        stored = self.stored_dimension()
        if stored is None:
            self._layout.check_peers(self._call(count_peers, self._client), self._where)  # before anything is made
            physical = self._collection if self._physical else initial_name(self._collection)
            alias = None if self._physical else self._collection  # so that a re-embedded collection can replace it
            self._call(create_collection, self._client, physical, dimension, self._layout, alias)
            stored = self.stored_dimension()  # another process may have made it a moment before, for another model
        if stored != dimension:
            raise DimensionMismatchError(
                f"collection {self._collection!r} on the {self._where} holds {stored}-dimensional vectors "
                f"but the embedding model makes {dimension}-dimensional ones; use the model the "
                "collection was built with, or another ASKDOCS_QDRANT__COLLECTION"
            )

    def close(self) -> None:
        self._call(self._client.close)

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
        for i, (c, v) in enumerate(zip(chunks, vectors, strict=True)):
            named: dict[str, Any] = {DENSE: v.tolist()}
            if sparse is not None:
                named[SPARSE] = models.SparseVector(indices=sparse[i].indices, values=sparse[i].values)
            rows, keys = sentence_parts(sentences[i] if sentences is not None and keep_sentences else None)
            if rows is not None:
                named[SENTENCES] = rows
            points.append(models.PointStruct(id=c.point_id, vector=named, payload=payload_of(c) | keys))
        self._call(self._client.upsert, self._collection, points=points, wait=True)

    def stores_sentences(self) -> bool:
        """Whether the collection keeps answer candidates' vectors (False for one made before they existed)."""
        if self._has_sentences is None:
            if not self._has_collection():
                return False  # not made yet: asked again once it is
            vectors = self._call(self._client.get_collection, self._collection).config.params.vectors
            self._has_sentences = isinstance(vectors, dict) and SENTENCES in vectors
        return self._has_sentences

    def sentence_vectors(self, point_ids: Sequence[str]) -> dict[str, SentenceVectors] | None:
        if not self.stores_sentences():
            return None
        records = self._call(
            self._client.retrieve,
            self._collection,
            list(point_ids),
            with_payload=[SENTENCE_KEYS],
            with_vectors=[SENTENCES],
        )
        found = {str(r.id): sentences_of(r.payload, r.vector) for r in records}
        return {point_id: s for point_id, s in found.items() if s is not None}

    def delete_document(self, doc_id: str, *, except_version: str | None = None) -> None:
        if not self._has_collection():
            return
        flt = models.Filter(
            must=[_match("doc_id", doc_id)],
            must_not=[_match(VERSION, except_version)] if except_version else None,
        )
        self._call(
            self._client.delete,
            self._collection,
            points_selector=models.FilterSelector(filter=flt),
            wait=True,
        )

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
        if not self._has_collection():
            return []
        self._check_model()
        sparse_q = models.SparseVector(indices=sparse.indices, values=sparse.values) if sparse else None
        # Rescored with the original vectors on a quantised collection, so that the scores are the cosines.
        exact = models.SearchParams(quantization=models.QuantizationSearchParams(rescore=True))
        dense_r = models.QueryRequest(query=vector.tolist(), using=DENSE, limit=limit, filter=flt, params=exact)
        sparse_r = models.QueryRequest(query=sparse_q, using=SPARSE, limit=limit, filter=flt)
        if mode == "sparse":
            return self._hits(vector, self._scored([sparse_r])[0], [], vectors)
        if mode == "dense":
            dense = self._scored([dense_r])[0]
            return self._hits(vector, dense, dense, vectors)
        candidates = hybrid_candidates(limit, self.hybrid_factor)
        dense, lexical = self._scored(  # both lists in one round trip, fused here (askdocs/index/fusion.py)
            [r.model_copy(update={"limit": candidates}) for r in (dense_r, sparse_r)]
        )
        fused = fuse(dense, lexical, fusion=self.fusion, dense_weight=self.dense_weight, limit=limit)
        return self._hits(vector, fused, dense, vectors)

    def _scored(self, requests: list[models.QueryRequest]) -> list[list[tuple[Any, float]]]:
        """Ids and scores only: hundreds of candidates' payloads and vectors would cross the wire for nothing."""
        requests = [r.model_copy(update={"with_payload": False, "with_vector": False}) for r in requests]
        responses = self._call(self._client.query_batch_points, self._collection, requests)
        return [[(p.id, p.score) for p in r.points] for r in responses]

    def _hits(
        self, vector: np.ndarray, scored: list[tuple[Any, float]], dense: list[tuple[Any, float]], vectors: bool
    ) -> list[Hit]:
        def retrieve(ids: list[Any], with_vector: bool) -> list[Any]:
            wanted = [DENSE] if with_vector else False
            return self._call(self._client.retrieve, self._collection, ids, with_payload=True, with_vectors=wanted)

        return fetched_hits(vector, scored, dense, vectors, retrieve)

    def neighbours(self, hit: Hit, window: int) -> list[Hit]:
        """The chunks within ``window`` positions of ``hit`` in the same version of its document, in order."""
        if not self._has_collection() or window < 1:
            return []
        index = hit.chunk.chunk_index
        flt = models.Filter(
            must=[
                _match("doc_id", hit.doc_id),
                _match(VERSION, hit.chunk.version),
                models.FieldCondition(key=CHUNK_INDEX, range=models.Range(gte=index - window, lte=index + window)),
            ]
        )
        records, _ = self._call(
            self._client.scroll, self._collection, scroll_filter=flt, limit=2 * window + 1, with_payload=True
        )
        found = [Hit(chunk_of(r.id, r.payload), 0.0) for r in records]
        return sorted(found, key=lambda h: h.chunk.chunk_index)

    def count(self) -> int:
        if not self._has_collection():
            return 0
        return int(self._call(self._client.count, self._collection, exact=True).count)

    def _count(self, flt: models.Filter) -> int:
        return int(self._call(self._client.count, self._collection, count_filter=flt, exact=True).count)

    def stored_version(self, doc_id: str, version: str) -> StoredVersion:
        if not self._has_collection():
            return StoredVersion(0, 0, 0)
        points = self._count(models.Filter(must=[_match("doc_id", doc_id)]))
        same_hash = models.Filter(must=[_match("doc_id", doc_id), _match(VERSION, version)])
        found = [r for page in self._pages(same_hash, ["chunk_count"], 1024, self._version_reads()) for r in page]
        return StoredVersion(points, len(found), expected_chunks(found[0].payload) if found else 0)

    def _version_reads(self) -> models.ReadConsistencyType | None:
        """How the completeness check reads. A write refused for want of acknowledgements (a write consistency
        factor above 1, a copy down) stays on the copies that took it, and Qdrant does not bring the others up to
        date: only a check that reads every copy sees the gap and has the version written again."""
        if self._all_copies is None:
            params = self._call(self._client.get_collection, self._collection).config.params
            self._all_copies = (params.write_consistency_factor or 1) > 1
        return models.ReadConsistencyType.ALL if self._all_copies else None

    def documents(self) -> list[DocumentInfo]:
        if not self._has_collection():
            return []
        first = models.Filter(must=[models.FieldCondition(key=CHUNK_INDEX, match=models.MatchValue(value=0))])
        infos = (document_info(r.payload or {}) for page in self._pages(first, DOC_FIELDS) for r in page)
        return sorted(infos, key=lambda d: d.source)

    def iter_chunks(self, batch: int = 256) -> Iterator[list[Chunk]]:
        """Every stored chunk, ``batch`` at a time (re-embedding reads them so)."""
        if self._has_collection():
            yield from ([chunk_of(r.id, r.payload) for r in page] for page in self._pages(None, True, batch))

    def _pages(
        self, flt: models.Filter | None, fields: list[str] | bool, batch: int = 256, consistency: Any = None
    ) -> Iterator[list[Any]]:
        offset: Any = None
        while True:
            records, offset = self._call(
                self._client.scroll,
                self._collection,
                scroll_filter=flt,
                limit=batch,
                offset=offset,
                with_payload=fields,
                consistency=consistency,
            )
            if records:
                yield records
            if offset is None:
                return


def _match(field: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=field, match=models.MatchValue(value=value))


def _filter(scope: Scope) -> models.Filter | None:
    if scope.unrestricted:
        return None
    conditions: list[models.Condition] = []
    if scope.groups is not None:  # public (no ACL) or shared with one of the caller's groups
        visible: list[models.Condition] = [models.IsEmptyCondition(is_empty=models.PayloadField(key=ACL))]
        if scope.groups:
            visible.append(models.FieldCondition(key=ACL, match=models.MatchAny(any=list(scope.groups))))
        conditions.append(models.Filter(should=visible))
    for key, values in scope.match:
        match: models.Match = (
            models.MatchValue(value=values[0]) if len(values) == 1 else models.MatchAny(any=list(values))
        )
        conditions.append(models.FieldCondition(key=key, match=match))
    return models.Filter(must=conditions)
