from __future__ import annotations

import pytest

from askdocs.models import Source
from askdocs.qa.citations import Citations, cite_sources, is_uncited, resolve_citations


def source(n: int) -> Source:
    return Source(n=n, title=f"doc {n}", url_or_path=f"/docs/{n}.html", page=None, heading="", score=0.5, snippet="")


def test_valid_markers_are_kept_when_already_in_order() -> None:
    assert resolve_citations("You get 25 days [1]. Carry over 5 [2].", 3) == Citations(
        "You get 25 days [1]. Carry over 5 [2].", (1, 2, 3), 2
    )


def test_cited_passages_come_first_and_markers_follow_them() -> None:
    citations = resolve_citations("Travel is booked in Concur [3]. Expenses within 30 days [1][3].", 4)
    assert citations == Citations("Travel is booked in Concur [1]. Expenses within 30 days [2][1].", (3, 1, 2, 4), 2)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("You get 25 days [7].", "You get 25 days."),
        ("You get 25 days [0] [2].", "You get 25 days [1]."),
        ("You get [9] 25 days [2].", "You get 25 days [1]."),
        ("[12] You get 25 days [2].", "You get 25 days [1]."),
        ("Intro:\n[9] - 25 days [2]\n- 5 carried over", "Intro:\n- 25 days [1]\n- 5 carried over"),
        ("25 days [2] [9].", "25 days [1]."),
        ("25 days [9][2].", "25 days [1]."),
        ("25 [9]days [2]", "25 days [1]"),
        ("25 days [9][8].", "25 days."),
        ("25 days [2]. More [9]", "25 days [1]. More"),
    ],
)
def test_markers_naming_no_passage_are_removed_and_the_gap_closed(answer: str, expected: str) -> None:
    assert resolve_citations(answer, 2).text == expected


def test_marker_lists_are_checked_one_number_at_a_time() -> None:
    citations = resolve_citations("25 days [2, 5, 2]. Five carry over [1,2].", 3)
    assert citations == Citations("25 days [1]. Five carry over [2][1].", (2, 1, 3), 2)


def test_an_answer_without_markers_cites_nothing() -> None:
    citations = resolve_citations("You get 25 days.", 2)
    assert citations == Citations("You get 25 days.", (1, 2), 0)
    assert is_uncited(citations, 2)
    assert not is_uncited(resolve_citations("I do not know.", 0), 0)
    assert not is_uncited(resolve_citations("25 days [2].", 2), 2)


def test_only_invalid_markers_is_uncited() -> None:
    citations = resolve_citations("You get 25 days [4].", 3)
    assert citations == Citations("You get 25 days.", (1, 2, 3), 0)
    assert is_uncited(citations, 3)


def test_sources_are_renumbered_cited_first_with_flags() -> None:
    citations = resolve_citations("Book in Concur [3]; file within 30 days [1].", 3)
    sources = cite_sources([source(1), source(2), source(3)], citations)
    assert [(s.n, s.title, s.cited) for s in sources] == [(1, "doc 3", True), (2, "doc 1", True), (3, "doc 2", False)]
    assert citations.text == "Book in Concur [1]; file within 30 days [2]."


def test_no_passages_no_sources() -> None:
    citations = resolve_citations("I do not know [1].", 0)
    assert citations == Citations("I do not know.", (), 0)
    assert cite_sources([], citations) == []
