"""Page-level retrieval: is the page that holds the answer among the top k sources (FinanceBench)?

Every question is asked through the service's own retrieval (``AnswerPipeline.retrieve``) over one index of all the
filings. Its top k hits are read as (document, page) and scored three ways, each a row of ranking metrics over
the rank of the first hit: ``[page]`` a gold evidence page itself, ``[page +-1]`` a page of the gold document
within one of a gold page (evidence that starts at the foot of a page), ``[doc]`` any page of the gold document.
A question with several evidence pages counts as found at its first one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from askdocs.components import make_pipeline
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.models import Hit
from askdocs.qa.pipeline import AnswerPipeline, AskOptions
from askdocs.settings import ChunkingSettings, LLMSettings, Settings
from evals.financebench import PageQuestion, PageSet
from evals.index_cache import DEFAULT_ROOT, BuiltIndex, built_index, index_key
from evals.metrics import percentile, ranking_metrics
from evals.retrieval import RetrievalPlan, StrategyResult

Progress = Callable[[str, int], Callable[[int], None]]
Found = tuple[str, int | None]  # a retrieved chunk as page-level scoring sees it: its document name and page
SCORES = ("page", "page +-1", "doc")


@dataclass(frozen=True, slots=True)
class PageRanks:
    """The rank (from 1) of the first hit on a gold page, within one page of one, and in the gold document."""

    page: int | None
    near: int | None
    doc: int | None

    def of(self, score: str) -> int | None:
        return {"page": self.page, "page +-1": self.near, "doc": self.doc}[score]


def page_ranks(question: PageQuestion, found: Sequence[Found]) -> PageRanks:
    gold = set(question.pages)
    docs = {question.doc, *(doc for doc, _ in question.pages)}

    def first(hit: Callable[[str, int | None], bool]) -> int | None:
        return next((rank for rank, (doc, page) in enumerate(found, start=1) if hit(doc, page)), None)

    def near(doc: str, page: int | None) -> bool:
        return page is not None and any(doc == d and abs(page - p) <= 1 for d, p in gold)

    return PageRanks(first(lambda d, p: (d, p) in gold), first(near), first(lambda d, p: d in docs))


@dataclass(slots=True)
class PagesRun:
    """What ``evaluate_pages`` measured: the rows, each question's ranks per row label, and the indexes used."""

    results: list[StrategyResult] = field(default_factory=list)
    ranks: dict[str, dict[str, list[int | None]]] = field(default_factory=dict)  # label -> qid -> ranks
    indexes: list[BuiltIndex] = field(default_factory=list)


def evaluate_pages(
    data: PageSet,
    plan: RetrievalPlan,
    settings: Settings,
    embedder: SentenceTransformerEmbedder,
    questions: Sequence[PageQuestion],
    cache: Path = DEFAULT_ROOT,
    progress: Progress = lambda label, total: lambda n: None,
) -> PagesRun:
    """Each chunker's index (built once, then reused from ``cache``), scored in every retrieval run of the plan."""
    run = PagesRun()
    for name in plan.chunkers:
        chunking = ChunkingSettings(chunker=name, chunk_size=plan.size, chunk_overlap=plan.overlap)
        key = index_key(data.fingerprint(), chunking, settings.embedding, embedder)
        built = built_index(data.name, data.pdfs, key, chunking, embedder, cache, progress)
        run.indexes.append(built)
        index = built.open()
        index.hybrid_factor = settings.retrieval.hybrid_factor
        try:
            base = settings.model_copy(update={"chunking": chunking, "llm": LLMSettings()})
            pipeline = make_pipeline(base, embedder, index)
            for mode, fusion, weight in plan.runs():
                index.fusion, index.dense_weight = fusion, weight
                label = plan.label(name, mode, fusion, weight)
                advance = progress(f"{label}: questions", len(questions))
                ranks, latency = _ranks(
                    pipeline, built, questions, AskOptions(top_k=plan.top_k, retrieval=mode), advance
                )
                for score in SCORES:
                    metrics = ranking_metrics([r.of(score) for r in ranks])
                    run.results.append(
                        StrategyResult(f"{label} [{score}]", metrics, built.chunks, built.ingest_s, latency)
                    )
                run.ranks[label] = {q.qid: [r.page, r.near, r.doc] for q, r in zip(questions, ranks, strict=True)}
        finally:
            index.close()
    return run


def summary(run: PagesRun, k: int) -> list[str]:
    """One line per retrieval run: page recall@k, page +-1 recall@k and doc recall@k."""
    lines = []
    for label, by_question in run.ranks.items():
        columns = list(zip(*by_question.values(), strict=True)) or [(), (), ()]
        recall = [sum(1 for r in ranks if r is not None and r <= k) / max(1, len(ranks)) for ranks in columns]
        lines.append(f"{label}: page recall@{k} {recall[0]:.3f}, page +-1 {recall[1]:.3f}, doc recall {recall[2]:.3f}")
    return lines


def _ranks(
    pipeline: AnswerPipeline,
    built: BuiltIndex,
    questions: Sequence[PageQuestion],
    options: AskOptions,
    advance: Callable[[int], None],
) -> tuple[list[PageRanks], float]:
    ranks, latencies = [], []
    for question in questions:
        retrieved = pipeline.retrieve(question.question, options)
        ranks.append(page_ranks(question, found_pages(retrieved.hits[: options.top_k or 10], built.names)))
        latencies.append(retrieved.timings.embed + retrieved.timings.search)
        advance(1)
    return ranks, percentile(latencies, 50)


def found_pages(hits: Sequence[Hit], names: dict[str, str]) -> list[Found]:
    """The hits as (document name, page); a document the index does not name keeps its doc_id."""
    return [(names.get(h.doc_id, h.doc_id), h.chunk.page) for h in hits]
