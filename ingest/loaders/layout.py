"""A PDF page's text as paragraphs and whole table rows.

pypdf's plain extraction keeps most table rows on one line but loses where one cell ends ("Total net sales
117,154 123,945"), and the old paragraph joining then ran rows together. So: when a page has table-like lines, it
is read again in pypdf's layout mode, where columns are separated by runs of spaces; such a line becomes one line
of cells, "Total net sales | 117,154 | 123,945", and is never joined to its neighbours. Other lines are joined
into paragraphs (a line that does not end a sentence continues on the next). docs/INGEST.md shows before/after.
"""

from __future__ import annotations

import re
from typing import Literal, Protocol

_SPACES = re.compile(r"[ \t]+")
_GAP = re.compile(r"\s{3,}")  # a column gap in layout mode (words inside a cell are one or two spaces apart)
_BLANKS = re.compile(r"\n{3,}")
_BULLET = re.compile(r"^([-•*]|\d+[.)])\s")
_NUMBER = re.compile(r"^[$€£(]*[-–—]?\d[\d,.]*\s?[)%]*$|^[-–—]$")
_PAREN = re.compile(r"\(\s*([\d,.]+)\s*\)")
_MIN_ROWS = 3  # table-like lines on a page before it is read again in layout mode


class LayoutPage(Protocol):
    def extract_text(self, *, extraction_mode: Literal["plain", "layout"] = ...) -> str: ...


def page_text(plain: str, layout: LayoutPage | None) -> str:
    """The page's text: ``plain`` (pypdf's default extraction, or OCR output), with its table rows whole when the
    page object ``layout`` can be read again in layout mode."""
    plain = plain.replace("\r", "\n")
    if layout is not None and sum(_looks_tabular(line) for line in plain.split("\n")) >= _MIN_ROWS:
        lines = [_row(line) for line in layout.extract_text(extraction_mode="layout").split("\n")]
    else:
        lines = [(_SPACES.sub(" ", line).strip(), False) for line in plain.split("\n")]
    return _paragraphs(lines)


def _looks_tabular(line: str) -> bool:
    """A label followed by at least two numbers, as plain extraction gives a table row."""
    tokens = [t for t in line.split() if t not in {"$", "€", "£"}]
    trailing = 0
    for token in reversed(tokens):
        if not _NUMBER.match(token):
            break
        trailing += 1
    return trailing >= 2


def _row(line: str) -> tuple[str, bool]:
    """A layout-mode line as (text, is a table row): cells split at column gaps, a lone "$" joined to its number."""
    cells: list[str] = []
    for cell in _GAP.split(line.strip()):
        cell = _PAREN.sub(r"(\1)", _SPACES.sub(" ", cell).strip())
        if cells and cells[-1] in {"$", "€", "£", "(", "$ ("}:
            cells[-1] = f"{cells[-1]} {cell}"
        elif cells and cell in {")", "%", ")%"}:  # a closing bracket set apart from its number
            cells[-1] += cell
        elif cell:
            cells.append(cell)
    if len(cells) >= 2 and any(_NUMBER.match(c.replace("$ ", "$")) for c in cells[1:]):
        return " | ".join(cells), True
    return " ".join(cells), False


def _paragraphs(lines: list[tuple[str, bool]]) -> str:
    """Undo layout line breaks in prose; table rows stay lines of their own."""
    out: list[str] = []
    row_before = False
    for line, is_row in lines:
        last = out[-1] if out else ""
        joins = last and line and not is_row and not row_before and not _BULLET.match(line)
        if joins and not last.endswith((".", ":", "!", "?")):
            out[-1] = f"{last[:-1]}{line}" if last.endswith("-") and line[:1].islower() else f"{last} {line}"
        else:
            out.append(line)
        row_before = is_row if line else row_before
    return _BLANKS.sub("\n\n", "\n".join(out)).strip()
