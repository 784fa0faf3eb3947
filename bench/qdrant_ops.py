"""What the sizing and quantisation benchmarks do to a real Qdrant server and measure of it: the operator's int8
switch (docs/DEPLOY.md), waiting for the optimiser, a process's memory, a folder's disk use, the load average."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models

from askdocs.index.points import DENSE


def physical(client: QdrantClient, name: str) -> str:
    """The collection behind askdocs' alias ``name`` (askdocs makes ``name`` an alias of a versioned collection)."""
    targets = [a.collection_name for a in client.get_aliases().aliases if a.alias_name == name]
    return targets[0] if targets else name


def quantise_int8(client: QdrantClient, collection: str) -> None:
    """Scalar int8 quantisation kept in RAM, the float32 originals moved to disk: the change DEPLOY.md gives
    (``PATCH /collections/<collection>``), made with the same two parameters."""
    client.update_collection(
        collection,
        vectors_config={DENSE: models.VectorParamsDiff(on_disk=True)},
        quantization_config=models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.99, always_ram=True)
        ),
    )


def index_from(client: QdrantClient, collection: str, threshold_kb: int) -> None:
    """Build the HNSW graph once a segment holds ``threshold_kb`` of vectors (Qdrant's default: 10,000 KB, about
    6,500 vectors of 384 dimensions; smaller segments are searched exhaustively)."""
    client.update_collection(collection, optimizers_config=models.OptimizersConfigDiff(indexing_threshold=threshold_kb))


def wait_optimised(client: QdrantClient, collection: str, timeout_s: float = 3600) -> dict[str, Any]:
    """Until the optimiser is done (status green), every vector is in its index when the graph is due, and a
    quantised collection searches its int8 vectors; returns what Qdrant says of the collection then."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = client.get_collection(collection)
        points = info.points_count or 0
        threshold = (info.config.optimizer_config.indexing_threshold or 0) * 1024
        kinds = len(_dense(info)) + len(info.config.params.sparse_vectors or {})  # indexed_vectors counts each kind
        graph_due = threshold and points * 4 * sum(_dense(info).values()) >= threshold
        quantisation = info.config.quantization_config
        quantised = quantisation is not None
        indexed = info.indexed_vectors_count or 0
        if (
            info.status == models.CollectionStatus.GREEN
            and (not graph_due or indexed >= points * kinds)
            and (not quantised or int8_in_use(client, collection))
        ):
            return {
                "points": points,
                "indexed_vectors": indexed,
                "segments": info.segments_count,
                "indexing_threshold_kb": info.config.optimizer_config.indexing_threshold,
                "quantization": quantisation.model_dump(mode="json") if quantisation else None,
            }
        time.sleep(0.5)
    raise TimeoutError(f"collection {collection} not optimised after {timeout_s:g} s")


def int8_in_use(client: QdrantClient, collection: str) -> bool:
    """A stored point searched for by its own vector without rescoring scores 1.0 exactly on float32 vectors and
    a little off it on int8 ones: proof that the quantised vectors exist and are searched."""
    records, _ = client.scroll(collection, limit=1, with_vectors=[DENSE])
    if not records:
        return True
    vector = records[0].vector
    assert isinstance(vector, dict)
    params = models.SearchParams(quantization=models.QuantizationSearchParams(rescore=False))
    found = client.query_points(collection, query=vector[DENSE], using=DENSE, limit=1, search_params=params)
    return bool(found.points) and abs(found.points[0].score - 1.0) > 1e-6


def _dense(info: models.CollectionInfo) -> dict[str, int]:
    vectors = info.config.params.vectors
    return {name: int(v.size) for name, v in vectors.items()} if isinstance(vectors, dict) else {}


def process_memory(pid: int) -> dict[str, int]:
    """The process's resident memory from /proc (bytes): all of it (VmRSS), its own allocations (RssAnon), the
    mapped files' pages it holds (RssFile: vectors and indexes Qdrant reads through mmap), and its peak (VmHWM)."""
    fields = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file", "RssShmem": "shmem", "VmHWM": "peak"}
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in fields:
            found[fields[key]] = int(value.split()[0]) * 1024
    return found


def disk_usage(root: Path) -> dict[str, int]:
    """Bytes on disk (allocated blocks) under ``root``, in total and by part: the write-ahead log, and inside
    each segment its vector storage, vector index (HNSW), payload storage, payload index, id tracker."""
    parts: dict[str, int] = defaultdict(int)
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        size = path.stat().st_blocks * 512
        parts["total"] += size
        parts[_part(path.relative_to(root).parts)] += size
    return dict(parts)


def _part(parts: tuple[str, ...]) -> str:
    if "wal" in parts:
        return "wal"
    if "segments" in parts:
        inside = parts[parts.index("segments") + 2 :]  # segments/<uuid>/<part>/...
        return inside[0] if len(inside) > 1 else "segment files"
    return "other"


def load_average() -> float:
    return round(os.getloadavg()[0], 2)
