"""PDF: text by page with pypdf; pages become sections so citations can say "p. 12".

- Encrypted PDFs that open without a password (an owner password that only forbids editing: RC4, AES-128,
  AES-256) are read; AES needs ``cryptography`` (``pypdf[crypto]``). One that needs a user password is reported.
- Table rows stay whole: a page with table-like lines is read in pypdf's layout mode and each row becomes one line
  of cells, "Net sales | $ 96,388 | $ 104,429" (see ``layout.py``); prose lines are joined into paragraphs.
- Pages without a text layer are OCR'd when Tesseract is installed (``ocr.py``), keeping their page numbers.
- pypdf's parsing of page content streams, two thirds of a filing's parse, is replaced by a faster reader of the
  same operations while the loader runs (``content_stream.py``).
- The pages to read and to OCR are reported (``work.py``) as soon as they are known: the parse's time limit grows
  with them.
- pypdf's limits on array and dictionary sizes are raised: real filings carry arrays over its 100,000 default, and
  the parse already runs with a time and memory limit (ingest/parsing.py).
"""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader, apply_configuration
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError

from askdocs.errors import LoadError
from askdocs.models import Document, Section
from ingest.loaders import RawSource, ocr, work
from ingest.loaders.content_stream import parsed_fast
from ingest.loaders.cover import cover_title
from ingest.loaders.layout import page_text
from ingest.loaders.text import build

_MAX_ELEMENTS = 10_000_000
_BROKEN = (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError, ZeroDivisionError)
_NEEDS_PASSWORD = "encrypted PDF that needs a password to open; askdocs cannot read it: ingest a copy without one"


class PdfLoader:
    kind = "pdf"

    def load(self, raw: RawSource) -> Document:
        logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings on odd files are not ours to print
        with (
            apply_configuration(
                array_maximum_element_count=_MAX_ELEMENTS, dictionary_maximum_element_count=_MAX_ELEMENTS
            ),
            parsed_fast(),  # pypdf's page operators, read faster (content_stream.py)
        ):
            reader = _open(raw)
            work.report(work.Work(pages=len(reader.pages)))  # the child parser grants time for them
            texts = _texts(reader, raw)
            meta_title = _meta_title(reader)
        empty = [number for number, text in enumerate(texts, start=1) if not text]
        if empty and ocr.available():
            work.report(work.Work(ocr_pages=len(empty)))
            for number, text in ocr.ocr_pages(raw.source, raw.data, empty).items():
                texts[number - 1] = page_text(text, layout=None)
        sections = [Section(text, (), number) for number, text in enumerate(texts, start=1) if text]
        if not sections:
            how = "Tesseract found no text on it" if ocr.available() else ocr.INSTALL_HINT
            raise LoadError(raw.source, f"PDF has {len(texts)} page(s) but no text layer; needs OCR: {how}")
        return build(raw, self.kind, _title(meta_title, sections, raw), sections)


def _open(raw: RawSource) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(raw.data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(raw.source, _NEEDS_PASSWORD)
        if len(reader.pages) == 0:
            raise LoadError(raw.source, "PDF has no pages")
    except FileNotDecryptedError as exc:
        raise LoadError(raw.source, _NEEDS_PASSWORD) from exc
    except DependencyError as exc:  # not a PyPdfError: AES without the cryptography package
        raise LoadError(raw.source, f"PDF needs a missing package ({exc}): pip install 'pypdf[crypto]'") from exc
    except NotImplementedError as exc:  # an encryption scheme pypdf does not implement
        raise LoadError(raw.source, f"PDF uses an unsupported feature ({exc})") from exc
    except (PdfReadError, OSError, RecursionError, *_BROKEN) as exc:
        raise LoadError(raw.source, f"corrupt or truncated PDF ({type(exc).__name__}: {exc})") from exc
    return reader


def _texts(reader: PdfReader, raw: RawSource) -> list[str]:
    """Each page's text ("" for a page without a text layer)."""
    texts = []
    try:
        for page in reader.pages:
            texts.append(page_text(page.extract_text() or "", layout=page))
    except DependencyError as exc:
        raise LoadError(raw.source, f"PDF needs a missing package ({exc})") from exc
    except (NotImplementedError, RecursionError, *_BROKEN) as exc:
        raise LoadError(raw.source, f"corrupt PDF, text extraction failed ({type(exc).__name__}: {exc})") from exc
    return texts


def _meta_title(reader: PdfReader) -> str:
    try:
        return (reader.metadata.title or "").strip() if reader.metadata else ""
    except (RecursionError, *_BROKEN):
        return ""


def _title(meta_title: str, sections: list[Section], raw: RawSource) -> str:
    # A cover page that names the document (an SEC filing's registrant, form and period) says more than metadata.
    if cover := cover_title("\n".join(s.text for s in sections[:2])):
        return cover
    # Not a placeholder, nor a file number without a word (SEC filings carry "0000320193-23-000006").
    if any(c.isalpha() for c in meta_title) and meta_title.lower() not in {"untitled", "microsoft word"}:
        return meta_title
    first_line = sections[0].text.split("\n", 1)[0].strip()
    return first_line[:120] if 3 <= len(first_line) <= 120 else raw.stem
