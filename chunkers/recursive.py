"""``recursive``: paragraphs, then sentences, then words, packed up to a token budget with overlap."""

from __future__ import annotations

from collections.abc import Sequence

from chunkers.base import (
    Piece,
    SectionLike,
    Span,
    TokenBudget,
    count_spans,
    pack,
    paragraph_spans,
    sentence_spans,
    split_sections,
    word_spans,
)


class RecursiveChunker(TokenBudget):
    name = "recursive"

    def split(self, sections: Sequence[SectionLike], title: str = "") -> list[Piece]:
        return split_sections(sections, self.units, self.size, self.overlap)

    def split_text(self, text: str) -> list[str]:
        return [text[s.start : s.end] for s in pack(self.units(text, 0, len(text)), self.size, self.overlap)]

    def units(self, text: str, start: int, end: int) -> list[Span]:
        """The largest pieces (paragraph, sentence, word run) that each fit the budget, in order, counted."""
        units: list[Span] = []
        for para in count_spans(text, paragraph_spans(text, start, end), self._count):
            if para.tokens <= self.size:
                units.append(para)
                continue
            for sent in count_spans(text, sentence_spans(text, para.start, para.end), self._count):
                units.extend([sent] if sent.tokens <= self.size else self._word_runs(text, sent))
        return units

    def _word_runs(self, text: str, sentence: Span) -> list[Span]:
        words = count_spans(text, word_spans(text, sentence.start, sentence.end), self._count)
        return pack(words, self.size, 0)
