"""``fixed``: windows of a fixed number of model tokens, cut between words, with overlap."""

from __future__ import annotations

from collections.abc import Sequence

from chunkers.base import (
    Piece,
    SectionLike,
    Span,
    TokenBudget,
    count_spans,
    split_sections,
    word_spans,
)


class FixedChunker(TokenBudget):
    """The baseline: ignores paragraphs and sentences; a word longer than the window is a window of its own."""

    name = "fixed"

    def split(self, sections: Sequence[SectionLike], title: str = "") -> list[Piece]:
        return split_sections(sections, self._words, self.size, self.overlap)

    def _words(self, text: str, start: int, end: int) -> list[Span]:
        return count_spans(text, word_spans(text, start, end), self._count)
