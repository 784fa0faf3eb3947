"""What an operator reads at a glance: volume, answered vs "I do not know", ratings, latency, open questions."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from askdocs.store.interactions import Logged


@dataclass(frozen=True, slots=True)
class LogStats:
    questions: int
    per_day: dict[str, int]
    answered_share: float
    idk_share: float
    rated: int
    helpful: int
    not_helpful: int
    latency_ms: dict[str, dict[str, float]]  # mode -> {n, p50, p95} of the total time
    unanswered: list[dict[str, Any]] = field(default_factory=list)  # [{question, count}], most frequent first
    degraded: int = 0
    idk: int = 0  # "I do not know" answers


def log_stats(logged: Sequence[Logged], *, top: int = 10) -> LogStats:
    n = len(logged)
    idk = [item for item in logged if item.interaction.idk]
    ratings = Counter(item.feedback.rating for item in logged if item.feedback)
    by_day = Counter(_day(item.interaction.created_at) for item in logged)
    return LogStats(
        questions=n,
        per_day=dict(sorted(by_day.items())),
        answered_share=round((n - len(idk)) / n, 4) if n else 0.0,
        idk_share=round(len(idk) / n, 4) if n else 0.0,
        rated=sum(ratings.values()),
        helpful=ratings["helpful"],
        not_helpful=ratings["not_helpful"],
        latency_ms=_latency(logged),
        unanswered=_open_questions(idk, top),
        degraded=sum(item.interaction.degraded for item in logged),
        idk=len(idk),
    )


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def _latency(logged: Sequence[Logged]) -> dict[str, dict[str, float]]:
    times: dict[str, list[float]] = {}
    for item in logged:
        times.setdefault(item.interaction.mode, []).append(float(item.interaction.timings.get("total", 0.0)))
    return {mode: {"n": len(v), "p50": _pct(v, 50), "p95": _pct(v, 95)} for mode, v in sorted(times.items())}


def _pct(values: list[float], q: int) -> float:
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


def _open_questions(idk: Sequence[Logged], top: int) -> list[dict[str, Any]]:
    """Unanswered questions grouped by near-identical text (case, punctuation and spacing ignored); a redacted
    question is known by its hash."""
    groups: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for item in idk:
        text = item.interaction.question
        key = _normal(text) if text else f"sha256:{item.interaction.question_hash[:16]}"
        groups[key] += 1
        shown.setdefault(key, text or key)
    return [{"question": shown[k], "count": c} for k, c in groups.most_common(top)]


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
