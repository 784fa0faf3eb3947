"""``semantic``: cut where the meaning changes. Neighbouring sentences are compared by their embeddings, and
a cut falls where their distance (1 - cosine) is above the document's ``percentile``-th percentile; the groups
in between are then packed or split so that no piece exceeds the budget.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chunkers.base import (
    Embed,
    Piece,
    SectionLike,
    Span,
    TokenBudget,
    TokenCounter,
    count_spans,
    document_text,
    pack,
    paragraph_spans,
    pieces_from_spans,
    section_starts,
    sentence_spans,
)
from chunkers.recursive import RecursiveChunker


class SemanticChunker(TokenBudget):
    name = "semantic"

    def __init__(
        self,
        count_tokens: TokenCounter,
        size: int = 200,
        overlap: int = 40,
        *,
        embed: Embed | None = None,
        percentile: float = 90.0,
    ) -> None:
        super().__init__(count_tokens, size, overlap, embed=embed)
        if embed is None:
            raise ValueError("the semantic chunker needs an embedding function")
        if not 0 < percentile < 100:
            raise ValueError(f"percentile must be between 0 and 100 (exclusive), got {percentile}")
        self._embed: Embed = embed
        self._recursive = RecursiveChunker(count_tokens, size, overlap)
        self.percentile = percentile

    def split(self, sections: Sequence[SectionLike], title: str = "") -> list[Piece]:
        """Sections are never joined: each section's sentences are grouped, and groups packed, on their own."""
        text, starts = document_text(sections), section_starts(sections)
        per_section = [_sentences(text, start, start + len(s.text)) for s, start in zip(sections, starts, strict=True)]
        flat = count_spans(text, [s for group in per_section for s in group], self._count)
        cuts = self._cuts(text, flat, [len(group) for group in per_section])
        spans: list[Span] = []
        begin = 0
        for end in [*cuts, len(flat)]:
            spans.extend(self._pack(text, flat[begin:end]))
            begin = end
        return pieces_from_spans(text, starts, spans)

    def _cuts(self, text: str, sentences: list[Span], per_section: list[int]) -> list[int]:
        """Indexes of the sentences that start a new group: each section's first, and each after a jump."""
        if not sentences:
            return []
        vectors = np.asarray(self._embed([text[s.start : s.end] for s in sentences]), dtype=np.float64)
        distances = 1.0 - np.sum(vectors[:-1] * vectors[1:], axis=1)  # rows are unit length: dot = cosine
        cuts = set(np.cumsum([0, *per_section[:-1]]).tolist()) - {0}
        inside = [i for i in range(1, len(sentences)) if i not in cuts]  # pairs within one section
        if inside:
            threshold = float(np.percentile(distances[[i - 1 for i in inside]], self.percentile))
            cuts |= {i for i in inside if distances[i - 1] > threshold}
        return sorted(cuts)

    def _pack(self, text: str, group: list[Span]) -> list[Span]:
        """A group over the budget is packed sentence by sentence, with overlap; an over-long sentence is cut
        into paragraph, sentence or word runs the recursive way."""
        units: list[Span] = []
        for sentence in group:
            fits = sentence.tokens <= self.size
            units.extend([sentence] if fits else self._recursive.units(text, sentence.start, sentence.end))
        return pack(units, self.size, self.overlap)


def _sentences(text: str, start: int, end: int) -> list[Span]:
    """Sentences within paragraphs, so that a paragraph break always ends a sentence."""
    return [s for p in paragraph_spans(text, start, end) for s in sentence_spans(text, p.start, p.end)]
