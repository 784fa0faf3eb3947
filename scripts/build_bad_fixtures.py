#!/usr/bin/env python3
"""Build the bad-input (and simple good-input) fixtures under tests/fixtures/bad/.

Files produced:
    corrupt.pdf    starts with a %PDF-1.4 header, followed by pseudo-random garbage
    truncated.pdf  a valid fpdf2 PDF with text, cut to its first 60% of bytes
    encrypted.pdf  a valid PDF with text, encrypted with user password "secret"
                   (owner password "owner-secret")
    scanned.pdf    a valid one-page PDF with drawings only and no text layer
    empty.html     an HTML page with only nav, footer and script, no main text
    good.md        a small Markdown document (Project Aurora)
    good.txt       a plain text file (office cafeteria opening hours)

Output is deterministic: fixed seeds, fixed creation dates and fixed PDF file
identifiers. After writing the files the script checks each PDF with pypdf and
prints the results; it exits with status 1 if a check fails.

Usage:
    python scripts/build_bad_fixtures.py [OUTPUT_DIR]

Requires fpdf2 and pypdf.
"""

from __future__ import annotations

import io
import logging
import random
import sys
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT_DIR = REPO_ROOT / "tests" / "fixtures" / "bad"
HANDBOOK_PDF = REPO_ROOT / "examples" / "handbook" / "benefits-and-travel.pdf"

CREATION_DATE = datetime(2025, 1, 15, 9, 0, 0, tzinfo=UTC)
ENCRYPTION_PASSWORD = "secret"
OWNER_PASSWORD = "owner-secret"
TRUNCATE_RATIO = 0.6

EMPTY_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Northwind Labs Intranet</title>
</head>
<body>
  <nav aria-label="Main">
    <ul>
      <li><a href="index.html">Home</a></li>
      <li><a href="leave.html">Leave</a></li>
      <li><a href="expenses.html">Expenses</a></li>
    </ul>
  </nav>
  <script>
    document.addEventListener("DOMContentLoaded", function () {
      console.log("intranet shell loaded");
    });
  </script>
  <footer>
    <p>&copy; 2025 Northwind Labs B.V.</p>
  </footer>
</body>
</html>
"""

GOOD_MD = """# Project Aurora Launch Plan

## Launch date

Project Aurora, the new real-time dashboard for Northwind Atlas, will launch to
all customers on 12 May 2027. A closed beta with five pilot warehouses starts
three months earlier, and the launch date is confirmed at the steering meeting
in March 2027.

## Budget

The total budget for Project Aurora is 2 million EUR, covering engineering,
design, cloud infrastructure and the launch campaign. Any spending above this
amount must be approved by the leadership team before it is committed.
"""

GOOD_TXT = """The office cafeteria on the ground floor of the Utrecht office is open from 08:00 to 14:30 on every working day. Breakfast is served until 10:00, and hot lunch dishes are available from 11:30 until closing time.

Outside these opening hours, the coffee machines and the fruit bowl on each floor remain available. The cafeteria is closed on public holidays and during the two weeks between Christmas and New Year.
"""


def _text_pdf_bytes(title: str, paragraphs: list[str]) -> bytes:
    """Return a small, valid PDF with a real text layer made with fpdf2."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_title(title)
    pdf.set_creator("askdocs scripts/build_bad_fixtures.py")
    pdf.set_creation_date(CREATION_DATE)
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "", 11)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    return bytes(pdf.output())


def make_corrupt() -> bytes:
    rng = random.Random(20250115)
    garbage = bytes(rng.getrandbits(8) for _ in range(2048))
    # Make sure no accidental PDF keywords appear in the garbage.
    for keyword in (b"obj", b"xref", b"trailer", b"%%EOF", b"startxref"):
        garbage = garbage.replace(keyword, b"\x00" * len(keyword))
    return b"%PDF-1.4\n" + garbage


def make_truncated() -> bytes:
    data = _text_pdf_bytes(
        "Quarterly Facilities Report",
        [
            "The Berlin office will be renovated during the summer. Meeting rooms on "
            "the second floor are unavailable from June until the end of August.",
            "New bicycle parking with 40 places opens in the Utrecht office garage "
            "in April. Access is with your regular building badge.",
        ]
        * 3,
    )
    return data[: int(len(data) * TRUNCATE_RATIO)]


def make_encrypted() -> bytes:
    source = _text_pdf_bytes(
        "Salary Review Timeline",
        [
            "Salary reviews take place once a year. Managers submit their proposals "
            "in October and employees are informed of the outcome in December.",
            "This document is encrypted; its text can only be read with the password.",
        ],
    )
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    # pypdf picks random file identifiers by default; fix them for reproducible
    # output. RC4-128 derives its key from the password and the first identifier
    # only, so no other randomness is involved (AES would add random IVs).
    writer._ID = ArrayObject([ByteStringObject(b"askdocs-fixture1"), ByteStringObject(b"askdocs-fixture1")])
    writer.encrypt(user_password=ENCRYPTION_PASSWORD, owner_password=OWNER_PASSWORD, algorithm="RC4-128")
    writer._ID = ArrayObject([ByteStringObject(b"askdocs-fixture1"), ByteStringObject(b"askdocs-fixture2")])
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_scanned() -> bytes:
    """A one-page PDF that looks like a scanned form: drawings only, no text."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_creator("askdocs scripts/build_bad_fixtures.py")
    pdf.set_creation_date(CREATION_DATE)
    pdf.add_page()
    # Slightly grey "paper" with a frame, as a scanner would produce.
    pdf.set_fill_color(245, 245, 240)
    pdf.rect(5, 5, 200, 287, style="F")
    pdf.set_draw_color(60, 60, 60)
    pdf.set_line_width(0.6)
    pdf.rect(15, 15, 180, 267)
    # A dark block where a logo would be.
    pdf.set_fill_color(90, 90, 90)
    pdf.rect(20, 20, 40, 15, style="F")
    # Grey bars imitating lines of printed text, drawn as shapes only.
    pdf.set_fill_color(150, 150, 150)
    rng = random.Random(42)
    y = 50.0
    while y < 260:
        pdf.rect(25, y, rng.uniform(110, 160), 2.5, style="F")
        y += rng.choice((6.0, 6.0, 6.0, 12.0))
    # A signature-like line at the bottom.
    pdf.set_line_width(0.3)
    pdf.line(120, 272, 185, 272)
    return bytes(pdf.output())


def build(output_dir: Path) -> dict[str, Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {
        "corrupt.pdf": make_corrupt(),
        "truncated.pdf": make_truncated(),
        "encrypted.pdf": make_encrypted(),
        "scanned.pdf": make_scanned(),
        "empty.html": EMPTY_HTML.encode("utf-8"),
        "good.md": GOOD_MD.encode("utf-8"),
        "good.txt": GOOD_TXT.encode("utf-8"),
    }
    paths = {}
    for name, data in files.items():
        path = output_dir / name
        path.write_bytes(data)
        paths[name] = path
        print(f"wrote {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path} ({len(data)} bytes)")
    return paths


# --------------------------------------------------------------------------- checks


def _try_read(path: Path) -> tuple[str, int | None]:
    """Open a PDF with pypdf in strict mode and count pages; describe what happened."""
    try:
        reader = PdfReader(path, strict=True)
        return "ok", len(reader.pages)
    except Exception as exc:
        return f"error {type(exc).__name__}: {str(exc)[:70]}", None


def _try_read_lenient(path: Path) -> str:
    """Same with pypdf's default (non-strict) recovery, including text extraction."""
    try:
        reader = PdfReader(path)
        pages = len(reader.pages)
        chars = sum(len((page.extract_text() or "").strip()) for page in reader.pages)
        return f"pages={pages} text_chars={chars}"
    except Exception as exc:
        return f"error {type(exc).__name__}: {str(exc)[:70]}"


def verify(paths: dict[str, Path]) -> bool:
    ok = True

    def report(name: str, passed: bool, detail: str) -> None:
        nonlocal ok
        ok = ok and passed
        print(f"  [{'PASS' if passed else 'FAIL'}] {name}: {detail}")

    print("pypdf verification:")
    for name in ("corrupt.pdf", "truncated.pdf"):
        status, pages = _try_read(paths[name])
        lenient = _try_read_lenient(paths[name])
        unreadable = pages is None or pages == 0
        lenient_no_text = lenient.startswith("error") or "text_chars=0" in lenient or "pages=0" in lenient
        report(
            name,
            unreadable and lenient_no_text,
            f"strict: {status}, pages={pages}; lenient: {lenient}",
        )

    reader = PdfReader(paths["encrypted.pdf"])
    encrypted = reader.is_encrypted
    locked_error = ""
    try:
        reader.pages[0].extract_text()
    except Exception as exc:
        locked_error = type(exc).__name__
    unlocked = PdfReader(paths["encrypted.pdf"])
    decrypt_result = unlocked.decrypt(ENCRYPTION_PASSWORD)
    unlocked_text = unlocked.pages[0].extract_text()
    report(
        "encrypted.pdf",
        encrypted and bool(locked_error) and "Salary reviews" in unlocked_text,
        f"is_encrypted={encrypted}; reading without password -> {locked_error or 'no error'}; "
        f"decrypt('{ENCRYPTION_PASSWORD}') -> {decrypt_result.name}, "
        f"text_chars={len(unlocked_text.strip())}",
    )

    reader = PdfReader(paths["scanned.pdf"])
    text = "".join(page.extract_text() for page in reader.pages)
    report(
        "scanned.pdf",
        len(reader.pages) == 1 and text.strip() == "",
        f"pages={len(reader.pages)}, extract_text()={text!r}",
    )

    if HANDBOOK_PDF.exists():
        reader = PdfReader(HANDBOOK_PDF)
        per_page = [len(page.extract_text().strip()) for page in reader.pages]
        title = (reader.metadata or {}).get("/Title")
        report(
            "examples/handbook/benefits-and-travel.pdf",
            len(per_page) >= 4 and all(per_page) and title == "Northwind Labs Benefits and Travel Guide",
            f"pages={len(per_page)}, text_chars_per_page={per_page}, Title={title!r}",
        )
    else:
        report("examples/handbook/benefits-and-travel.pdf", False, "missing; run scripts/build_sample_pdf.py")

    return ok


def main() -> int:
    # pypdf logs warnings such as "EOF marker not found" for the broken files;
    # the checks below report those outcomes explicitly.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    output_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT_DIR
    paths = build(output_dir)
    return 0 if verify(paths) else 1


if __name__ == "__main__":
    sys.exit(main())
