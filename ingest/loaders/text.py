"""Plain text and Markdown."""

from __future__ import annotations

import re

from askdocs.errors import LoadError
from askdocs.models import Document, Section
from ingest.loaders import RawSource, content_hash, doc_id_for

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
        path: list[str] = []
        sections: list[Section] = []
        lines: list[str] = []
        title = ""
        in_code = False

        def flush() -> None:
            if lines:
                sections.append(Section(_plain("\n".join(lines)).strip(), tuple(path)))
                lines.clear()

        for line in decode(raw).replace("\r\n", "\n").split("\n"):
            if line.lstrip().startswith("```"):
                in_code = not in_code
                continue
            match = None if in_code else _HEADING.match(line)
            if match is None:
                lines.append(line)
                continue
            flush()
            level, heading = len(match.group(1)), _plain(match.group(2))
            del path[level - 1 :]
            path.extend([""] * (level - 1 - len(path)))
            path.append(heading)
            title = title or (heading if level == 1 else "")
        flush()
        sections = [Section(s.text, tuple(p for p in s.heading_path if p)) for s in sections]
        return build(raw, self.kind, title or raw.stem, sections)


def _plain(text: str) -> str:
    return _EMPHASIS.sub(r"\2", _LINK.sub(r"\1", text))
