"""OCR for PDF pages without a text layer (scans): pdfium renders the page, the Tesseract program reads it.

Tesseract is a system program (Debian/Ubuntu: ``apt-get install tesseract-ocr``), found on PATH; without it
``available()`` is False and the PDF loader says how to enable OCR. One page at a time, so memory stays at one
rendered page (about 25 MB at 300 dpi for A4).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess

from askdocs.errors import LoadError

INSTALL_HINT = "install Tesseract to OCR it (Debian/Ubuntu: apt-get install tesseract-ocr) and ingest it again"
_DPI = 300
_PAGE_TIMEOUT_S = 120.0  # one page; the whole document is bounded by the parse time limit
_MAX_SIDE_PX = 10_000  # a poster-sized page is scaled down to this rather than rendered at full resolution


def available() -> bool:
    return shutil.which("tesseract") is not None


def ocr_pages(source: str, data: bytes, numbers: list[int], language: str = "eng") -> dict[int, str]:
    """The text Tesseract reads on each of the given pages (1-based numbers), by page number."""
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise LoadError(source, f"PDF cannot be rendered for OCR ({exc})") from exc
    try:
        return {number: _read(source, _png(pdf[number - 1]), language) for number in numbers}
    finally:
        pdf.close()


def _png(page: object) -> bytes:
    import pypdfium2

    assert isinstance(page, pypdfium2.PdfPage)
    width, height = page.get_size()  # in points, 1/72 inch
    scale = min(_DPI / 72, _MAX_SIDE_PX / max(width, height, 1))
    image = page.render(scale=scale, grayscale=True).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    page.close()
    return buffer.getvalue()


def _read(source: str, png: bytes, language: str) -> str:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # Tesseract's threads fight for a shared CPU for no gain
    try:
        done = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", language, "--psm", "3"],
            input=png,
            capture_output=True,
            timeout=_PAGE_TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LoadError(source, f"OCR of a page took longer than {_PAGE_TIMEOUT_S:g} s") from exc
    except OSError as exc:
        raise LoadError(source, f"Tesseract could not be run ({exc}); {INSTALL_HINT}") from exc
    if done.returncode != 0:
        error = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise LoadError(source, f"Tesseract failed on a page: {error[0]}")
    return done.stdout.decode("utf-8", "replace")
