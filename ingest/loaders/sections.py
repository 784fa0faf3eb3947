"""Sections from a document's headings and blocks, and the text of its blocks: the one way every loader that
reads structure (the HTML rules, trafilatura's main content, Markdown) turns it into Sections.

A heading of level L closes the current section and opens the next under a path of L entries: the path is cut
to L - 1 and missing levels are padded with "" (an h3 straight under an h1), which the Sections leave out.
Blocks (paragraphs, lists, tables, code) are joined by a blank line. A heading loses the permalink marks docs
generators put beside it (Sphinx's and MkDocs' "¶", "🔗"), so a heading path never carries them; a document of
headings only is that text, not an empty document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from askdocs.models import Section

N = TypeVar("N")

_SPACE = re.compile(r"\s+")
_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?)\]])")
_LEVELS = 6
# Permalink marks beside a heading: never part of its words. "#" and "§" are left to the HTML loader, which knows a
# permalink by its link ("C#" and "§ 3 Scope" are headings as written).
_MARKS = "\\s\u00b6\u2693\U0001f517\u200b\ufe0e\ufe0f"
_PERMALINK = re.compile(f"^[{_MARKS}]+|[{_MARKS}]+$")


class SectionBuilder:
    """Headings and blocks in document order in, Sections out."""

    def __init__(self) -> None:
        self._path: list[str] = []
        self._blocks: list[str] = []
        self._sections: list[Section] = []
        self._headings: list[str] = []

    def heading(self, level: int | None, text: str) -> None:
        """A heading of ``level`` (1-6); None when the source does not say: one level below the current one."""
        self._flush()
        text = _PERMALINK.sub("", text)
        self._headings.append(text)
        level = min(len(self._path) + 1, _LEVELS) if level is None else max(1, min(level, _LEVELS))
        del self._path[level - 1 :]
        self._path.extend([""] * (level - 1 - len(self._path)))
        self._path.append(text)

    def add(self, block: str) -> None:
        if block.strip():
            self._blocks.append(block)

    def sections(self) -> list[Section]:
        """The Sections so far, the open one closed; headings and no block (a page of titles over images): the
        headings, one block each, rather than no text at all."""
        self._flush()
        if not self._sections and any(self._headings):
            return [Section("\n\n".join(h for h in self._headings if h))]
        return list(self._sections)

    def _flush(self) -> None:
        if self._blocks:
            self._sections.append(Section("\n\n".join(self._blocks), tuple(p for p in self._path if p)))
        self._blocks = []


def clean(text: str) -> str:
    """Words as read: runs of white space as one space, none before closing punctuation (left by inline tags)."""
    return _BEFORE_PUNCT.sub(r"\1", _SPACE.sub(" ", text)).strip()


def bullet_list(top: N, items: Callable[[N], Iterable[N]], split: Callable[[N], tuple[str, Sequence[N]]]) -> str:
    """A list as ``- item`` lines. A list inside an item follows the item's line, indented two spaces a level, and
    is not repeated inside it: ``split`` gives an item's own text and the lists inside it, ``items`` a list's items.
    Walked with a stack of pending items, so no nesting depth can exhaust Python's recursion limit.
    """
    lines: list[str] = []
    pending = [(0, item) for item in reversed(list(items(top)))]
    while pending:
        depth, item = pending.pop()
        text, nested = split(item)
        if text:
            lines.append(f"{'  ' * depth}- {text}")
        pending += [(depth + 1, child) for inner in reversed(nested) for child in reversed(list(items(inner)))]
    return "\n".join(lines)


def table_text(rows: Iterable[Sequence[str]]) -> str:
    """One line a row, cells between `` | ``; trailing empty cells (a caption padded to the table's width) and
    empty rows left out."""
    lines = []
    for row in rows:
        cells = list(row)
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            lines.append(" | ".join(cells))
    return "\n".join(lines)
