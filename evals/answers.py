"""``askdocs eval answers``: the service's answers scored with the SQuAD 2.0 metrics, per answer mode.

The articles are ingested once, with the configured chunker, through the real ingest pipeline into a throwaway
embedded index; each mode then answers every selected question, answerable and not, through the real AnswerPipeline.
``sweep_min_score`` re-scores extractive answers under other relevance thresholds from one retrieval pass.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

from askdocs.components import make_pipeline
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import ConfigError, UnknownNameError
from askdocs.index.edge import EdgeIndex
from askdocs.index.protocol import VectorIndex
from askdocs.models import AnswerMode
from askdocs.qa.extractive import ExtractiveGenerator
from askdocs.qa.pipeline import AnswerPipeline
from askdocs.qa.select import default_selector
from askdocs.settings import Settings
from evals.metrics import percentile
from evals.retrieval import Progress
from evals.squad import Dataset, EvalQuestion
from evals.squad_metrics import contains_gold, exact_match, f1, prediction_text
from ingest.pipeline import Ingestor

MODES: tuple[AnswerMode, ...] = get_args(AnswerMode)
SWEEP_THRESHOLDS = tuple(round(0.15 + 0.05 * i, 2) for i in range(8))  # 0.15 .. 0.5


@dataclass(frozen=True, slots=True)
class AnswerMetrics:
    questions: int
    exact: float
    f1: float
    has_ans: int
    has_ans_exact: float
    has_ans_f1: float
    has_ans_contains_gold: float
    has_ans_abstained: float  # share of answerable questions answered "I do not know"
    no_ans: int
    no_ans_accuracy: float  # share of unanswerable questions answered "I do not know"


@dataclass(frozen=True, slots=True)
class ModeResult:
    mode: str
    metrics: AnswerMetrics
    tokens_per_question: float  # prompt + completion, mean over every question asked
    prompt_tokens: float
    completion_tokens: float
    latency_p50_ms: float
    latency_p95_ms: float
    degraded: int
    predictions: dict[str, str] = field(repr=False)  # question id -> SQuAD prediction ("" = no answer)


@dataclass(frozen=True, slots=True)
class SweepRow:
    min_score: float
    metrics: AnswerMetrics


def _no_progress(label: str, total: int) -> Callable[[int], None]:
    return lambda n: None


def select_questions(
    questions: Sequence[EvalQuestion], *, limit: int | None = None, sample: int | None = None, seed: int = 0
) -> list[EvalQuestion]:
    """A seeded random ``sample`` over all questions (so it keeps the set's answerable/unanswerable mix), in the
    data set's order, then the first ``limit`` of those."""
    chosen = list(questions)
    if sample is not None and sample < len(chosen):
        keep = sorted(random.Random(seed).sample(range(len(chosen)), sample))
        chosen = [chosen[i] for i in keep]
    return chosen[:limit] if limit is not None else chosen


def score_answers(questions: Sequence[EvalQuestion], predictions: Sequence[str]) -> AnswerMetrics:
    """SQuAD 2.0 scores of predictions (already through ``prediction_text``), overall and per half."""
    pairs = list(zip(questions, predictions, strict=True))
    has = [(q, p) for q, p in pairs if q.answerable]
    no = [p for q, p in pairs if not q.answerable]
    return AnswerMetrics(
        questions=len(pairs),
        exact=_mean(exact_match(p, q.answers) for q, p in pairs),
        f1=_mean(f1(p, q.answers) for q, p in pairs),
        has_ans=len(has),
        has_ans_exact=_mean(exact_match(p, q.answers) for q, p in has),
        has_ans_f1=_mean(f1(p, q.answers) for q, p in has),
        has_ans_contains_gold=_mean(contains_gold(p, q.answers) for q, p in has),
        has_ans_abstained=_mean(not p for _, p in has),
        no_ans=len(no),
        no_ans_accuracy=_mean(not p for p in no),
    )


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def mode_settings(settings: Settings, mode: str) -> Settings:
    """The settings an AnswerPipeline answers ``mode`` with: the LLM forced off for extractive, required otherwise."""
    if mode not in MODES:
        raise UnknownNameError("answer mode", mode, list(MODES))
    if mode == "extractive":
        return settings.model_copy(update={"llm": settings.llm.model_copy(update={"base_url": None, "api_key": None})})
    if not settings.llm.enabled:
        raise ConfigError(
            f"answer mode {mode!r} needs an OpenAI-compatible LLM endpoint: set ASKDOCS_LLM__BASE_URL "
            "(and ASKDOCS_LLM__API_KEY if the endpoint needs a key), or evaluate --mode extractive"
        )
    return settings.model_copy(update={"llm": settings.llm.model_copy(update={"mode": mode})})


class PipelineFactory:
    """Builds the AnswerPipeline for each answer mode from one settings tree and the loaded embedding model."""

    def __init__(self, settings: Settings, embedder: SentenceTransformerEmbedder) -> None:
        self.settings = settings
        self.embedder = embedder

    def __call__(self, mode: str, index: VectorIndex) -> AnswerPipeline:
        return make_pipeline(mode_settings(self.settings, mode), self.embedder, index)


@contextmanager
def ingested(dataset: Dataset, factory: PipelineFactory, progress: Progress = _no_progress) -> Iterator[EdgeIndex]:
    """The data set's articles in a throwaway embedded index, chunked as configured."""
    c = factory.settings.chunking
    with tempfile.TemporaryDirectory(prefix="askdocs-eval-answers-") as tmp:
        index = EdgeIndex(Path(tmp) / "shard", hybrid_factor=factory.settings.retrieval.hybrid_factor)
        try:
            ingestor = Ingestor(factory.embedder, index, c)
            advance = progress(f"{c.chunker}: ingest", len(dataset.documents))
            for document in dataset.documents:
                ingestor.ingest_document(document)
                advance(1)
            yield index
        finally:
            index.close()


def evaluate_answers(
    dataset: Dataset,
    pipeline_factory: PipelineFactory,
    modes: Sequence[str],
    questions: Sequence[EvalQuestion],
    progress: Progress = _no_progress,
    *,
    index: VectorIndex | None = None,
) -> list[ModeResult]:
    """Ask every question in each mode over one index (``index``, or the data set ingested here)."""
    for mode in modes:
        mode_settings(pipeline_factory.settings, mode)  # a missing LLM fails before the slow ingest
    with ExitStack() as stack:
        if index is None:
            index = stack.enter_context(ingested(dataset, pipeline_factory, progress))
        return [
            _run_mode(mode, pipeline_factory(mode, index), questions, progress(f"{mode}: questions", len(questions)))
            for mode in modes
        ]


def _run_mode(
    mode: str, pipeline: AnswerPipeline, questions: Sequence[EvalQuestion], advance: Callable[[int], None]
) -> ModeResult:
    predictions, latencies, prompt, completion, degraded = [], [], [], [], 0
    for question in questions:
        result = pipeline.ask(question.question)
        predictions.append(prediction_text(result.answer.text))
        latencies.append(result.answer.timings_ms.total)
        prompt.append(result.prompt_tokens)
        completion.append(result.completion_tokens)
        degraded += result.degraded
        advance(1)
    n = max(1, len(questions))
    return ModeResult(
        mode,
        score_answers(questions, predictions),
        (sum(prompt) + sum(completion)) / n,
        sum(prompt) / n,
        sum(completion) / n,
        percentile(latencies, 50),
        percentile(latencies, 95),
        degraded,
        {q.qid: p for q, p in zip(questions, predictions, strict=True)},
    )


def sweep_min_score(
    dataset: Dataset,
    pipeline_factory: PipelineFactory,
    questions: Sequence[EvalQuestion],
    thresholds: Sequence[float] = SWEEP_THRESHOLDS,
    progress: Progress = _no_progress,
    *,
    index: VectorIndex | None = None,
) -> list[SweepRow]:
    """Extractive answers under each ``min_score``, from one retrieval pass per question: the hits are kept and
    re-selected per threshold, and the answer is generated once per distinct set of selected passages."""
    settings = mode_settings(pipeline_factory.settings, "extractive")
    embedder, r = pipeline_factory.embedder, settings.retrieval
    selectors = [default_selector(t, r.max_context_tokens, embedder.count_tokens) for t in thresholds]
    columns: list[list[str]] = [[] for _ in thresholds]
    with ExitStack() as stack:
        if index is None:
            index = stack.enter_context(ingested(dataset, pipeline_factory, progress))
        pipeline = pipeline_factory("extractive", index)
        generator = ExtractiveGenerator(embedder, stored=index.sentence_vectors)
        advance = progress("min-score sweep: questions", len(questions))
        for question in questions:
            retrieved = pipeline.retrieve(question.question)
            query, hits = retrieved.query, retrieved.hits
            answers: dict[tuple[str, ...], str] = {}  # selected passages -> answer
            for column, selector in zip(columns, selectors, strict=True):
                contexts = selector.select(hits, r.top_k)
                key = tuple(h.point_id for h in contexts)
                if key not in answers:
                    answers[key] = generator.generate(query, contexts).text if contexts else ""
                column.append(prediction_text(answers[key]))
            advance(1)
    return [SweepRow(t, score_answers(questions, column)) for t, column in zip(thresholds, columns, strict=True)]


# -- report: modes side by side, the sweep one threshold a row --------------------------------------------------
