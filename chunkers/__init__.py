"""Chunking strategies, selectable by name. Pure text in, pieces out: imports nothing of the project."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chunkers.base import MIN_CHUNK_TOKENS, Chunker, Piece, SectionLike, TokenCounter
from chunkers.recursive import RecursiveChunker

ChunkerFactory = Callable[..., Chunker]

_REGISTRY: dict[str, ChunkerFactory] = {
    RecursiveChunker.name: RecursiveChunker,
}


class UnknownChunkerError(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown chunker {name!r}; available: {', '.join(available())}")


def available() -> list[str]:
    return sorted(_REGISTRY)


def register(name: str, factory: ChunkerFactory) -> None:
    _REGISTRY[name] = factory


def make_chunker(name: str, count_tokens: TokenCounter, **params: Any) -> Chunker:
    """Build a strategy by name; bad parameters raise ValueError with the reason."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise UnknownChunkerError(name) from None
    return factory(count_tokens, **params)


__all__ = [
    "MIN_CHUNK_TOKENS",
    "Chunker",
    "Piece",
    "SectionLike",
    "TokenCounter",
    "UnknownChunkerError",
    "available",
    "make_chunker",
    "register",
]
