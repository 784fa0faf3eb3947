"""The VectorIndex role and the pieces both adapters share."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from askdocs.errors import InputError, ModelMismatchError
from askdocs.models import Chunk, DocumentInfo, Hit, RetrievalMode, SentenceVectors
from askdocs.sparse import SparseVec

FILTERABLE_FIELDS = ("doc_id", "source", "chunker", "origin")  # fields callers may filter on
RRF_K = 60  # the usual constant of reciprocal rank fusion
POINT_NAMESPACE = uuid.UUID("0b6c4f3e-6a2d-4c41-9a0e-5d7f0e1a2b3c")

Filters = Mapping[str, str | Sequence[str]]


def point_id_for(doc_id: str, chunk_key: str | int) -> str:
    """Deterministic point id (uuid5 of doc id and chunk key): re-ingesting writes the same ids."""
    return str(uuid.uuid5(POINT_NAMESPACE, f"{doc_id}:{chunk_key}"))


def check_filters(filters: Filters | None) -> dict[str, list[str]]:
    """Validate a caller's filters: known fields only, string values. Returns field -> accepted values."""
    checked: dict[str, list[str]] = {}
    for key, value in (filters or {}).items():
        if key not in FILTERABLE_FIELDS:
            raise InputError(f"cannot filter on {key!r}; filterable fields: {', '.join(FILTERABLE_FIELDS)}")
        values = [value] if isinstance(value, str) else list(value)
        if not values or not all(isinstance(v, str) and v for v in values):
            raise InputError(f"filter {key!r} needs a non-empty string or list of strings")
        checked[key] = values
    return checked


@dataclass(frozen=True, slots=True)
class Scope:
    """What a search may return, in no library's terms; each adapter translates it into its filter once."""

    match: tuple[tuple[str, tuple[str, ...]], ...] = ()  # every field must hold one of its values
    groups: tuple[str, ...] | None = None  # None: no access check; else public chunks or one of these groups

    @property
    def unrestricted(self) -> bool:
        return not self.match and self.groups is None


def scope_of(filters: Filters | None, groups: Sequence[str] | None) -> Scope:
    """A caller's filters (validated) and groups as one Scope."""
    match = tuple((key, tuple(values)) for key, values in check_filters(filters).items())
    return Scope(match, None if groups is None else tuple(groups))


def hybrid_candidates(limit: int, factor: int) -> int:
    """How many candidates each half of a hybrid search brings to the fusion (``ASKDOCS_RETRIEVAL__HYBRID_FACTOR``)."""
    return max(limit * factor, 40)


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """What the index holds of one document: enough to decide whether re-ingesting can be skipped."""

    points: int
    points_with_hash: int
    expected: int  # chunk_count recorded in the points carrying the hash

    @property
    def complete(self) -> bool:
        return self.expected > 0 and self.points == self.points_with_hash == self.expected


def check_model(stored: str | None, configured: str) -> None:
    """ModelMismatchError when the index records vectors of a model other than the one questions are embedded with
    (``stored`` None: not recorded, taken as the configured one)."""
    if stored is None or stored == configured:
        return
    raise ModelMismatchError(
        f"the index's vectors were made with the embedding model {stored!r}, but the configured model is "
        f"{configured!r}: its queries would find the wrong passages. Set ASKDOCS_EMBEDDING__MODEL_PATH "
        "to the index's model (and restart), or switch the index with `askdocs index reembed --model DIR` "
        "(`askdocs index restore` goes back to the previous one)"
    )


def check_mode(mode: RetrievalMode, sparse: SparseVec | None) -> None:
    if mode not in ("dense", "sparse", "hybrid"):
        raise InputError(f"unknown retrieval mode {mode!r}; available: dense, hybrid, sparse")
    if mode != "dense" and sparse is None:
        raise InputError(f"retrieval mode {mode!r} needs the query's sparse vector")


class VectorIndex(Protocol):
    """Where chunks live. Adapters translate their library's errors into ``askdocs.errors``."""

    def stored_dimension(self) -> int | None:
        """The dimension of the stored vectors; None while no collection exists."""
        ...

    def stored_model(self) -> str | None:
        """The embedding model the vectors were made with, when recorded (by ``askdocs index reembed``)."""
        ...

    def record_embedding(self, model_id: str, precision: str) -> None:
        """Note beside the vectors the model and the number format (``fp32``, ``bf16``) of the ones about to be
        written. The model is recorded once (a later one is refused before anything is written, by
        ``check_model``); each format that wrote vectors is kept (``stored_precisions``)."""
        ...

    def stored_precisions(self) -> tuple[str, ...]:
        """The number formats the stored vectors were computed in, as recorded; empty for an index from before
        the record existed."""
        ...

    def watch_model(self, model_id: str) -> None:
        """From now on, searches fail with ModelMismatchError if the stored vectors turn out to be another model's
        (``askdocs index reembed`` moved a server alias under a running service)."""
        ...

    def iter_chunks(self, batch: int = 256) -> Iterator[list[Chunk]]:
        """Every stored chunk, ``batch`` at a time."""
        ...

    def ensure_collection(self, dimension: int) -> None:
        """Create the collection on first use; fail with DimensionMismatchError if it disagrees."""
        ...

    def upsert(
        self,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        sparse: Sequence[SparseVec] | None = None,
        sentences: Sequence[SentenceVectors | None] | None = None,
    ) -> None:
        """``sentences``: each chunk's answer candidates' vectors (askdocs/sentences.py), kept where the
        collection has room for them (one made before they existed has not)."""
        ...

    def sentence_vectors(self, point_ids: Sequence[str]) -> dict[str, SentenceVectors] | None:
        """The stored candidate vectors of these points (those that have them); None when the collection keeps
        none (made before they existed: ``askdocs index reembed`` makes one that does)."""
        ...

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
        """``dense``: cosine; ``sparse``: BM25 (needs ``sparse``); ``hybrid``: both fused, with the adapter's
        ``fusion`` (DBSF by default, or RRF).
        ``groups``: the caller's groups; only chunks without an ACL or sharing a group with it are found.
        None: no access check (evaluation, admin tools).
        Every hit has its cosine to ``vector`` (``dense_score``); ``vectors``: each also carries its stored dense
        vector (MMR compares them), else only those the dense search did not find may."""
        ...

    def neighbours(self, hit: Hit, window: int) -> list[Hit]:
        """Chunks of the same document version within ``window`` positions of ``hit`` (itself included)."""
        ...

    def stored_version(self, doc_id: str, version: str) -> StoredVersion: ...

    def delete_document(self, doc_id: str, *, except_version: str | None = None) -> None:
        """Drop a document's points (all, or only those of other versions than ``except_version``)."""
        ...

    def documents(self) -> list[DocumentInfo]: ...

    def count(self) -> int: ...

    def close(self) -> None: ...
