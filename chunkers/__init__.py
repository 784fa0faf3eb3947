"""Chunking strategies, selectable by name. Pure text in, pieces out: imports nothing of the project."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chunkers.base import MIN_CHUNK_TOKENS, Chunker, Embed, Piece, SectionLike, TokenCounter
from chunkers.fixed import FixedChunker
from chunkers.recursive import RecursiveChunker
from chunkers.semantic import SemanticChunker
from chunkers.small_to_big import SmallToBigChunker
from chunkers.structural import StructuralChunker

# Called as ``factory(count_tokens, embed=embed, **params)``; strategies that do not embed ignore ``embed``.
ChunkerFactory = Callable[..., Chunker]

_REGISTRY: dict[str, ChunkerFactory] = {
    FixedChunker.name: FixedChunker,
    RecursiveChunker.name: RecursiveChunker,
    StructuralChunker.name: StructuralChunker,
    SemanticChunker.name: SemanticChunker,
    SmallToBigChunker.name: SmallToBigChunker,
}


class UnknownChunkerError(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown chunker {name!r}; available: {', '.join(available())}")


def available() -> list[str]:
    return sorted(_REGISTRY)


def make_chunker(name: str, count_tokens: TokenCounter, *, embed: Embed | None = None, **params: Any) -> Chunker:
    """Build a strategy by name; bad parameters raise ValueError with the reason. ``embed`` (unit-length row
    vectors per text) is handed to every strategy; only those that need it (semantic) use it."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise UnknownChunkerError(name) from None
    return factory(count_tokens, embed=embed, **params)


__all__ = [
    "MIN_CHUNK_TOKENS",
    "Chunker",
    "Embed",
    "Piece",
    "SectionLike",
    "TokenCounter",
    "UnknownChunkerError",
    "available",
    "make_chunker",
]
