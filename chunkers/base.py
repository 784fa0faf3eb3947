"""The Chunker role: sections of text in, pieces out. Pure: imports nothing of the project.

Offsets: a document's text is its sections' texts joined by ``SECTION_SEPARATOR``. Every piece carries
``start``/``end`` offsets into that text, and its ``text`` is exactly that slice, so a piece can always be
traced back to where it came from (citations, evaluation against gold answer spans).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# Counts tokens of several texts at once, the way the embedding model does (no special tokens).
TokenCounter = Callable[[Sequence[str]], list[int]]
# Embeds several texts at once: one unit-length row vector per text (the embedder's ``embed_documents``).
Embed = Callable[[Sequence[str]], np.ndarray]

MIN_CHUNK_TOKENS = 16
SECTION_SEPARATOR = "\n\n"


class SectionLike(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def heading_path(self) -> tuple[str, ...]: ...

    @property
    def page(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Piece:
    """One chunk: the exact slice ``[start, end)`` of the document text, the section it starts in, what to
    embed (when it differs from the text) and an optional larger context to answer from (small-to-big)."""

    text: str
    section: int
    start: int
    end: int
    embed_text: str | None = None
    lead: str = ""  # the title lines opening the headingless section (a PDF page) it starts in: cited as its heading
    context: str | None = None
    context_start: int | None = None
    context_end: int | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """A run of the document text, ``[start, end)``, and its token count once known."""

    start: int
    end: int
    tokens: int = 0


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


class TokenBudget:
    """What every strategy shares: the model's token counter and a size/overlap checked at construction.
    ``embed`` is accepted by every strategy (the registry passes it) and kept for those that need it."""

    def __init__(
        self, count_tokens: TokenCounter, size: int = 200, overlap: int = 40, *, embed: Embed | None = None
    ) -> None:
        check_size(size, overlap)
        self._count = count_tokens
        self._embed = embed
        self.size = size
        self.overlap = overlap


def document_text(sections: Sequence[SectionLike]) -> str:
    return SECTION_SEPARATOR.join(s.text for s in sections)


def section_starts(sections: Sequence[SectionLike]) -> list[int]:
    """Offset of each section's text within the document text."""
    starts, offset = [], 0
    for section in sections:
        starts.append(offset)
        offset += len(section.text) + len(SECTION_SEPARATOR)
    return starts


def section_at(starts: Sequence[int], offset: int) -> int:
    """Index of the section holding ``offset``."""
    index = 0
    for i, start in enumerate(starts):
        if start <= offset:
            index = i
    return index


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD = re.compile(r"\S+")


def _split(text: str, start: int, end: int, boundary: re.Pattern[str]) -> list[Span]:
    spans, cursor = [], start
    for match in boundary.finditer(text, start, end):
        spans.append(Span(cursor, match.start()))
        cursor = match.end()
    spans.append(Span(cursor, end))
    return [trimmed for s in spans if (trimmed := strip_span(text, s)).end > trimmed.start]


def strip_span(text: str, span: Span) -> Span:
    start, end = span.start, span.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end, span.tokens)


def paragraph_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    return _split(text, start, len(text) if end is None else end, _PARAGRAPH_BREAK)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """A plain rule-based sentence splitter: good enough for prose."""
    return _split(text, start, len(text) if end is None else end, _SENTENCE_END)


def word_spans(text: str, start: int, end: int) -> list[Span]:
    return [Span(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in sentence_spans(text)]


def paragraphs(text: str) -> list[str]:
    return [text[s.start : s.end] for s in paragraph_spans(text)]


def count_spans(text: str, spans: list[Span], count: TokenCounter) -> list[Span]:
    tokens = count([text[s.start : s.end] for s in spans])
    return [Span(s.start, s.end, n) for s, n in zip(spans, tokens, strict=True)]


def pack(spans: Sequence[Span], size: int, overlap: int) -> list[Span]:
    """Greedy packing of consecutive spans up to ``size`` tokens; each chunk after the first starts with the
    previous chunk's trailing spans, up to ``overlap`` tokens. Returns one span per chunk."""
    chunks: list[Span] = []
    current: list[Span] = []
    tokens = 0
    for span in spans:
        if current and tokens + span.tokens > size:
            chunks.append(Span(current[0].start, current[-1].end, tokens))
            current, tokens = _tail(current, min(overlap, size - span.tokens))
        current.append(span)
        tokens += span.tokens
    if current:
        chunks.append(Span(current[0].start, current[-1].end, tokens))
    return chunks


def _tail(spans: list[Span], budget: int) -> tuple[list[Span], int]:
    tail: list[Span] = []
    tokens = 0
    for span in reversed(spans):
        if tokens + span.tokens > budget:
            break
        tail.insert(0, span)
        tokens += span.tokens
    return tail, tokens


def pieces_from_spans(text: str, starts: Sequence[int], spans: Sequence[Span]) -> list[Piece]:
    return [Piece(text[s.start : s.end], section_at(starts, s.start), s.start, s.end) for s in spans]


def split_sections(
    sections: Sequence[SectionLike], units: Callable[[str, int, int], list[Span]], size: int, overlap: int
) -> list[Piece]:
    """Each section on its own (a piece never mixes two headings or two pages): its ``units(text, start, end)``
    packed up to ``size`` tokens with ``overlap``."""
    text, starts = document_text(sections), section_starts(sections)
    spans: list[Span] = []
    for section, start in zip(sections, starts, strict=True):
        spans.extend(pack(units(text, start, start + len(section.text)), size, overlap))
    return pieces_from_spans(text, starts, spans)
