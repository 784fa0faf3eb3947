"""``askdocs eval retrieval``: how well each chunking strategy retrieves the gold answer's passage.

For every answerable question, a hit is a retrieved chunk (its answer context, for small-to-big) whose span in
the article holds a gold answer span. Each strategy ingests the articles through the real ingest pipeline
into a throwaway embedded index.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from askdocs.components import make_pipeline
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.edge import EdgeIndex
from askdocs.models import Fusion, Hit, RetrievalMode
from askdocs.qa.pipeline import AnswerPipeline, AskOptions
from askdocs.settings import DEFAULT_DENSE_WEIGHT, ChunkingSettings, LLMSettings, Settings
from evals.bm25 import Bm25Index
from evals.metrics import RankingMetrics, contains, percentile, ranking_metrics
from evals.squad import Dataset, EvalQuestion
from ingest.chunking import build_chunker
from ingest.pipeline import Ingestor

Progress = Callable[[str, int], Callable[[int], None]]  # (label, total) -> advance(n)


@dataclass(frozen=True, slots=True)
class StrategyResult:
    name: str
    metrics: RankingMetrics
    chunks: int
    ingest_s: float
    query_p50_ms: float


def _no_progress(label: str, total: int) -> Callable[[int], None]:
    return lambda n: None


Found = tuple[str, tuple[int, int]]  # a retrieved chunk as the metric sees it: its doc_id and answer span


def first_hit(question: EvalQuestion, found: Sequence[Found]) -> int | None:
    """The rank of the first retrieved chunk of the question's document whose span holds a gold answer (any
    chunk of a gold document when the question's gold is document-level)."""
    if question.gold_docs:
        return first_document_hit(question.gold_docs, found)
    for rank, (doc_id, span) in enumerate(found, start=1):
        if doc_id == question.doc_id and contains(span, question.spans):
            return rank
    return None


def first_document_hit(gold: Sequence[str], found: Sequence[Found]) -> int | None:
    """The rank of the first retrieved chunk of any gold document."""
    return next((rank for rank, (doc_id, _) in enumerate(found, start=1) if doc_id in gold), None)


def grouped(
    dataset: Dataset, label: str, questions: Sequence[EvalQuestion], ranks: Sequence[int | None]
) -> list[tuple[str, RankingMetrics]]:
    """The row over all questions, then one per question group of the data set (e.g. ``[single-doc]``)."""
    rows = [(label, ranking_metrics(ranks))]
    for group, ids in dataset.groups.items():
        subset = [r for q, r in zip(questions, ranks, strict=True) if q.qid in ids]
        rows.append((f"{label} [{group}]", ranking_metrics(subset)))
    return rows


def found_in(hits: Sequence[Hit]) -> list[Found]:
    return [(h.doc_id, h.chunk.span) for h in hits]


@dataclass(frozen=True, slots=True)
class RetrievalPlan:
    """What one ``askdocs eval retrieval`` run compares: chunkers x retrieval modes (x fusions for hybrid)."""

    chunkers: Sequence[str]
    size: int
    overlap: int
    top_k: int = 10
    modes: Sequence[RetrievalMode] = ("dense",)
    fusions: Sequence[Fusion] = ("dbsf",)
    dense_weights: Sequence[float] = (DEFAULT_DENSE_WEIGHT,)
    per_article: bool = False
    bm25: bool = False

    def runs(self) -> list[tuple[RetrievalMode, Fusion, float]]:
        """Each mode once; hybrid once per fusion and dense weight."""
        hybrid = [(f, w) for f in self.fusions for w in self.dense_weights]
        return [(m, f, w) for m in self.modes for f, w in (hybrid if m == "hybrid" else hybrid[:1])]

    def label(self, name: str, mode: RetrievalMode, fusion: Fusion, weight: float) -> str:
        label = name if mode == "dense" else f"{name} + {mode}"
        if mode != "hybrid":
            return label
        how: list[str] = [fusion] if len(self.fusions) > 1 else []
        how += [f"dense x{weight:g}"] if len(self.dense_weights) > 1 else []
        return label + (f" ({', '.join(how)})" if how else "")


def evaluate(
    dataset: Dataset,
    plan: RetrievalPlan,
    settings: Settings,
    embedder: SentenceTransformerEmbedder,
    questions: Sequence[EvalQuestion],
    progress: Progress = _no_progress,
) -> list[StrategyResult]:
    """Every strategy's rows, then the BM25 floor over the first strategy's chunks (when asked for)."""
    rows = [
        row
        for name in plan.chunkers
        for row in evaluate_dense(dataset, name, embedder, plan, questions, settings=settings, progress=progress)
    ]
    if plan.bm25:
        rows.append(evaluate_bm25(dataset, embedder, plan, questions, progress))
    return rows


def evaluate_models(
    dataset: Dataset,
    plan: RetrievalPlan,
    settings: Settings,
    models: Sequence[tuple[str, SentenceTransformerEmbedder]],
    questions: Sequence[EvalQuestion],
    progress: Progress = _no_progress,
) -> list[StrategyResult]:
    """``evaluate`` once per (label, embedder), each row named ``label: row`` (the BM25 floor once, last)."""
    rows = []
    for label, embedder in models:
        dense = dataclasses.replace(plan, bm25=False)
        for row in evaluate(dataset, dense, settings, embedder, questions, _labelled(label, progress)):
            rows.append(dataclasses.replace(row, name=f"{label}: {row.name}"))
    if plan.bm25:
        rows.append(evaluate_bm25(dataset, models[0][1], plan, questions, progress))
    return rows


def _labelled(label: str, progress: Progress) -> Progress:
    return lambda name, total: progress(f"{label}: {name}", total)


def evaluate_dense(
    dataset: Dataset,
    name: str,
    embedder: SentenceTransformerEmbedder,
    plan: RetrievalPlan,
    questions: Sequence[EvalQuestion],
    *,
    settings: Settings | None = None,
    progress: Progress = _no_progress,
) -> list[StrategyResult]:
    """Ingest once with the strategy, then score each retrieval mode on the same index, through the service's
    own retrieval (``AnswerPipeline.retrieve``) with ``settings`` (the LLM off: no query rewriting)."""
    chunking = ChunkingSettings(chunker=name, chunk_size=plan.size, chunk_overlap=plan.overlap)
    base = (settings or Settings()).model_copy(update={"chunking": chunking, "llm": LLMSettings()})
    with tempfile.TemporaryDirectory(prefix=f"askdocs-eval-{name}-") as tmp:
        index = EdgeIndex(Path(tmp) / "shard", hybrid_factor=base.retrieval.hybrid_factor)
        ingestor = Ingestor(embedder, index, chunking)
        advance = progress(f"{name}: ingest", len(dataset.documents))
        started = time.perf_counter()
        for document in dataset.documents:
            ingestor.ingest_document(document)
            advance(1)
        ingest_s = time.perf_counter() - started
        chunks = index.count()
        pipeline = make_pipeline(base, embedder, index)
        results = []
        for mode, fusion, weight in plan.runs():
            index.fusion, index.dense_weight = fusion, weight
            label = plan.label(name, mode, fusion, weight)
            ranks, latency = _ranks(pipeline, plan, mode, questions, progress(f"{label}: questions", len(questions)))
            for row, metrics in grouped(dataset, label, questions, ranks):
                results.append(StrategyResult(row, metrics, chunks, ingest_s, latency))
        index.close()
    return results


def _ranks(
    pipeline: AnswerPipeline,
    plan: RetrievalPlan,
    mode: RetrievalMode,
    questions: Sequence[EvalQuestion],
    advance: Callable[[int], None],
) -> tuple[list[int | None], float]:
    """Rank of the first hit per question, and the p50 of embed + search; ``per_article`` restricts each search
    to the question's article."""
    ranks: list[int | None] = []
    latencies = []
    for question in questions:
        scope = {"doc_id": question.doc_id} if plan.per_article else None
        retrieved = pipeline.retrieve(question.question, AskOptions(top_k=plan.top_k, filters=scope, retrieval=mode))
        ranks.append(first_hit(question, found_in(retrieved.hits[: plan.top_k])))
        latencies.append(retrieved.timings.embed + retrieved.timings.search)
        advance(1)
    return ranks, percentile(latencies, 50)


def evaluate_bm25(
    dataset: Dataset,
    embedder: SentenceTransformerEmbedder,
    plan: RetrievalPlan,
    questions: Sequence[EvalQuestion],
    progress: Progress = _no_progress,
) -> StrategyResult:
    """Plain BM25 over the first strategy's chunks: the lexical floor."""
    name = plan.chunkers[0]
    chunker = build_chunker(name, embedder, plan.size, plan.overlap)
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
            found = index.search(question.question, plan.top_k, question.doc_id if plan.per_article else None)
            latencies.append((time.perf_counter() - mark) * 1000)
            ranks.append(first_hit(question, found))
            advance(1)
        chunks = index.chunks
        index.close()
    return StrategyResult(f"bm25 ({name} chunks)", ranking_metrics(ranks), chunks, ingest_s, percentile(latencies, 50))
