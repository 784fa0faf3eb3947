"""Evaluation reports as ``askdocs eval`` writes them (``--out``): a Markdown file (the command, then tables) and,
beside it, a PNG chart of the same name. Read from ``ASKDOCS_SERVICE__REPORTS_DIR``, newest first."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_CHART_BYTES = 2 * 2**20  # a bigger PNG is named, not inlined
_RULE = re.compile(r"^\s*\|[\s:|-]+\|\s*$")


@dataclass(frozen=True, slots=True)
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True, slots=True)
class Report:
    path: str  # relative to the reports folder
    modified: float
    blocks: list[Table | str] = field(default_factory=list)  # tables, and paragraphs (headings without the '#')
    chart: str | None = None  # a data: URI of the PNG beside it
    chart_note: str = ""


def listing(folder: Path) -> list[tuple[str, float]]:
    """Every report under ``folder`` (relative path, modified time), newest first; none if it does not exist."""
    if not folder.is_dir():
        return []
    found = [(p.relative_to(folder).as_posix(), p.stat().st_mtime) for p in folder.rglob("*.md") if p.is_file()]
    return sorted(found, key=lambda item: (-item[1], item[0]))


def read(folder: Path, relative: str, modified: float) -> Report:
    """One listed report (``relative`` comes from :func:`listing`, never straight from a request)."""
    path = folder / relative
    text = path.read_text(encoding="utf-8", errors="replace")
    chart, note = _chart(path.with_suffix(".png"))
    return Report(relative, modified, _blocks(text), chart, note)


def _blocks(text: str) -> list[Table | str]:
    out: list[Table | str] = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        lines = [line for line in chunk.splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.lstrip().startswith("|") for line in lines):
            rows = [_cells(line) for line in lines if not _RULE.match(line)]
            out.append(Table(rows[0], rows[1:]))
        else:
            out.append(" ".join(line.lstrip("#").strip() for line in lines))
    return out


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _chart(png: Path) -> tuple[str | None, str]:
    if not png.is_file():
        return None, ""
    size = png.stat().st_size
    if size > MAX_CHART_BYTES:
        return None, f"{png.name} ({size // 1024} KiB) is too large to show here"
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode(), ""
