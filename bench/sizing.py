"""RAM and disk of a real Qdrant server per 100,000 askdocs chunks of 384 dimensions: float32, and scalar int8 in RAM
with the float32 originals on disk.

    .venv/bin/python -m bench.sizing [--points 100000] [--searches 3000] [--out docs/bench/sizing.json]

Each configuration gets a fresh node of the pinned Qdrant v1.16.3 binary (tests/qdrant.py, on 127.0.0.1) and one
collection made by askdocs' own server adapter (dense cosine + BM25 sparse, its payload indexes, its alias). The
points are askdocs' own: the articles of SQuAD 2.0 dev and PolicyQA dev cut by the ingest pipeline (structural
chunks of 200 tokens, overlap 40: the defaults), with their real BM25 vectors and payloads (text, heading path,
source, title, version, offsets), copied under distinct document ids until there are ``--points``; every other copy
carries an ACL and an origin. The dense vectors are random unit vectors (seeded): their values do not change the
size, and no model has to embed 100,000 chunks first.

Per configuration: the node's memory when empty; after writing and optimising (HNSW built); after a restart, once
ready (what loading costs); after a burst of ``--searches`` hybrid searches the way askdocs makes them (what warm
caches cost); and the storage folder on disk, by part. Memory is the qdrant process's resident set from /proc: its
own allocations (RssAnon) and the pages of mapped files it holds (RssFile).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from qdrant_client import QdrantClient

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.server import ServerIndex
from askdocs.models import Provenance
from askdocs.settings import ChunkingSettings
from askdocs.sparse import Bm25Encoder
from bench.qdrant_ops import disk_usage, load_average, physical, process_memory, quantise_int8, wait_optimised
from evals.metrics import percentile
from evals.provenance import commit
from evals.squad import Dataset, load_dataset
from ingest.pipeline import Ingestor
from tests.qdrant import VERSION, QdrantNode, qdrant_binary, start_node

ROOT = Path(__file__).resolve().parent.parent
DATASETS = (ROOT.parent / "shared" / "eval" / "squad2-dev.json", ROOT.parent / "shared" / "eval" / "policyqa-dev.json")
COLLECTION = "askdocs"
CONFIGS = ("float32", "int8")


class RandomVectors:
    """The real model's tokenizer (the chunkers count tokens with it) and seeded random unit vectors for passages."""

    def __init__(self, model: SentenceTransformerEmbedder, seed: int = 0) -> None:
        self._model = model
        self._random = np.random.default_rng(seed)
        self.name, self.model_id, self.dimension = model.name, model.model_id, model.dimension
        self.max_tokens = model.max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._model.count_tokens(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.unit(len(texts))

    def embed_query(self, text: str) -> np.ndarray:
        return self.unit(1)[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.unit(len(texts))

    def unit(self, n: int) -> np.ndarray:
        vectors = self._random.standard_normal((n, self.dimension)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=3000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    datasets = [load_dataset(path) for path in DATASETS]
    vectors = RandomVectors(SentenceTransformerEmbedder())
    report: dict[str, Any] = {
        "command": "python -m bench.sizing " + " ".join(sys.argv[1:]),
        "qdrant": VERSION,
        "commit": commit(),
        "dense_vectors": "random unit vectors (seeded), 384 dimensions; payloads and BM25 vectors real",
        "load_average_at_start": load_average(),
        "configs": {},
    }
    with tempfile.TemporaryDirectory(prefix="askdocs-sizing-") as tmp:
        for config in CONFIGS:
            report["configs"][config] = measure(config, Path(tmp) / config, datasets, vectors, args)
            print(json.dumps({config: report["configs"][config]}, indent=2), flush=True)
    report["load_average_at_end"] = load_average()
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


def measure(
    config: str, root: Path, datasets: list[Dataset], vectors: RandomVectors, args: argparse.Namespace
) -> dict[str, Any]:
    node = start_node(qdrant_binary(), root)
    try:
        assert node.process is not None
        empty = {"memory": process_memory(node.process.pid), "disk": disk_usage(root / "storage")}
        client = QdrantClient(url=node.url, timeout=120, check_compatibility=False)
        index = ServerIndex(client, COLLECTION, where=node.url)
        index.ensure_collection(vectors.dimension)
        name = physical(client, COLLECTION)
        if config == "int8":
            quantise_int8(client, name)
        started = time.perf_counter()
        copies = fill(index, datasets, vectors, args.points)
        written = wait_optimised(client, name) | {"copies": copies, "seconds": round(time.perf_counter() - started)}
        after_write = process_memory(node.process.pid)
        loaded, collection = restart(node, name)
        fresh = ServerIndex(QdrantClient(url=node.url, timeout=120, check_compatibility=False), COLLECTION)
        warm, latency = search_burst(fresh, vectors, datasets, args.searches, node)
        return {
            "load_average": load_average(),
            "collection": collection | {"write": written},
            "payload": payload_sizes(client, name),
            "memory_empty_node": empty["memory"],
            "memory_after_write": after_write,
            "memory_after_restart": loaded,
            "memory_warm": warm | {"searches": args.searches, **latency},
            "qdrant_metrics": qdrant_memory_metrics(node),
            "disk_empty_node": empty["disk"],
            "disk": disk_usage(root / "storage"),
        }
    finally:
        node.stop()


def fill(index: ServerIndex, datasets: list[Dataset], vectors: RandomVectors, points: int) -> int:
    """Copies of every article, each under its own document id, through askdocs' ingest pipeline, until the
    collection holds ``points`` chunks; returns the number of copies."""
    ingestor = Ingestor(vectors, index, ChunkingSettings())
    copy = 0
    while index.count() < points:
        provenance = Provenance("wiki", ("staff",)) if copy % 2 else Provenance("handbook", ())
        for dataset in datasets:
            for document in dataset.documents:
                doc_id, source = f"{document.doc_id}-copy{copy}", f"{document.source}?copy={copy}"
                ingestor.ingest_document(dataclasses.replace(document, doc_id=doc_id, source=source), provenance)
        copy += 1
    return copy


def restart(node: QdrantNode, collection: str) -> tuple[dict[str, int], dict[str, Any]]:
    """Stop and start the node on the same storage; its memory once it is ready and the collection loaded."""
    node.stop()
    node.start()
    node.wait_ready()
    client = QdrantClient(url=node.url, timeout=120, check_compatibility=False)
    info = wait_optimised(client, collection)
    assert node.process is not None
    return process_memory(node.process.pid), info


def search_burst(
    index: ServerIndex, vectors: RandomVectors, datasets: list[Dataset], searches: int, node: QdrantNode
) -> tuple[dict[str, int], dict[str, float]]:
    """Hybrid searches as askdocs makes them (top 5, the ACL filter of an anonymous caller or of a member of
    `staff`): the real questions' BM25 vectors, random dense vectors."""
    bm25 = Bm25Encoder()
    questions = [q.question for dataset in datasets for q in dataset.questions]
    seconds = []
    for i in range(searches):
        sparse = bm25.encode_query(questions[i % len(questions)])
        mark = time.perf_counter()
        index.search(vectors.unit(1)[0], 5, sparse=sparse, mode="hybrid", groups=("staff",) if i % 2 else ())
        seconds.append(time.perf_counter() - mark)
    assert node.process is not None
    return process_memory(node.process.pid), {
        "search_p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "search_p95_ms": round(percentile(seconds, 95) * 1000, 2),
    }


def payload_sizes(client: QdrantClient, collection: str, sample: int = 2000) -> dict[str, float]:
    records, _ = client.scroll(collection, limit=sample, with_payload=True)
    texts = [len(str((r.payload or {}).get("text", ""))) for r in records]
    blobs = [len(json.dumps(r.payload, ensure_ascii=False).encode()) for r in records]
    return {
        "sampled": len(records),
        "text_chars_mean": round(float(np.mean(texts)), 1),
        "text_chars_p10": round(percentile(texts, 10)),
        "text_chars_p90": round(percentile(texts, 90)),
        "payload_json_bytes_mean": round(float(np.mean(blobs)), 1),
    }


def qdrant_memory_metrics(node: QdrantNode) -> dict[str, float]:
    """Qdrant's own view (its allocator's counters, /metrics)."""
    found = {}
    for line in httpx.get(f"{node.url}/metrics", timeout=10).text.splitlines():
        if line.startswith("memory_") and " " in line:
            key, value = line.rsplit(" ", 1)
            found[key] = float(value)
    return found


if __name__ == "__main__":
    main()
