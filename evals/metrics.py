"""Ranking metrics over the rank of the first relevant result (1-based; None = not retrieved)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RankingMetrics:
    questions: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr: float
    ndcg_at_10: float


def ranking_metrics(ranks: Sequence[int | None]) -> RankingMetrics:
    """recall@k: share with a hit in the top k. MRR: mean 1/rank. nDCG@10 with one relevant item per question
    (the first hit), so ideal DCG is 1 and a hit at rank r scores 1/log2(r + 1)."""
    n = len(ranks)
    if n == 0:
        return RankingMetrics(0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def recall(k: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= k) / n

    mrr = sum(1 / r for r in ranks if r is not None) / n
    ndcg = sum(1 / math.log2(r + 1) for r in ranks if r is not None and r <= 10) / n
    return RankingMetrics(n, recall(1), recall(5), recall(10), mrr, ndcg)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, round(q) - 1))])


def contains(span: tuple[int, int], gold: Sequence[tuple[int, int]]) -> bool:
    """The retrieved span holds at least one gold answer span entirely."""
    start, end = span
    return any(start <= g_start and g_end <= end for g_start, g_end in gold)
