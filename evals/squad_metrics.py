"""The official SQuAD 2.0 answer metrics, and how an askdocs answer becomes a SQuAD prediction.

``normalize_answer``, ``exact_match`` and ``f1`` follow the official ``evaluate-v2.0.py``: lower-case, strip ASCII
punctuation, drop the articles a/an/the, collapse white space; scores are maxed over the gold answers, and a
question without a (non-empty) gold answer has the empty string as its only correct prediction.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from askdocs.models import says_idk

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_CITATIONS = re.compile(r"\s*\[\d+\]")


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def prediction_text(answer: str) -> str:
    """An askdocs answer as a SQuAD prediction: citation markers removed, "I do not know." as the empty string."""
    text = " ".join(_CITATIONS.sub("", answer).split())
    return "" if says_idk(text) else text


def _golds(golds: Sequence[str]) -> list[str]:
    return [g for g in golds if normalize_answer(g)] or [""]


def _exact(gold: str, prediction: str) -> float:
    return float(normalize_answer(gold) == normalize_answer(prediction))


def _f1(gold: str, prediction: str) -> float:
    gold_tokens = normalize_answer(gold).split()
    predicted = normalize_answer(prediction).split()
    if not gold_tokens or not predicted:
        return float(gold_tokens == predicted)  # a no-answer scores 1 only against a no-answer
    same = sum((Counter(gold_tokens) & Counter(predicted)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    return max(_exact(gold, prediction) for gold in _golds(golds))


def f1(prediction: str, golds: Sequence[str]) -> float:
    return max(_f1(gold, prediction) for gold in _golds(golds))


def contains_gold(prediction: str, golds: Sequence[str]) -> bool:
    """A normalized gold answer occurs in the normalized prediction, on word boundaries: the bar for extractive
    answers, which are whole sentences (so "5" is not found in "1950"). False when there is no gold answer."""
    padded = f" {normalize_answer(prediction)} "
    return any(f" {gold} " in padded for gold in (normalize_answer(g) for g in golds) if gold)
