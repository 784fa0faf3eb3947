"""Hybrid search's fusion of its dense and sparse candidate lists, done here rather than in Qdrant's query API so
that the dense list can weigh more than the sparse one (Qdrant's DBSF and RRF weigh both lists the same) and both
adapters fuse identically.

- ``dbsf``: distribution-based score fusion, as Qdrant does it: each list's scores mapped to [0, 1] by its
  mean +- 3 standard deviations, then summed with the lists' weights.
- ``rrf``: reciprocal rank fusion, weight / (k + rank).

With ``dense_weight`` 1 these give Qdrant's own rankings (checked on the 10-Q set: the same recall figures).
docs/EVAL.md "Weighted fusion" says why the default weighs the dense list twice.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from askdocs.index.protocol import RRF_K
from askdocs.models import Fusion

Scored = tuple[Any, float]  # a point's id, as the engine gave it, and its score in one list


def fuse(
    dense: Sequence[Scored], sparse: Sequence[Scored], *, fusion: Fusion, dense_weight: float, limit: int
) -> list[Scored]:
    """The top ``limit`` of both lists fused, best first; a point found by both gets the sum. Ids and scores only:
    the adapters fetch the payloads and vectors of the points that survive (a few, not hundreds)."""
    scores: dict[Any, float] = {}
    for found, weight in ((dense, dense_weight), (sparse, 1.0)):
        for (key, _), score in zip(found, _scores(found, fusion), strict=True):
            scores[key] = scores.get(key, 0.0) + weight * score
    return heapq.nlargest(limit, scores.items(), key=itemgetter(1))  # ties keep the lists' order, as sorted does


def _scores(found: Sequence[Scored], fusion: Fusion) -> list[float]:
    if fusion == "rrf":
        return [1.0 / (RRF_K + rank) for rank in range(1, len(found) + 1)]
    raw = np.fromiter((score for _, score in found), dtype=np.float64, count=len(found))
    if len(raw) < 2 or raw.min() == raw.max():
        return [0.5] * len(raw)
    mean, sd = float(raw.mean()), float(raw.std())
    return ((raw - (mean - 3 * sd)) / (6 * sd)).tolist()
