"""PDF: text by page with pypdf; pages become sections so citations can say "p. 12"."""

from __future__ import annotations

import io
import logging
import re

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError

from askdocs.errors import LoadError
from askdocs.models import Document, Section
from ingest.loaders import RawSource
from ingest.loaders.text import build

_SPACES = re.compile(r"[ \t]+")
_BLANKS = re.compile(r"\n{3,}")
_BULLET = re.compile(r"^([-•*]|\d+[.)])\s")


class PdfLoader:
    kind = "pdf"

    def load(self, raw: RawSource) -> Document:
        logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings on odd files are not ours to print
        reader = self._open(raw)
        sections: list[Section] = []
        try:
            for number, page in enumerate(reader.pages, start=1):
                text = _clean(page.extract_text() or "")
                if text:
                    sections.append(Section(text, (), number))
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LoadError(raw.source, f"corrupt PDF, text extraction failed ({exc})") from exc
        if not sections:
            raise LoadError(raw.source, f"PDF has {len(reader.pages)} page(s) but no text layer; needs OCR")
        return build(raw, self.kind, _title(reader, sections, raw), sections)

    def _open(self, raw: RawSource) -> PdfReader:
        try:
            reader = PdfReader(io.BytesIO(raw.data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise LoadError(raw.source, "encrypted PDF; askdocs cannot read it without the password")
            if len(reader.pages) == 0:
                raise LoadError(raw.source, "PDF has no pages")
        except FileNotDecryptedError as exc:
            raise LoadError(raw.source, "encrypted PDF; askdocs cannot read it without the password") from exc
        except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            raise LoadError(raw.source, f"corrupt or truncated PDF ({exc})") from exc
        return reader


def _clean(text: str) -> str:
    """Undo layout line breaks: a line that does not end a sentence continues on the next line."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if out and out[-1] and line and not out[-1].endswith((".", ":", "!", "?")) and not _BULLET.match(line):
            out[-1] = f"{out[-1][:-1]}{line}" if out[-1].endswith("-") and line[:1].islower() else f"{out[-1]} {line}"
        else:
            out.append(line)
    return _BLANKS.sub("\n\n", "\n".join(out)).strip()


def _title(reader: PdfReader, sections: list[Section], raw: RawSource) -> str:
    try:
        meta_title = (reader.metadata.title or "").strip() if reader.metadata else ""
    except (PyPdfError, ValueError, KeyError, TypeError):
        meta_title = ""
    if meta_title and meta_title.lower() not in {"untitled", "microsoft word"}:
        return meta_title
    first_line = sections[0].text.split("\n", 1)[0].strip()
    return first_line[:120] if 3 <= len(first_line) <= 120 else raw.stem
