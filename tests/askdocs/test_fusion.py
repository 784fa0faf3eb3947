from __future__ import annotations

import pytest

from askdocs.index.fusion import fuse

DENSE = [("a", 0.80), ("b", 0.78), ("c", 0.60), ("d", 0.55)]
SPARSE = [("c", 14.0), ("e", 6.0), ("b", 5.5), ("f", 1.0)]


def test_dbsf_normalises_each_list_and_sums_a_chunk_found_by_both() -> None:
    fused = fuse(DENSE, SPARSE, fusion="dbsf", dense_weight=1.0, limit=10)
    assert [key for key, _ in fused][:2] == ["c", "b"]  # found by both lists
    assert len(fused) == 6 and len({key for key, _ in fused}) == 6
    assert 1.0 < fused[0][1] < 2.0  # two normalised scores, each within [0, 1]
    assert [score for _, score in fused] == sorted((score for _, score in fused), reverse=True)  # best first


def test_a_heavier_dense_list_lets_the_dense_top_hit_win() -> None:
    dense = [("a", 0.80), ("b", 0.50), ("c", 0.45), ("d", 0.40)]
    sparse = [("e", 20.0), ("f", 5.0), ("g", 4.0), ("h", 3.0)]
    even = fuse(dense, sparse, fusion="dbsf", dense_weight=1.0, limit=2)
    heavy = fuse(dense, sparse, fusion="dbsf", dense_weight=2.0, limit=2)
    assert [key for key, _ in even] == ["e", "a"]  # the BM25 outlier is further above its list's mean
    assert heavy[0][0] == "a"


def test_rrf_scores_are_reciprocal_ranks_and_limit_cuts() -> None:
    fused = fuse(DENSE, SPARSE, fusion="rrf", dense_weight=1.0, limit=3)
    assert len(fused) == 3
    assert fused[0][0] == "c" and fused[0][1] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[1][0] == "b" and fused[1][1] == pytest.approx(1 / 62 + 1 / 63)


def test_empty_and_single_lists() -> None:
    assert fuse([], [], fusion="dbsf", dense_weight=2.0, limit=5) == []
    only = fuse([("a", 0.5)], [], fusion="dbsf", dense_weight=2.0, limit=5)
    assert [key for key, _ in only] == ["a"] and only[0][1] == pytest.approx(1.0)
