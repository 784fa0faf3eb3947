"""``fixed``: windows of a fixed number of model tokens, cut between words, with overlap."""

from __future__ import annotations

from collections.abc import Sequence

from chunkers.base import (
    Embed,
    Piece,
    SectionLike,
    Span,
    TokenCounter,
    check_size,
    count_spans,
    document_text,
    pack,
    pieces_from_spans,
    section_starts,
    word_spans,
)


class FixedChunker:
    """The baseline: ignores paragraphs and sentences; a word longer than the window is a window of its own."""

    name = "fixed"

    def __init__(
        self, count_tokens: TokenCounter, size: int = 200, overlap: int = 40, *, embed: Embed | None = None
    ) -> None:
        check_size(size, overlap)
        self._count = count_tokens
        self.size = size
        self.overlap = overlap

    def split(self, sections: Sequence[SectionLike], title: str = "") -> list[Piece]:
        """Each section is split on its own, so a window never mixes two headings or two pages."""
        text, starts = document_text(sections), section_starts(sections)
        spans: list[Span] = []
        for section, start in zip(sections, starts, strict=True):
            words = count_spans(text, word_spans(text, start, start + len(section.text)), self._count)
            spans.extend(pack(words, self.size, self.overlap))
        return pieces_from_spans(text, starts, spans)
