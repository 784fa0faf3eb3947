from __future__ import annotations

import itertools
import re

import pytest

from askdocs.models import Section
from chunkers import make_chunker
from chunkers.base import Piece, document_text
from chunkers.recursive import RecursiveChunker
from chunkers.small_to_big import SmallToBigChunker
from tests.chunkers.test_recursive import para, words

SECTIONS = [
    Section("\n\n".join(para(n, f"a{k}w") for k, n in enumerate([30, 45, 12, 70])), ("A",)),
    Section(" ".join(f"Sentence number {i} is here." for i in range(40)), ("B",), page=2),
]


def split(size: int = 60, overlap: int = 10, child_size: int = 20) -> list[Piece]:
    pieces = SmallToBigChunker(words, size=size, overlap=overlap, child_size=child_size).split(SECTIONS)
    text = document_text(SECTIONS)
    for piece in pieces:
        assert piece.text == text[piece.start : piece.end]
        assert words([piece.text])[0] <= child_size
    return pieces


def test_each_child_carries_its_parent_as_context() -> None:
    text = document_text(SECTIONS)
    pieces = split()
    assert len(pieces) > 10
    for piece in pieces:
        assert piece.context_start is not None
        assert piece.context_end is not None
        assert piece.context == text[piece.context_start : piece.context_end]
        assert piece.context_start <= piece.start < piece.end <= piece.context_end
        assert piece.text in piece.context
        assert words([piece.context])[0] <= 60
        assert piece.text in SECTIONS[piece.section].text


def test_parents_are_the_recursive_chunks() -> None:
    parents = RecursiveChunker(words, size=60, overlap=10).split(SECTIONS)
    contexts = {(p.context_start, p.context_end) for p in split()}
    assert contexts == {(p.start, p.end) for p in parents}


def test_children_tile_their_parent_without_overlap() -> None:
    pieces = split()
    by_parent: dict[tuple[int | None, int | None], list[Piece]] = {}
    for piece in pieces:
        by_parent.setdefault((piece.context_start, piece.context_end), []).append(piece)
    for (start, end), children in by_parent.items():
        assert children[0].start == start
        assert children[-1].end == end
        for before, after in itertools.pairwise(children):
            assert before.end < after.start
    assert any(len(children) > 1 for children in by_parent.values())


def test_default_child_size_is_64() -> None:
    chunker = make_chunker("small-to-big", words, size=200, overlap=40)
    assert isinstance(chunker, SmallToBigChunker)
    assert chunker.child_size == 64
    pieces = chunker.split([Section(para(300))])
    assert max(words([p.text])[0] for p in pieces) == 64


@pytest.mark.parametrize(
    ("size", "child_size", "message"),
    [
        (200, 8, "child_size must be at least 16 tokens, got 8"),
        (100, 100, "child_size (100) must be smaller than chunk_size (100)"),
        (100, 150, "child_size (150) must be smaller than chunk_size (100)"),
        (8, 4, "chunk_size must be at least 16 tokens, got 8"),
    ],
)
def test_bad_parameters_are_refused_at_construction(size: int, child_size: int, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make_chunker("small-to-big", words, size=size, overlap=0, child_size=child_size)
