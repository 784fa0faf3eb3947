"""``small-to-big``: search small, answer big. Parents are ``recursive`` chunks of ``size`` tokens; each is
split into children of ``child_size`` tokens without overlap. A child is what gets embedded and matched; its
parent is the context the answer is generated from.
"""

from __future__ import annotations

from collections.abc import Sequence

from chunkers.base import (
    MIN_CHUNK_TOKENS,
    Embed,
    Piece,
    SectionLike,
    TokenBudget,
    TokenCounter,
    document_text,
    pack,
    section_at,
    section_starts,
)
from chunkers.recursive import RecursiveChunker


class SmallToBigChunker(TokenBudget):
    name = "small-to-big"

    def __init__(
        self,
        count_tokens: TokenCounter,
        size: int = 200,
        overlap: int = 40,
        *,
        embed: Embed | None = None,
        child_size: int = 64,
    ) -> None:
        super().__init__(count_tokens, size, overlap)
        if child_size < MIN_CHUNK_TOKENS:
            raise ValueError(f"child_size must be at least {MIN_CHUNK_TOKENS} tokens, got {child_size}")
        if child_size >= size:
            raise ValueError(f"child_size ({child_size}) must be smaller than chunk_size ({size})")
        self._parents = RecursiveChunker(count_tokens, size, overlap)
        self._children = RecursiveChunker(count_tokens, child_size, 0)
        self.child_size = child_size

    def split(self, sections: Sequence[SectionLike], title: str = "") -> list[Piece]:
        text, starts = document_text(sections), section_starts(sections)
        pieces: list[Piece] = []
        for parent in self._parents.split(sections, title):
            units = self._children.units(text, parent.start, parent.end)
            for child in pack(units, self.child_size, 0):
                pieces.append(
                    Piece(
                        text[child.start : child.end],
                        section_at(starts, child.start),
                        child.start,
                        child.end,
                        context=parent.text,
                        context_start=parent.start,
                        context_end=parent.end,
                    )
                )
        return pieces
