from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np
import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.models import Section
from chunkers import make_chunker
from chunkers.base import Piece, document_text
from chunkers.semantic import SemanticChunker
from tests.chunkers.test_recursive import words

TOPICS = ("bread", "volcano", "football")


class TopicEmbed:
    """A deterministic stand-in: a one-hot vector of the topic words a text holds, so a change of topic is a
    clear jump (distance 1) and sentences on one topic are identical (distance 0). Records its calls."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        vectors = np.array([[float(t in text.lower()) for t in TOPICS] + [1e-6] for text in texts])
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def topic(name: str, n: int) -> str:
    return " ".join(f"The {name} fact number {i} is here." for i in range(n))


def split(sections: list[Section], size: int = 200, overlap: int = 0, **params: float) -> list[Piece]:
    chunker = make_chunker("semantic", words, embed=TopicEmbed(), size=size, overlap=overlap, **params)
    pieces = chunker.split(sections)
    text = document_text(sections)
    for piece in pieces:
        assert piece.text == text[piece.start : piece.end]
        assert words([piece.text])[0] <= size
    return pieces


def test_cuts_where_the_topic_changes() -> None:
    text = " ".join([topic("bread", 6), topic("volcano", 6), topic("football", 6)])
    pieces = split([Section(text)])
    assert [p.text for p in pieces] == [topic("bread", 6), topic("volcano", 6), topic("football", 6)]


def test_one_topic_throughout_is_not_cut() -> None:
    pieces = split([Section(topic("bread", 12))])
    assert [p.text for p in pieces] == [topic("bread", 12)]


def test_all_sentences_of_a_document_are_embedded_in_one_call() -> None:
    embed = TopicEmbed()
    sections = [Section(topic("bread", 4)), Section(topic("volcano", 3) + "\n\n" + topic("bread", 2))]
    SemanticChunker(words, size=100, overlap=0, embed=embed).split(sections)
    assert len(embed.calls) == 1
    assert len(embed.calls[0]) == 9


def test_sections_are_never_joined() -> None:
    sections = [Section(topic("bread", 3), ("A",)), Section(topic("bread", 3), ("B",))]
    pieces = split(sections)
    assert [(p.section, p.text) for p in pieces] == [(0, topic("bread", 3)), (1, topic("bread", 3))]


def test_a_group_over_the_size_is_packed_by_sentence_with_overlap() -> None:
    pieces = split([Section(topic("bread", 30))], size=20, overlap=7)
    assert len(pieces) > 3
    for before, after in itertools.pairwise(pieces):
        assert after.start < before.end, "each piece repeats the end of the previous one"
        assert before.text.endswith(".") and after.text.startswith("The bread")


def test_an_overlong_sentence_is_cut_into_word_runs() -> None:
    sentence = "The bread " + " ".join(f"w{i}" for i in range(48)) + "."
    pieces = split([Section(sentence)], size=16)
    assert [words([p.text])[0] for p in pieces] == [16, 16, 16, 2]


def test_empty_document_embeds_nothing() -> None:
    embed = TopicEmbed()
    assert SemanticChunker(words, embed=embed).split([Section("")]) == []
    assert embed.calls == []


def test_embed_is_required() -> None:
    with pytest.raises(ValueError, match=r"^the semantic chunker needs an embedding function$"):
        make_chunker("semantic", words, size=100, overlap=10)


@pytest.mark.parametrize("percentile", [0, 100, -5, 150.5])
def test_percentile_must_be_inside_0_100(percentile: float) -> None:
    message = f"percentile must be between 0 and 100 (exclusive), got {percentile}"
    with pytest.raises(ValueError, match=re.escape(message)):
        make_chunker("semantic", words, embed=TopicEmbed(), percentile=percentile)


@pytest.mark.parametrize(
    ("size", "overlap", "message"),
    [
        (8, 0, "chunk_size must be at least 16 tokens, got 8"),
        (100, 100, "chunk_overlap (100) must be smaller than chunk_size (100)"),
        (100, -1, "chunk_overlap must be >= 0, got -1"),
    ],
)
def test_bad_sizes_are_refused_at_construction(size: int, overlap: int, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make_chunker("semantic", words, embed=TopicEmbed(), size=size, overlap=overlap)


BREAD = (
    "Bread dough is made from flour, water, salt and yeast. The yeast ferments the sugars in the flour and "
    "releases gas. Kneading the dough develops the gluten that traps this gas. After proofing, the loaf is baked "
    "in a hot oven until the crust is brown. A good baker scores the loaf so the bread can rise evenly in the oven."
)
VOLCANOES = (
    "Volcanoes form where molten rock rises through the Earth's crust. Magma collects in a chamber beneath the "
    "volcano. When pressure builds, an eruption sends lava and ash into the sky. Volcanic ash clouds can ground "
    "aircraft for days. Geologists monitor earthquakes near a volcano to predict the next eruption."
)


def test_real_model_cuts_at_the_change_of_topic(embedder: SentenceTransformerEmbedder) -> None:
    chunker = make_chunker(
        "semantic", embedder.count_tokens, embed=embedder.embed_documents, size=200, overlap=0, percentile=90
    )
    pieces = chunker.split([Section(f"{BREAD} {VOLCANOES}")])
    assert [p.text for p in pieces] == [BREAD, VOLCANOES]
