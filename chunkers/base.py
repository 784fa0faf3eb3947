"""The Chunker role: sections of text in, pieces out. Pure: imports nothing of the project."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

# Counts tokens of several texts at once, the way the embedding model does (no special tokens).
TokenCounter = Callable[[Sequence[str]], list[int]]

MIN_CHUNK_TOKENS = 16


class SectionLike(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def heading_path(self) -> tuple[str, ...]: ...

    @property
    def page(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Piece:
    """One chunk: its text, the section it starts in, what to embed, and an optional parent to answer from."""

    text: str
    section: int
    embed_text: str | None = None
    context: str | None = None


class Chunker(Protocol):
    name: str

    def split(self, sections: Sequence[SectionLike], title: str = "") -> list[Piece]: ...


def check_size(size: int, overlap: int) -> None:
    """Shared parameter checks; every strategy validates at construction."""
    if size < MIN_CHUNK_TOKENS:
        raise ValueError(f"chunk_size must be at least {MIN_CHUNK_TOKENS} tokens, got {size}")
    if overlap < 0:
        raise ValueError(f"chunk_overlap must be >= 0, got {overlap}")
    if overlap >= size:
        raise ValueError(f"chunk_overlap ({overlap}) must be smaller than chunk_size ({size})")


_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in _PARAGRAPH.split(text) if p.strip()]


def sentences(text: str) -> list[str]:
    """A plain rule-based sentence splitter: good enough for prose, never loses characters but spaces."""
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]
