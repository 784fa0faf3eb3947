"""The embedded shard's points as stored: ids, dense and BM25 vectors, payloads (what a copy of it needs and
:class:`EdgeIndex`, which reads chunks, does not give)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import qdrant_edge as qe
from qdrant_client import models

from askdocs.errors import IndexLockedError, VectorIndexError
from askdocs.index.points import DENSE, SENTENCES, SPARSE, point_id_of


class ShardReader:
    """The embedded shard's points as stored, in point-id order (a stable order, so a resumed copy meets the
    points in the order the interrupted one did)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            self._shard = qe.EdgeShard.load(str(path))
        except Exception as exc:  # the binding raises plain Exception; translate at the boundary
            if "WouldBlock" in str(exc):
                raise IndexLockedError(
                    f"the embedded index at {path} is held by a running askdocs serve or worker (one process at "
                    "a time may open it): stop it, then run `askdocs index migrate` again; nothing was copied"
                ) from exc
            raise VectorIndexError(f"the embedded index at {path} cannot be opened: {exc}") from exc

    def __enter__(self) -> ShardReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._shard.close()

    def count(self) -> int:
        return int(self._call(self._shard.count, qe.CountRequest(exact=True)))

    def batches(self, size: int) -> Iterator[list[Any]]:
        offset = None
        while True:
            request = qe.ScrollRequest(offset=offset, limit=size, with_payload=True, with_vector=True)
            records, offset = self._call(self._shard.scroll, request)
            if records:
                yield records
            if offset is None:
                return

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            raise VectorIndexError(f"reading the embedded index at {self._path} failed: {exc}") from exc


def to_point(record: Any) -> models.PointStruct:
    vectors: dict[str, Any] = {DENSE: list(record.vector[DENSE])}
    if SPARSE in record.vector:  # indexes from before hybrid search have no BM25 vectors
        sparse = record.vector[SPARSE]
        vectors[SPARSE] = models.SparseVector(indices=list(sparse.indices), values=list(sparse.values))
    if SENTENCES in record.vector:  # indexes from before issue 26 have no answer candidates' vectors
        vectors[SENTENCES] = [list(row) for row in record.vector[SENTENCES]]
    return models.PointStruct(
        id=point_id_of(record.id, record.payload), vector=vectors, payload=dict(record.payload or {})
    )
