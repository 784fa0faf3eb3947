"""A section's lead: the short lines that open a section without a heading (a PDF page), where a page says what it
is: "3M Company and Subsidiaries Consolidated Statement of Cash Flows / Years ended December 31 / (Millions)".

A statement page is longer than one chunk, so its later pieces hold rows ("Purchases of property, plant and
equipment | (1,577)") without the statement's name or units; the structural chunker names the lead in their
heading line, the way a heading path names a section. Opening lines that most pages share (a running header such
as "Table of Contents") say nothing about the page and are skipped; a page that opens with prose (a long line, a
sentence carried over from the page before) has no lead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from chunkers.base import SectionLike

MAX_LINE_WORDS = 16  # a longer opening line is prose (pages join prose lines into paragraphs), not a title
MAX_LEAD_WORDS = 20  # the lead shares the embedding model's 256 tokens with the title and the chunk
_RUNNING_SHARE = 1 / 3  # an opening line this share of the sections start with is a running header


def section_leads(sections: Sequence[SectionLike]) -> list[str]:
    """Each section's lead ("" for a section with a heading path, or without short opening lines)."""
    opening = [_lines(s.text) for s in sections]
    firsts = Counter(lines[0] for lines in opening if lines)
    running = {line for line, n in firsts.items() if len(sections) >= 3 and n >= max(2, _RUNNING_SHARE * len(sections))}
    return ["" if s.heading_path else _lead(lines, running) for s, lines in zip(sections, opening, strict=True)]


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.split("\n") if line.strip()][:12]


def _lead(lines: list[str], running: set[str]) -> str:
    words: list[str] = []
    for line in lines:
        if not words and line in running:
            continue
        if not _title_like(line) or len(words) >= MAX_LEAD_WORDS:
            break
        words.extend(line.split())
    return " ".join(words[:MAX_LEAD_WORDS])


def _title_like(line: str) -> bool:
    """Short, not a table row, and more letters than digits (not a row of years or amounts)."""
    letters = sum(c.isalpha() for c in line)
    return len(line.split()) <= MAX_LINE_WORDS and " | " not in line and letters > sum(c.isdigit() for c in line)
