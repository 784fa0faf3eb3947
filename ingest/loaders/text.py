"""Plain text and Markdown."""

from __future__ import annotations

import re
from collections.abc import Iterator

from askdocs.errors import LoadError
from askdocs.models import Document, Section
from ingest.loaders import RawSource, content_hash, doc_id_for
from ingest.loaders.sections import SectionBuilder, clean

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")


def decode(raw: RawSource) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LoadError(raw.source, "not valid UTF-8 or Windows-1252 text")


def build(raw: RawSource, kind: str, title: str, sections: list[Section]) -> Document:
    kept = tuple(s for s in sections if s.text.strip())
    return Document(
        doc_id=doc_id_for(raw.source),
        source=raw.source,
        title=title,
        sections=kept,
        content_hash=content_hash("\n\n".join(f"{s.heading_path}{s.page}{s.text}" for s in kept)),
        kind=kind,
    )


class TextLoader:
    kind = "text"

    def load(self, raw: RawSource) -> Document:
        text = decode(raw).replace("\r\n", "\n").strip()
        return build(raw, self.kind, raw.stem, [Section(text)])


class MarkdownLoader:
    kind = "markdown"

    def load(self, raw: RawSource) -> Document:
        builder = SectionBuilder()
        title = ""
        for level, text in _blocks(decode(raw)):
            if level:
                builder.heading(level, text)
                title = title or (text if level == 1 else "")
            else:
                builder.add(text)
        return build(raw, self.kind, title or raw.stem, builder.sections())


def _blocks(markdown: str) -> Iterator[tuple[int, str]]:
    """ATX headings as (level, text), and the blocks between them as (0, text): paragraphs (up to a blank line)
    with the link and emphasis marks taken out, and fenced code as written (``__init__`` is code, not emphasis)."""
    lines: list[str] = []
    in_code = False
    for line in markdown.replace("\r\n", "\n").split("\n"):
        fence = line.lstrip().startswith("```")
        heading = None if in_code or fence else _HEADING.match(line)
        if lines and (fence or heading or not (in_code or line.strip())):
            yield 0, _block(lines, in_code)
            lines = []
        if fence:
            in_code = not in_code
        elif heading:
            yield len(heading.group(1)), clean(_plain(heading.group(2)))
        elif in_code or line.strip():
            lines.append(line)
    if lines:
        yield 0, _block(lines, in_code)


def _block(lines: list[str], code: bool) -> str:
    text = "\n".join(lines)
    return text.strip("\n") if code else _plain(text).strip()


def _plain(text: str) -> str:
    return _EMPHASIS.sub(r"\2", _LINK.sub(r"\1", text))
