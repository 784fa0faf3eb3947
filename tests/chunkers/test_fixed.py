from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.models import Section
from chunkers import make_chunker
from chunkers.base import document_text
from chunkers.fixed import FixedChunker
from tests.chunkers.test_recursive import para, words


def test_windows_have_the_size_and_repeat_the_overlap() -> None:
    text = para(100)
    pieces = FixedChunker(words, size=20, overlap=5).split([Section(text)])
    assert [words([p.text])[0] for p in pieces] == [20, 20, 20, 20, 20, 20, 10]
    tokens = [p.text.split() for p in pieces]
    for before, after in itertools.pairwise(tokens):
        assert before[-5:] == after[:5]


def test_windows_ignore_sentences_and_paragraphs() -> None:
    text = "One two three. Four five six.\n\nSeven eight nine ten. Eleven twelve."
    pieces = FixedChunker(words, size=16, overlap=0).split([Section(text)])
    assert [p.text for p in pieces] == [text]
    long = " ".join(f"Short sentence {i}." for i in range(20))  # 60 words, a sentence every 3
    pieces = FixedChunker(words, size=16, overlap=0).split([Section(long)])
    assert [words([p.text])[0] for p in pieces] == [16, 16, 16, 12]
    assert pieces[0].text.endswith("Short")


def test_offsets_are_exact_slices_and_sections_are_windowed_apart() -> None:
    sections = [Section(para(30, "a")), Section(para(7, "b"), ("H",)), Section(para(25, "c"), (), page=3)]
    text = document_text(sections)
    pieces = FixedChunker(words, size=16, overlap=4).split(sections)
    for piece in pieces:
        assert piece.text == text[piece.start : piece.end]
        assert words([piece.text])[0] <= 16
        assert piece.text in sections[piece.section].text
    assert [p.section for p in pieces] == [0, 0, 0, 1, 2, 2]


def heavy(texts: Sequence[str]) -> list[int]:
    """One token per word, but 50 for a word starting with "huge"."""
    return [sum(50 if w.startswith("huge") else 1 for w in t.split()) for t in texts]


def test_an_overlong_word_is_a_window_of_its_own() -> None:
    pieces = FixedChunker(heavy, size=16, overlap=4).split([Section("a b c hugeword d e")])
    assert [p.text for p in pieces] == ["a b c", "hugeword", "d e"]


def test_empty_sections_give_no_pieces() -> None:
    assert FixedChunker(words, size=16, overlap=0).split([Section(""), Section("  \n ")]) == []


def test_real_tokenizer_respects_the_budget(embedder: SentenceTransformerEmbedder) -> None:
    text = " ".join(["Northwind employees receive twenty-five days of paid leave each year."] * 30)
    pieces = FixedChunker(embedder.count_tokens, size=48, overlap=8).split([Section(text)])
    assert len(pieces) > 3
    assert max(embedder.count_tokens([p.text for p in pieces])) <= 48 + 2  # joiners may add a token


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
        make_chunker("fixed", words, size=size, overlap=overlap)
