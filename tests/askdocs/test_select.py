from __future__ import annotations

from collections.abc import Sequence

import pytest

from askdocs.errors import UnknownNameError
from askdocs.models import Hit
from askdocs.qa.select import SelectionParams, SelectorChain, join_in_order, mmr
from tests.chunks import make_chunk, make_hit

DOC = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota. Kappa lambda mu."


def words(texts: Sequence[str]) -> list[int]:
    return [len(t.split()) for t in texts]


def hit(pid: str, score: float, doc: str = "d", vector: list[float] | None = None, index: int = 0) -> Hit:
    return make_hit(pid, score, vector, doc_id=doc, chunk_index=index)


def chain(names: list[str], **params: float) -> SelectorChain:
    return SelectorChain(names, SelectionParams(**params), words)  # type: ignore[arg-type]


def test_threshold_top_k_and_budget() -> None:
    hits = [hit("a", 0.9), hit("b", 0.5), hit("c", 0.3), hit("d", 0.1)]
    assert [h.point_id for h in chain(["threshold", "top-k"], min_score=0.25).select(hits, 2)] == ["a", "b"]
    assert [h.point_id for h in chain(["budget"], max_tokens=7).select(hits, 10)] == ["a", "b"]  # 3 words each
    assert [h.point_id for h in chain(["budget"], max_tokens=1).select(hits, 10)] == ["a"]  # never empty


def test_mmr_prefers_a_different_passage_over_a_near_duplicate() -> None:
    hits = [hit("a", 0.9, vector=[1, 0]), hit("a2", 0.89, vector=[0.999, 0.045]), hit("b", 0.7, vector=[0, 1])]
    assert [h.point_id for h in mmr(hits, 2, 0.5)] == ["a", "b"]
    assert [h.point_id for h in mmr(hits, 2, 1.0)] == ["a", "a2"]  # lambda 1 = plain relevance


def test_per_document_cap() -> None:
    hits = [hit("a1", 0.9, "A"), hit("a2", 0.8, "A"), hit("b1", 0.7, "B"), hit("a3", 0.6, "A")]
    assert [h.point_id for h in chain(["per-doc"], max_per_doc=2).select(hits, 10)] == ["a1", "a2", "b1"]


def test_neighbours_join_adjacent_chunks_without_repeating_their_overlap() -> None:
    spans = [(0, 36), (18, 53), (37, 72)]  # each chunk overlaps the previous one by a sentence
    chunks = [
        Hit(make_chunk(f"c{i}", text=DOC[s:e], start=s, end=e, chunk_index=i), 0.0) for i, (s, e) in enumerate(spans)
    ]
    assert join_in_order(chunks) == DOC
    selector = SelectorChain(["neighbours"], SelectionParams(neighbour_window=1), words, lambda h, w: chunks)
    [expanded] = selector.select([Hit(chunks[1].chunk, 0.8, 0.8)], 5)
    assert expanded.answer_text == DOC and expanded.text == chunks[1].text and expanded.score == 0.8


def test_bad_names_and_parameters_are_refused() -> None:
    with pytest.raises(UnknownNameError, match="unknown context selector 'best'; available: budget, mmr"):
        chain(["best"])
    with pytest.raises(ValueError, match=r"mmr_lambda must be within \[0, 1\], got 2"):
        SelectionParams(mmr_lambda=2)
    with pytest.raises(ValueError, match="needs the index's neighbours lookup"):
        chain(["neighbours"])
