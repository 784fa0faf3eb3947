"""``askdocs eval retrieval``: how well each chunking strategy retrieves the gold answer's passage.

For every answerable question, a hit is a retrieved chunk (its answer context, for small-to-big) whose span in
the article holds a gold answer span. Each strategy ingests the articles through the real ingest pipeline
into a throwaway embedded index.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.edge import EdgeIndex
from askdocs.settings import ChunkingSettings
from askdocs.sparse import Bm25Encoder, Fusion, RetrievalMode
from evals.bm25 import Bm25Index
from evals.metrics import RankingMetrics, contains, percentile, ranking_metrics
from evals.squad import Dataset, EvalQuestion
from ingest.pipeline import Ingestor, build_chunker

Progress = Callable[[str, int], Callable[[int], None]]  # (label, total) -> advance(n)
LATENCY_SAMPLE = 200


@dataclass(frozen=True, slots=True)
class StrategyResult:
    name: str
    metrics: RankingMetrics
    chunks: int
    ingest_s: float
    query_p50_ms: float


def _no_progress(label: str, total: int) -> Callable[[int], None]:
    return lambda n: None


def span_of(payload: dict[str, Any]) -> tuple[int, int]:
    if payload.get("context_start") is not None:
        return int(payload["context_start"]), int(payload["context_end"])
    return int(payload["start"]), int(payload["end"])


def first_hit(question: EvalQuestion, payloads: Sequence[dict[str, Any]]) -> int | None:
    for rank, payload in enumerate(payloads, start=1):
        if payload.get("doc_id") == question.doc_id and contains(span_of(payload), question.spans):
            return rank
    return None


def evaluate_dense(
    dataset: Dataset,
    name: str,
    embedder: SentenceTransformerEmbedder,
    *,
    size: int,
    overlap: int,
    top_k: int,
    questions: Sequence[EvalQuestion],
    modes: Sequence[RetrievalMode] = ("dense",),
    per_article: bool = False,
    fusions: Sequence[Fusion] = ("dbsf",),
    progress: Progress = _no_progress,
) -> list[StrategyResult]:
    """Ingest once with the strategy, then score each retrieval mode on the same index."""
    chunking = ChunkingSettings(chunker=name, chunk_size=size, chunk_overlap=overlap)
    with tempfile.TemporaryDirectory(prefix=f"askdocs-eval-{name}-") as tmp:
        index = EdgeIndex(Path(tmp) / "shard")
        ingestor = Ingestor(embedder, index, chunking)
        advance = progress(f"{name}: ingest", len(dataset.documents))
        started = time.perf_counter()
        for document in dataset.documents:
            ingestor.ingest_document(document)
            advance(1)
        ingest_s = time.perf_counter() - started
        chunks = index.count()
        vectors = embedder.embed_queries([q.question for q in questions])
        results = []
        runs = [(m, f) for m in modes for f in (fusions if m == "hybrid" else fusions[:1])]
        for mode, fusion in runs:
            index.fusion = fusion
            label = name if mode == "dense" else f"{name} + {mode}"
            if mode == "hybrid" and len(fusions) > 1:
                label += f" ({fusion})"
            advance = progress(f"{label}: questions", len(questions))
            ranks = _ranks(index, questions, vectors, mode, top_k, per_article, advance)
            latency = _latency(index, embedder, questions[:LATENCY_SAMPLE], mode, top_k)
            results.append(StrategyResult(label, ranking_metrics(ranks), chunks, ingest_s, latency))
        index.close()
    return results


def _ranks(
    index: EdgeIndex,
    questions: Sequence[EvalQuestion],
    vectors: Any,
    mode: RetrievalMode,
    top_k: int,
    per_article: bool,
    advance: Callable[[int], None],
) -> list[int | None]:
    """Rank of the first hit per question; ``per_article`` restricts each search to the question's article."""
    sparse = Bm25Encoder()
    ranks: list[int | None] = []
    for question, vector in zip(questions, vectors, strict=True):
        query = sparse.encode_query(question.question) if mode != "dense" else None
        scope = {"doc_id": question.doc_id} if per_article else None
        hits = index.search(vector, top_k, filters=scope, sparse=query, mode=mode)
        ranks.append(first_hit(question, [h.payload for h in hits]))
        advance(1)
    return ranks


def _latency(
    index: EdgeIndex,
    embedder: SentenceTransformerEmbedder,
    questions: Sequence[EvalQuestion],
    mode: RetrievalMode,
    top_k: int,
) -> float:
    """p50 of embed + search, one question at a time, as the service does."""
    sparse = Bm25Encoder()
    latencies = []
    for question in questions:
        mark = time.perf_counter()
        query = sparse.encode_query(question.question) if mode != "dense" else None
        index.search(embedder.embed_query(question.question), top_k, sparse=query, mode=mode)
        latencies.append((time.perf_counter() - mark) * 1000)
    return percentile(latencies, 50)


def evaluate_bm25(
    dataset: Dataset,
    embedder: SentenceTransformerEmbedder,
    *,
    chunker_name: str,
    size: int,
    overlap: int,
    top_k: int,
    questions: Sequence[EvalQuestion],
    per_article: bool = False,
    progress: Progress = _no_progress,
) -> StrategyResult:
    chunker = build_chunker(chunker_name, embedder, size, overlap)
    with tempfile.TemporaryDirectory(prefix="askdocs-eval-bm25-") as tmp:
        index = Bm25Index(Path(tmp) / "shard")
        started = time.perf_counter()
        index.add(dataset.documents, chunker)
        ingest_s = time.perf_counter() - started
        advance = progress("bm25: questions", len(questions))
        ranks: list[int | None] = []
        latencies = []
        for question in questions:
            mark = time.perf_counter()
            payloads = index.search(question.question, top_k, question.doc_id if per_article else None)
            latencies.append((time.perf_counter() - mark) * 1000)
            ranks.append(first_hit(question, payloads))
            advance(1)
        chunks = index.chunks
        index.close()
    return StrategyResult(
        f"bm25 ({chunker_name} chunks)", ranking_metrics(ranks), chunks, ingest_s, percentile(latencies, 50)
    )
