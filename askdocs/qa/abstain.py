"""Knowing when not to answer: does the best sentence found really answer the question?

Retrieval always finds *something*, and a relevance threshold alone cannot tell "the documents say" from "the
documents talk about the same thing": on SQuAD 2.0 a threshold that refuses 60% of the unanswerable questions
also refuses most answerable ones. So the extractive answer is checked once more, at the sentence level: how close
the best sentences are to the question, how many of the question's words, names and numbers the passage and
the sentence hold, and whether one of them is negated and the other not. A small logistic model over those
signals gives the probability that the answer holds what was asked; below the threshold the service says
"I do not know".

The weights are fitted by ``askdocs eval abstain`` on half the articles of SQuAD 2.0 dev and shipped in
``abstain.json``; its figures on the other half are in docs/EVAL.md. SQuAD's questions were written while reading
the paragraph, so they share its words; real questions paraphrase ("holiday left from last year" for "carry-over
of annual leave"), and the check refuses most of them. It is therefore off unless ASKDOCS_EXTRACTIVE__CHECK is set.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

from askdocs.errors import ConfigError
from askdocs.models import Hit

_WORD = re.compile(r"[a-z0-9]+")
# Capitalised words past the first and numbers: the names and figures an answer has to be about.
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b([A-Z][a-z]+|\d+)")
_STOP_WORDS = (
    "a an the of in on at to for by with from and or is are was were be been what which who whom whose when where "
    "why how did does do that this these those it its as into than then there their they he she his her not no"
)
_STOP = frozenset(_STOP_WORDS.split())
_NEGATION = re.compile(r"\b(not|never|no|none|without|cannot)\b|n't\b")


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the extractive answer was drawn from: the question, the passages, their sentences and cosines."""

    question: str
    contexts: Sequence[Hit]
    sentences: Sequence[str]  # the candidate sentences, best passages first
    cosines: np.ndarray  # each sentence's cosine to the question


FEATURES = (
    "top_relevance",  # cosine of the best passage
    "best_sentence",  # cosine of the best sentence
    "second_sentence",
    "second_relevance",  # cosine of the second passage
    "passages",  # how many passages were selected
    "words_in_passage",  # share of the question's content words in the best passage
    "words_in_sentence",  # ... in the best sentence
    "words_missing",  # how many are not in the best passage
    "names_in_passage",  # share of the question's names and numbers in the best passage
    "names_missing",
    "negation_differs",  # one of question and best sentence is negated, the other not
)


def features(evidence: Evidence) -> np.ndarray:
    """The signals, in the order of FEATURES."""
    cosines = np.sort(np.asarray(evidence.cosines, dtype=np.float64))[::-1]
    contexts = evidence.contexts
    best = evidence.sentences[int(np.argmax(evidence.cosines))] if len(evidence.sentences) else ""
    passage = contexts[0].answer_text if contexts else ""
    asked = set(content_words(evidence.question))
    in_passage, in_best = set(content_words(passage)), set(content_words(best))
    names = {n.lower() for n in _NAME.findall(evidence.question)}
    passage_words = set(_WORD.findall(passage.lower()))
    return np.array(
        [
            contexts[0].relevance if contexts else 0.0,
            cosines[0] if len(cosines) else 0.0,
            cosines[1] if len(cosines) > 1 else 0.0,
            contexts[1].relevance if len(contexts) > 1 else 0.0,
            len(contexts),
            _share(asked, in_passage),
            _share(asked, in_best),
            len(asked - in_passage),
            _share(names, passage_words),
            len(names - passage_words),
            float(bool(_NEGATION.search(evidence.question.lower())) != bool(_NEGATION.search(best.lower()))),
        ],
        dtype=np.float64,
    )


def content_words(text: str) -> list[str]:
    """The words that say what a text is about: lower case, stop words and single letters left out."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def _share(wanted: set[str], found: set[str]) -> float:
    return len(wanted & found) / len(wanted) if wanted else 1.0


class AnswerCheck(Protocol):
    """Decides whether an extractive answer drawn from this evidence should be given."""

    def should_answer(self, evidence: Evidence) -> bool: ...


@dataclass(frozen=True, slots=True)
class LogisticCheck:
    """p(right) = sigmoid(w · (x - mean) / scale + bias); answer when p >= threshold."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    features: tuple[str, ...] = FEATURES
    fitted_on: str = ""

    def __post_init__(self) -> None:
        n = len(self.features)
        if tuple(self.features) != FEATURES:
            raise ValueError(
                f"the check was fitted on features {list(self.features)}, this version computes {FEATURES}"
            )
        if not (len(self.mean) == len(self.scale) == len(self.weights) == n):
            raise ValueError(f"mean, scale and weights must each have {n} values")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], got {self.threshold}")

    def probability(self, x: np.ndarray) -> np.ndarray | float:
        """p(the answer is right) for one feature vector or a matrix of them (one row each)."""
        z = (np.asarray(x) - np.array(self.mean)) / np.array(self.scale)
        return 1.0 / (1.0 + np.exp(-(z @ np.array(self.weights) + self.bias)))

    def should_answer(self, evidence: Evidence) -> bool:
        return self.should_answer_features(features(evidence))

    def should_answer_features(self, x: np.ndarray) -> bool:
        return float(self.probability(x)) >= self.threshold

    def with_threshold(self, threshold: float) -> LogisticCheck:
        return LogisticCheck(self.mean, self.scale, self.weights, self.bias, threshold, self.features, self.fitted_on)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path | None = None) -> LogisticCheck:
        """The check in ``path``, or the one shipped with askdocs."""
        try:
            raw = path.read_text("utf-8") if path else resources.files(__package__).joinpath("abstain.json").read_text()
            data = json.loads(raw)
            return cls(
                mean=tuple(float(v) for v in data["mean"]),
                scale=tuple(float(v) for v in data["scale"]),
                weights=tuple(float(v) for v in data["weights"]),
                bias=float(data["bias"]),
                threshold=float(data["threshold"]),
                features=tuple(str(v) for v in data["features"]),
                fitted_on=str(data.get("fitted_on", "")),
            )
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"cannot load the answer check {path or 'abstain.json'}: {exc}") from exc
