from __future__ import annotations

import itertools
import re

import pytest

from askdocs.models import Section
from chunkers import make_chunker
from chunkers.base import Piece, document_text
from chunkers.structural import StructuralChunker
from tests.chunkers.test_recursive import para, words


def split(sections: list[Section], size: int = 50, overlap: int = 0, title: str = "") -> list[Piece]:
    pieces = StructuralChunker(words, size=size, overlap=overlap).split(sections, title)
    text = document_text(sections)
    for piece in pieces:
        assert piece.text == text[piece.start : piece.end]
        assert words([piece.text])[0] <= size
    return pieces


def test_small_neighbours_under_one_top_level_heading_are_packed() -> None:
    sections = [
        Section(para(10, "intro"), ("Guide", "Intro")),
        Section(para(10, "setup"), ("Guide", "Setup")),
        Section(para(10, "leave"), ("Policies",)),
        Section(para(10, "sick"), ("Policies", "Sick days")),
    ]
    pieces = split(sections)
    assert [p.text for p in pieces] == [
        sections[0].text + "\n\n" + sections[1].text,
        sections[2].text + "\n\n" + sections[3].text,
    ]
    assert [p.section for p in pieces] == [0, 2]


def test_packing_stops_at_the_size() -> None:
    sections = [Section(para(10, f"s{k}w"), ("Guide", f"Part {k}")) for k in range(5)]
    pieces = split(sections, size=25)
    assert [p.section for p in pieces] == [0, 2, 4]
    assert [words([p.text])[0] for p in pieces] == [20, 20, 10]


def test_pages_and_headed_or_unheaded_sections_are_not_packed_together() -> None:
    sections = [
        Section(para(5, "a"), (), page=1),
        Section(para(5, "b"), (), page=1),
        Section(para(5, "c"), (), page=2),
        Section(para(5, "d"), ("Heading",), page=2),
    ]
    pieces = split(sections)
    assert [p.section for p in pieces] == [0, 2, 3]
    assert pieces[0].text == sections[0].text + "\n\n" + sections[1].text


def test_an_oversized_section_is_split_on_its_own_at_paragraphs() -> None:
    big = "\n\n".join(para(12, f"p{k}w") for k in range(4))
    sections = [Section(para(5, "before"), ("A",)), Section(big, ("A", "Big")), Section(para(5, "after"), ("A",))]
    pieces = split(sections, size=30)
    paragraphs = big.split("\n\n")
    assert [p.text for p in pieces] == [
        sections[0].text,
        paragraphs[0] + "\n\n" + paragraphs[1],
        paragraphs[2] + "\n\n" + paragraphs[3],
        sections[2].text,
    ]


def test_one_section_article_keeps_paragraphs_whole() -> None:
    paragraphs = [para(n, f"p{k}w") for k, n in enumerate([10, 25, 8, 40, 12, 3])]
    pieces = split([Section("\n\n".join(paragraphs))], size=30)
    cut = paragraphs[3].index("p3w30")  # the 40-word paragraph alone is over the size: the only one cut
    assert [p.text for p in pieces] == [
        paragraphs[0],
        paragraphs[1],
        paragraphs[2],
        paragraphs[3][:cut].rstrip(),
        "\n\n".join([paragraphs[3][cut:], paragraphs[4], paragraphs[5]]),
    ]


def test_overlap_applies_when_an_oversized_section_is_split() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(30))
    pieces = split([Section(text)], size=25, overlap=10)
    for before, after in itertools.pairwise(pieces):
        assert after.start < before.end


def test_embed_text_starts_with_the_title_and_the_heading_path() -> None:
    sections = [
        Section(para(10, "leave"), ("Benefits", "Leave")),
        Section(para(10, "sick"), ("Benefits", "Sick days")),
    ]
    [piece] = split(sections, title="Handbook")
    assert piece.embed_text == "Handbook > Benefits > Leave\n\n" + piece.text
    [piece] = split([Section("Just text.", ("Benefits",))])
    assert piece.embed_text == "Benefits\n\nJust text."
    [piece] = split([Section("Just text.", ("Handbook", "Leave"))], title="Handbook")
    assert piece.embed_text == "Handbook > Leave\n\nJust text.", "a heading repeating the title is named once"
    [piece] = split([Section("Just text.")])
    assert piece.embed_text == "Just text."


def test_each_piece_of_a_split_section_gets_its_heading() -> None:
    big = "\n\n".join(para(12, f"p{k}w") for k in range(4))
    pieces = split([Section(para(5), ("A",)), Section(big, ("A", "Big"))], size=30, title="T")
    assert [p.embed_text.split("\n\n")[0] for p in pieces if p.embed_text] == ["T > A", "T > A > Big", "T > A > Big"]


def test_empty_sections_are_skipped() -> None:
    sections = [Section("", ("A",)), Section(para(5), ("A",)), Section("  ", ("A",)), Section(para(5, "b"), ("A",))]
    [piece] = split(sections)
    assert piece.text == sections[1].text + "\n\n  \n\n" + sections[3].text
    assert piece.section == 1


@pytest.mark.parametrize(
    ("size", "overlap", "message"),
    [
        (8, 0, "chunk_size must be at least 16 tokens, got 8"),
        (100, 100, "chunk_overlap (100) must be smaller than chunk_size (100)"),
        (100, -1, "chunk_overlap must be >= 0, got -1"),
    ],
)
def test_bad_parameters_are_refused_at_construction(size: int, overlap: int, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make_chunker("structural", words, size=size, overlap=overlap)


STATEMENT = (
    "Table of Contents\n\nACME CORP CONSOLIDATED STATEMENTS OF CASH FLOWS (In millions)\n\nYears Ended December 31,\n"
    "2023 | 2022\n" + "\n".join(f"Line item number {k} | {k},{k:03d} | ({k},{k + 1:03d})" for k in range(40))
)


def test_the_later_pieces_of_a_page_name_its_lead_and_not_its_running_header() -> None:
    pages = [Section(f"Table of Contents\n\n{para(30, f'p{k}w')}", (), page=k) for k in (1, 2)]
    pages.append(Section(STATEMENT, (), page=3))
    pieces = [p for p in split(pages, size=60, title="Acme 10-K") if p.section == 2]
    assert len(pieces) > 2 and pieces[0].embed_text == f"Acme 10-K\n\n{pieces[0].text}"  # the lead is its own text
    lead = "ACME CORP CONSOLIDATED STATEMENTS OF CASH FLOWS (In millions) Years Ended December 31,"
    for piece in pieces[1:]:
        assert piece.embed_text == f"Acme 10-K > {lead}\n\n{piece.text}"
    assert {p.lead for p in pieces} == {lead}  # every piece of the page is cited under it, the first too


def test_no_lead_for_a_page_that_opens_with_prose_nor_for_a_headed_section() -> None:
    prose = "The company grew its revenue in every region this year, helped by new stores and a stronger dollar abroad."
    body = "\n".join(f"Row {k} | {k}" for k in range(40))
    pieces = split([Section(f"{prose}\n{body}", (), page=1), Section(f"Short title\n{body}", ("Results",))], size=60)
    assert all(p.embed_text in (p.text, f"Results\n\n{p.text}") for p in pieces)
    assert {p.lead for p in pieces} == {""}
