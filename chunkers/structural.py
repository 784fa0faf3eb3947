"""``structural``: the document's own structure (heading sections, PDF pages, paragraphs) decides the cuts.

Small neighbouring sections are packed together while they stay under the same top-level heading and on the
same page; a section over the budget is split like ``recursive`` (paragraphs first, never cutting one that
fits). Each piece is embedded with a line naming where it sits: "Title > H1 > H2", then a blank line; a piece cut
from the middle of a section without headings (a long PDF page) names the section's lead instead ("Title >
Consolidated Statement of Cash Flows (Millions)", see ``leads.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from chunkers.base import (
    SECTION_SEPARATOR,
    Embed,
    Piece,
    SectionLike,
    Span,
    TokenBudget,
    TokenCounter,
    document_text,
    pack,
    pieces_from_spans,
    section_starts,
    strip_span,
)
from chunkers.leads import section_leads
from chunkers.recursive import RecursiveChunker


class StructuralChunker(TokenBudget):
    name = "structural"

    def __init__(
        self, count_tokens: TokenCounter, size: int = 200, overlap: int = 40, *, embed: Embed | None = None
    ) -> None:
        super().__init__(count_tokens, size, overlap)
        self._recursive = RecursiveChunker(count_tokens, size, overlap)

    def split(self, sections: Sequence[SectionLike], title: str = "") -> list[Piece]:
        text, starts = document_text(sections), section_starts(sections)
        tokens = self._count([s.text for s in sections])
        chunks: list[Span] = []
        run: list[Span] = []  # small neighbouring sections waiting to be packed together
        last: SectionLike | None = None  # the section that ended the run
        for section, start, count in zip(sections, starts, tokens, strict=True):
            span = strip_span(text, Span(start, start + len(section.text), count))
            if span.end == span.start:
                continue
            if run and last is not None and not _same_block(last, section):
                chunks.extend(pack(run, self.size, 0))
                run = []
            if count <= self.size:
                run.append(span)
                last = section
                continue
            chunks.extend(pack(run, self.size, 0))
            run = []
            chunks.extend(pack(self._recursive.units(text, span.start, span.end), self.size, self.overlap))
        chunks.extend(pack(run, self.size, 0))
        pieces = pieces_from_spans(text, starts, chunks)
        leads = section_leads(sections)
        return [
            replace(
                p,
                embed_text=_with_heading(p, title, sections[p.section], _lead(p, leads, starts, sections)),
                lead=leads[p.section],
            )
            for p in pieces
        ]


def _same_block(before: SectionLike, after: SectionLike) -> bool:
    """Neighbours may share a piece only under the same top-level heading (or none) and on the same page."""
    return before.heading_path[:1] == after.heading_path[:1] and before.page == after.page


def heading_line(title: str, heading_path: Sequence[str]) -> str:
    """The line "Title > H1 > H2"; a first heading that repeats the title (an HTML page's h1) is named once."""
    path = list(heading_path)
    if title and path and path[0].strip() == title.strip():
        path = path[1:]
    return " > ".join(part.strip() for part in (title, *path) if part.strip())


def _lead(piece: Piece, leads: Sequence[str], starts: Sequence[int], sections: Sequence[SectionLike]) -> str:
    """The section's lead for a piece that starts after it (the first piece holds the lead in its own text)."""
    section = sections[piece.section]
    opening = starts[piece.section] + len(section.text) - len(section.text.lstrip())
    return leads[piece.section] if piece.start > opening else ""


def _with_heading(piece: Piece, title: str, section: SectionLike, lead: str) -> str:
    line = heading_line(title, (*section.heading_path, lead) if lead else section.heading_path)
    return f"{line}{SECTION_SEPARATOR}{piece.text}" if line else piece.text
