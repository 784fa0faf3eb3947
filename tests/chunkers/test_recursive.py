from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.models import Section
from chunkers import UnknownChunkerError, available, make_chunker
from chunkers.base import document_text, sentences
from chunkers.recursive import RecursiveChunker


def words(texts: Sequence[str]) -> list[int]:
    """A transparent token counter for unit tests: one token per word."""
    return [len(t.split()) for t in texts]


def para(n: int, word: str = "alpha") -> str:
    return " ".join(f"{word}{i}" for i in range(n)) + "."


def test_short_text_is_one_chunk() -> None:
    chunker = RecursiveChunker(words, size=50, overlap=10)
    assert chunker.split_text("One small paragraph.\n\nAnother one.") == ["One small paragraph.\n\nAnother one."]


def test_paragraphs_are_packed_up_to_the_size() -> None:
    text = "\n\n".join(para(20, f"p{k}w") for k in range(5))
    chunks = RecursiveChunker(words, size=45, overlap=0).split_text(text)
    assert [words([c])[0] for c in chunks] == [40, 40, 20]
    assert "".join(chunks).replace("\n\n", "") == text.replace("\n\n", "")


def test_overlap_repeats_the_tail_of_the_previous_chunk() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(30))
    chunks = RecursiveChunker(words, size=25, overlap=10).split_text(text)
    assert len(chunks) > 2
    for before, after in itertools.pairwise(chunks):
        tail, head = sentences(before), sentences(after)
        shared = next(n for n in range(len(head), -1, -1) if n == 0 or tail[-n:] == head[:n])
        assert shared >= 1, "each chunk starts with the end of the previous one"
        assert sum(words(head[:shared])) <= 10
        assert all(words([c])[0] <= 25 for c in (before, after))


def test_an_overlong_sentence_is_split_into_word_runs() -> None:
    chunks = RecursiveChunker(words, size=16, overlap=0).split_text(para(50))
    assert [words([c])[0] for c in chunks] == [16, 16, 16, 2]


def test_sections_are_chunked_separately_and_keep_their_index() -> None:
    sections = [Section("First section text.", ("A",)), Section("Second section text.", ("B",), page=2)]
    pieces = RecursiveChunker(words, size=50, overlap=5).split(sections)
    assert [(p.section, p.text) for p in pieces] == [(0, "First section text."), (1, "Second section text.")]


def test_offsets_are_exact_slices_of_the_document_text() -> None:
    sections = [Section("\n\n".join(para(30, f"s{k}p{j}w") for j in range(3)), (f"H{k}",), page=k) for k in range(3)]
    text = document_text(sections)
    pieces = RecursiveChunker(words, size=40, overlap=8).split(sections)
    assert len(pieces) > 3
    for piece in pieces:
        assert piece.text == text[piece.start : piece.end]
        assert words([piece.text])[0] <= 40
        assert sections[piece.section].text.find(piece.text) >= 0, "a piece stays within its section"


def test_real_tokenizer_respects_the_budget(embedder: SentenceTransformerEmbedder) -> None:
    text = "\n\n".join(f"Paragraph {k}: " + " ".join(["Northwind employees receive benefits."] * 12) for k in range(6))
    chunks = RecursiveChunker(embedder.count_tokens, size=64, overlap=16).split_text(text)
    assert len(chunks) > 3
    assert max(embedder.count_tokens(chunks)) <= 64 + 2  # joiners may add a token


@pytest.mark.parametrize(
    ("size", "overlap", "message"),
    [
        (8, 0, "chunk_size must be at least 16 tokens, got 8"),
        (100, 100, "chunk_overlap (100) must be smaller than chunk_size (100)"),
        (100, -1, "chunk_overlap must be >= 0, got -1"),
    ],
)
def test_bad_parameters_are_refused_at_construction(size: int, overlap: int, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_chunker("recursive", words, size=size, overlap=overlap)


def test_unknown_name_lists_the_available_ones() -> None:
    assert available() == ["fixed", "recursive", "semantic", "small-to-big", "structural"]
    with pytest.raises(UnknownChunkerError) as info:
        make_chunker("magic", words)
    assert str(info.value) == "unknown chunker 'magic'; available: fixed, recursive, semantic, small-to-big, structural"


def _no_embedding(texts: Sequence[str]) -> np.ndarray:
    raise AssertionError("only the semantic chunker embeds")


@pytest.mark.parametrize("name", ["fixed", "recursive", "structural", "small-to-big"])
def test_every_factory_takes_embed_and_those_that_do_not_need_it_ignore_it(name: str) -> None:
    chunker = make_chunker(name, words, embed=_no_embedding, size=100, overlap=5)
    assert chunker.name == name
    assert [p.text for p in chunker.split([Section(para(10))])] == [para(10)]
