"""``askdocs eval abstain``: fit the extractive answer check on half of a SQuAD 2.0 set's articles, judge it on
the other half.

Articles at even positions in the file fit the check, those at odd positions are held out; no question of a
held-out article is seen while fitting or choosing the threshold. Each question is retrieved and answered once
(the draft extractive answer and its evidence kept), so the whole threshold sweep costs one pass.
The threshold is the lowest at which the check refuses ``target_noans`` of the fitting half's unanswerable
questions. ``askdocs eval answers --articles held-out`` then measures the shipped check through the real AnswerPipeline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from askdocs.components import make_pipeline
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import InputError
from askdocs.index.protocol import VectorIndex
from askdocs.qa.abstain import FEATURES, LogisticCheck, features
from askdocs.qa.extractive import ExtractiveGenerator
from askdocs.settings import Settings
from evals.answers import AnswerMetrics, mode_settings, score_answers
from evals.answers_report import markdown_table
from evals.provenance import environment_line, settings_in_force
from evals.squad import Dataset, EvalQuestion
from evals.squad_metrics import contains_gold, prediction_text

THRESHOLDS = tuple(round(0.3 + 0.025 * i, 3) for i in range(17))  # 0.3 .. 0.7


@dataclass(frozen=True, slots=True)
class Observed:
    question: EvalQuestion
    prediction: str  # the draft extractive answer as a SQuAD prediction ("" = nothing retrieved)
    features: np.ndarray | None  # None when no passage passed the relevance threshold


@dataclass(frozen=True, slots=True)
class CheckRow:
    threshold: float
    metrics: AnswerMetrics


def split_articles(dataset: Dataset) -> tuple[set[str], set[str]]:
    """(fitting, held-out) document ids: even and odd positions in the data set."""
    ids = [d.doc_id for d in dataset.documents]
    return set(ids[0::2]), set(ids[1::2])


def observe(
    settings: Settings,
    embedder: SentenceTransformerEmbedder,
    index: VectorIndex,
    questions: Sequence[EvalQuestion],
    advance: Callable[[int], None] = lambda n: None,
) -> list[Observed]:
    """Each question retrieved, selected and answered as the extractive AnswerPipeline does, before any check."""
    pipeline = make_pipeline(mode_settings(settings, "extractive"), embedder, index)
    generator = ExtractiveGenerator(embedder, stored=index.sentence_vectors)
    observed = []
    for question in questions:
        retrieved = pipeline.retrieve(question.question)
        if not retrieved.contexts:
            observed.append(Observed(question, "", None))
        else:
            draft, evidence = generator.draft(retrieved.query, retrieved.contexts)
            observed.append(Observed(question, prediction_text(draft.text), features(evidence)))
        advance(1)
    return observed


def fit(observed: Sequence[Observed], *, iterations: int = 4000, l2: float = 1e-3) -> LogisticCheck:
    """Logistic regression (gradient descent on standardised features) of "the draft is right" on the features:
    right = the question is answerable and the draft contains a gold answer. A wrong sentence for an answerable
    question is as much worth refusing as any answer to an unanswerable one. Threshold left at 0.5."""
    rows = [o for o in observed if o.features is not None]
    y = np.array([o.question.answerable and contains_gold(o.prediction, o.question.answers) for o in rows], float)
    if len(set(y.tolist())) < 2:
        raise InputError(
            "fitting the answer check needs both right drafts and wrong or unanswerable ones among the questions "
            "that retrieved passages; use a SQuAD 2.0-format set with unanswerable questions (or a larger --sample)"
        )
    x = np.stack([o.features for o in rows if o.features is not None])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / scale
    w, b = np.zeros(len(FEATURES)), 0.0
    for _ in range(iterations):
        gradient = 1.0 / (1.0 + np.exp(-(z @ w + b))) - y
        w -= 0.1 * (z.T @ gradient / len(y) + l2 * w)
        b -= 0.1 * float(gradient.mean())
    return LogisticCheck(tuple(mean.tolist()), tuple(scale.tolist()), tuple(w.tolist()), b, 0.5)


def predictions(check: LogisticCheck | None, observed: Sequence[Observed]) -> list[str]:
    """The answers the AnswerPipeline would give with ``check`` (None: no check): "" where it abstains."""
    if check is None:
        return [o.prediction for o in observed]
    return [
        o.prediction if o.features is not None and check.should_answer_features(o.features) else "" for o in observed
    ]


def sweep(
    check: LogisticCheck, observed: Sequence[Observed], thresholds: Sequence[float] = THRESHOLDS
) -> list[CheckRow]:
    questions = [o.question for o in observed]
    return [CheckRow(t, score_answers(questions, predictions(check.with_threshold(t), observed))) for t in thresholds]


def choose_threshold(check: LogisticCheck, observed: Sequence[Observed], target_noans: float) -> LogisticCheck:
    """The check with the lowest threshold (in steps of 0.005) that refuses ``target_noans`` of the unanswerable."""
    questions = [o.question for o in observed]
    for threshold in np.arange(0.0, 1.0005, 0.005):
        candidate = check.with_threshold(round(float(threshold), 3))
        if score_answers(questions, predictions(candidate, observed)).no_ans_accuracy >= target_noans:
            return candidate
    return check.with_threshold(1.0)


def relevance_sweep(observed: Sequence[Observed], thresholds: Sequence[float]) -> list[CheckRow]:
    """The baseline: abstain when the best passage's cosine is below the threshold (a stricter min_score)."""
    questions, top = [o.question for o in observed], FEATURES.index("top_relevance")
    rows = []
    for t in thresholds:
        answers = [o.prediction if o.features is not None and o.features[top] >= t else "" for o in observed]
        rows.append(CheckRow(t, score_answers(questions, answers)))
    return rows


# -- report ----------------------------------------------------------------------------------------------------
HEADER = ("rule", "NoAns accuracy", "HasAns contains gold", 'HasAns "I do not know"', "EM", "F1")


def cells(rule: str, m: AnswerMetrics) -> list[str]:
    values = (m.no_ans_accuracy, m.has_ans_contains_gold, m.has_ans_abstained, m.exact, m.f1)
    return [rule, *(f"{v:.3f}" for v in values)]


def report_rows(
    check: LogisticCheck, observed: Sequence[Observed], baseline: Sequence[float] = (0.4, 0.45, 0.5, 0.55)
) -> list[list[str]]:
    """The held-out figures: no check, the chosen check, its sweep, and relevance thresholds for comparison."""
    questions = [o.question for o in observed]
    rows = [cells("no check (min_score only)", score_answers(questions, predictions(None, observed)))]
    rows.append(
        cells(
            f"check, threshold {check.threshold:.3f} (chosen)", score_answers(questions, predictions(check, observed))
        )
    )
    rows += [cells(f"check, threshold {r.threshold:.3f}", r.metrics) for r in sweep(check, observed)]
    rows += [cells(f"top passage cosine >= {r.threshold:.2f}", r.metrics) for r in relevance_sweep(observed, baseline)]
    return rows


def markdown(rows: Sequence[Sequence[str]]) -> str:
    return markdown_table(HEADER, rows)


def write_report(
    out: Path, dataset: str, command: str, setup: str, check: LogisticCheck, rows: Sequence[Sequence[str]]
) -> list[Path]:
    """The held-out table as Markdown, and as JSON with the fitted check."""
    out.mkdir(parents=True, exist_ok=True)
    md, data = out / f"abstain-{dataset}.md", out / f"abstain-{dataset}.json"
    record = settings_in_force()
    md.write_text(f"`{command}`\n\n{environment_line(record)}\n\n{setup}\n\n{markdown(rows)}\n")
    body = {"command": command, "settings_in_force": record, "setup": setup, "check": asdict(check), "rows": rows}
    data.write_text(json.dumps(body, indent=1))
    return [md, data]
