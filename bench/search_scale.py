"""Search latency at scale, with the groups (ACL) filter, on both engines: the embedded one before and after its
HNSW graphs are built, and a real Qdrant server (the pinned v1.16.3 binary of tests/qdrant.py on 127.0.0.1).

    .venv/bin/python -m bench.search_scale [--edge 50000] [--server 50000,1000000] [--out docs/bench/search-scale.json]

Random unit vectors of 384 dimensions (seeded): their values do not change what a search costs, and no model has
to embed a million chunks first. Every 7th point carries ``acl: [hr]``, the rest none; every search asks as a
caller in group ``eng``, so the filter (public, or shared with ``eng``) is the one /ask sends for a signed-in
caller. Collections are made by askdocs' own code: ``EdgeIndex`` (its config and payload indexes) and
``askdocs.index.layout.create_collection`` (the server's). Searches go through ``EdgeIndex.search`` and
``ServerIndex.search`` (REST, as the service), dense, top 5. Recall@5 is against an exact search with the
same filter: random vectors are HNSW's hardest case. ``--real`` adds an embedded run on real vectors: the
sentences of a SQuAD-format set's paragraphs and its questions embedded by askdocs' model, searched with 200 of its
other questions (the recall HNSW gives on the vectors askdocs stores).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from askdocs.index.edge import EdgeIndex
from askdocs.index.layout import Layout, create_collection
from askdocs.index.points import ACL, DENSE
from askdocs.index.server import ServerIndex
from askdocs.models import Chunk
from bench.qdrant_ops import load_average
from bench.query_embed import sequential
from evals.metrics import percentile
from evals.provenance import commit
from tests.qdrant import VERSION, qdrant_binary, start_node

DIM = 384
GROUPS = ["eng"]
COLLECTION = "scale"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edge", default="50000", help="comma-separated point counts for the embedded engine")
    parser.add_argument("--server", default="50000,1000000", help="comma-separated point counts for the server")
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--real", type=Path, help="a SQuAD-format JSON: an embedded run on its embedded texts too")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report: dict[str, Any] = {"command": "python -m bench.search_scale", "commit": commit(), "runs": []}
    queries = unit_vectors(args.searches, seed=1)
    for n in _counts(args.edge):
        report["runs"] += edge_run(unit_vectors(n, seed=0), queries)
    if args.real:
        report["runs"] += edge_run(*real_vectors(args.real, args.searches), label="real vectors")
    for n in _counts(args.server):
        report["runs"].append(server_run(n, queries))
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


def _counts(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def unit_vectors(n: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def chunk(i: int) -> Chunk:
    acl = ("hr",) if i % 7 == 0 else ()
    return Chunk(_id(i), f"doc{i // 50}", f"s{i // 50}", "t", "text " * 40, "", i % 50, 50, "c", "v", "", acl=acl)


def figures(engine: str, points: int, ms: list[float], recall: float, **extra: Any) -> dict[str, Any]:
    row = {"engine": engine, "points": points, "p50_ms": round(percentile(ms, 50), 2)}
    row |= {"p95_ms": round(percentile(ms, 95), 2), "recall_at_5": round(recall, 3), "load_average": load_average()}
    print(row | extra, flush=True)
    return row | extra


def real_vectors(dataset: Path, searches: int) -> tuple[np.ndarray, np.ndarray]:
    """(stored, queries): the set's paragraph sentences and questions, but the first ``searches`` questions."""
    from askdocs.embedding import SentenceTransformerEmbedder

    data = json.loads(dataset.read_text(encoding="utf-8"))["data"]
    paragraphs = [p for article in data for p in article["paragraphs"]]
    questions = [qa["question"] for p in paragraphs for qa in p["qas"]]
    sentences = [s for p in paragraphs for s in p["context"].split(". ") if len(s) > 20]
    embedder = SentenceTransformerEmbedder()
    stored = embedder.embed_documents(sentences + questions[searches:])
    return stored, embedder.embed_queries(questions[:searches])


def edge_run(vectors: np.ndarray, queries: np.ndarray, label: str = "") -> list[dict[str, Any]]:
    """Search before and after the HNSW graphs are built (``close`` of a writer optimises; reopening loads them)."""
    n = len(vectors)
    rows = []
    with tempfile.TemporaryDirectory(prefix="askdocs-scale-") as folder:
        index = EdgeIndex(Path(folder) / "shard")
        index.ensure_collection(DIM)
        started = time.perf_counter()
        for at in range(0, n, 1000):
            index.upsert([chunk(i) for i in range(at, min(n, at + 1000))], vectors[at : at + 1000])
        upsert_s = time.perf_counter() - started
        exact = [_exact(vectors, q) for q in queries]
        for built in (False, True):
            if built:
                started = time.perf_counter()
                index.close()  # optimises: this instance wrote
                upsert_s = time.perf_counter() - started
            ms = sequential(lambda q: index.search(q, 5, groups=GROUPS), list(queries))
            recall = _recall([[h.chunk.point_id for h in index.search(q, 5, groups=GROUPS)] for q in queries], exact)
            kind = "embedded, HNSW built (optimised)" if built else "embedded, as written (no HNSW)"
            seconds = {"optimise_s" if built else "upsert_s": round(upsert_s, 1)}
            rows.append(figures(kind + (f", {label}" if label else ""), n, ms, recall, **seconds))
        index.close()
    return rows


def _exact(vectors: np.ndarray, query: np.ndarray) -> list[str]:
    visible = np.arange(len(vectors)) % 7 != 0
    scores = np.where(visible, vectors @ query, -np.inf)
    return [_id(int(i)) for i in np.argsort(-scores)[:5]]


def _id(i: int) -> str:
    return str(uuid.UUID(int=i))


def _recall(found: list[list[str]], exact: list[list[str]]) -> float:
    return float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact, strict=True)]))


def server_run(n: int, queries: np.ndarray) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="askdocs-scale-qdrant-") as folder:
        node = start_node(qdrant_binary(), Path(folder))
        try:
            client = QdrantClient(
                url=node.url, grpc_port=node.grpc_port, prefer_grpc=True, timeout=600, check_compatibility=False
            )
            create_collection(client, COLLECTION, DIM, Layout(), alias=None)
            started = time.perf_counter()
            for at in range(0, n, 2000):
                batch = unit_vectors(min(2000, n - at), seed=at + 7)
                ids = range(at, at + len(batch))
                payloads = [{ACL: ["hr"] if i % 7 == 0 else [], "doc_id": f"doc{i // 50}"} for i in ids]
                client.upload_collection(COLLECTION, {DENSE: batch}, payloads, list(ids), batch_size=500, wait=False)
            upload_s = time.perf_counter() - started
            indexed = wait_indexed(client, n)
            built_s = time.perf_counter() - started - upload_s
            rest = QdrantClient(url=node.url, timeout=60, check_compatibility=False)
            index = ServerIndex(rest, COLLECTION, physical=True)
            ms = sequential(lambda q: index.search(q, 5, groups=GROUPS), list(queries))
            found = [[h.chunk.point_id for h in index.search(q, 5, groups=GROUPS)] for q in queries[:50]]
            exact = [_server_exact(client, q) for q in queries[:50]]
            recall = _recall(found, exact)
            extra = {"upload_s": round(upload_s, 1), "index_wait_s": round(built_s, 1), "qdrant": VERSION}
            return figures("server", n, ms, recall, **extra, indexed=indexed)
        finally:
            node.stop()


def wait_indexed(client: QdrantClient, points: int, timeout_s: float = 3600) -> int:
    """Until every point is stored and the optimiser is idle (green, the indexed count still for 3 looks 2 s
    apart); the indexed count. Segments under Qdrant's indexing threshold stay unindexed, searched exhaustively.
    (``bench.qdrant_ops.wait_optimised`` also waits for BM25 vectors, which these points do not carry.)"""
    deadline, seen = time.monotonic() + timeout_s, []
    while time.monotonic() < deadline:
        info = client.get_collection(COLLECTION)
        green = info.status == models.CollectionStatus.GREEN and info.points_count == points
        seen = [*seen, info.indexed_vectors_count or 0][-3:] if green else []
        if len(seen) == 3 and len(set(seen)) == 1:
            return seen[0]
        time.sleep(2)
    raise TimeoutError(f"{COLLECTION}: not optimised after {timeout_s:g} s")


def _server_exact(client: QdrantClient, query: np.ndarray) -> list[str]:
    flt = models.Filter(
        must=[
            models.Filter(
                should=[
                    models.IsEmptyCondition(is_empty=models.PayloadField(key=ACL)),
                    models.FieldCondition(key=ACL, match=models.MatchAny(any=GROUPS)),
                ]
            )
        ]
    )
    points = client.query_points(
        COLLECTION,
        query.tolist(),
        using=DENSE,
        limit=5,
        query_filter=flt,
        search_params=models.SearchParams(exact=True),
    ).points
    return [str(p.id) for p in points]


if __name__ == "__main__":
    main()
