#!/usr/bin/env python3
"""Build the loader fixtures under tests/fixtures/loaders/: real documents that once stopped or fooled a loader.

Files produced:
    owner-rc4.pdf       encrypted with an owner password only (opens without one), RC4-128
    owner-aes128.pdf    the same, AES-128 (needs the cryptography package)
    owner-aes256.pdf    the same, AES-256 (the common case of published annual reports)
    user-aes256.pdf     AES-256 with a user password: cannot be opened without it
    scanned-text.pdf    one page that is only an image of printed text (no text layer): for OCR
    big-array.pdf       a page carrying an array of 150,000 numbers (pypdf's default limit is 100,000; real
                        10-Q filings have such arrays)
    table.pdf           a financial statement laid out in columns (label, then one amount per period)
    sec-cover.pdf       a quarterly report (Form 10-Q) whose metadata title is an accession number: the cover
                        page names the company and period, the statement on page 2 does not

The encrypted files are made by pypdf's own writer. AES adds random initialisation vectors, so those bytes differ
between runs; their content does not. Usage:

    python scripts/build_loader_fixtures.py [OUTPUT_DIR]

Requires fpdf2, pypdf[crypto] and Pillow.
"""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, NameObject, NumberObject

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT_DIR = REPO_ROOT / "tests" / "fixtures" / "loaders"
CREATION_DATE = datetime(2025, 1, 15, 9, 0, 0, tzinfo=UTC)
USER_PASSWORD = "open-sesame"
OWNER_PASSWORD = "owner-only"
SCANNED_LINES = [
    "Northwind Labs Expense Policy",
    "Taxi receipts above 40 euros",
    "need approval from a manager.",
]
TABLE_ROWS = [
    ("Net revenue", "17,606", "16,434"),
    ("Cost of revenue", "(6,021)", "(5,870)"),
    ("Gross margin", "11,585", "10,564"),
    ("Operating income", "4,210", "3,902"),
]


def _text_pdf(title: str, paragraphs: list[str]) -> bytes:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_title(title)
    pdf.set_creation_date(CREATION_DATE)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _encrypted(algorithm: str, user_password: str) -> bytes:
    source = _text_pdf(
        "Annual Report 2024",
        [f"Net revenue grew 8% to 17,606 million euros. This copy is protected with {algorithm}."],
    )
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    writer.encrypt(user_password=user_password, owner_password=OWNER_PASSWORD, algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_scanned_text() -> bytes:
    """Printed text as pixels only: an A4-proportioned grey image wrapped in a PDF page, as a scanner makes it."""
    image = Image.new("L", (1654, 2339), 250)  # A4 at 200 dpi
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=64)
    for i, line in enumerate(SCANNED_LINES):
        draw.text((150, 250 + i * 110), line, fill=20, font=font)
    png = io.BytesIO()
    image.save(png, format="PNG")
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_creation_date(CREATION_DATE)
    pdf.add_page()
    pdf.image(png, x=0, y=0, w=210, h=297)
    return bytes(pdf.output())


def make_big_array() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_text_pdf("Big array", ["A page with a very long array."]))))
    numbers = ArrayObject(NumberObject(i % 997) for i in range(150_000))
    writer.pages[0][NameObject("/AskdocsLongArray")] = writer._add_object(numbers)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _statement(pdf: FPDF, years: tuple[str, str]) -> None:
    """A new page with a statement of operations: a label column, then one amount column per year."""
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 10, "Condensed Statements of Operations (in millions)", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for label, *amounts in [("", *years), *TABLE_ROWS]:
        pdf.cell(100, 7, label)
        for amount in amounts:
            pdf.cell(35, 7, amount, align="R")
        pdf.ln(7)


def make_table() -> bytes:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_title("Condensed Statements of Operations")
    pdf.set_creation_date(CREATION_DATE)
    _statement(pdf, ("2022", "2021"))
    pdf.ln(4)
    pdf.multi_cell(0, 6, "Revenue grew because more customers renewed their contracts than in the year before.")
    return bytes(pdf.output())


SEC_COVER = [
    "UNITED STATES SECURITIES AND EXCHANGE COMMISSION",
    "Washington, D.C. 20549",
    "FORM 10-Q",
    "QUARTERLY REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF 1934",
    "For the quarterly period ended March 31, 2023",
    "Commission File Number: 001-99999",
    "Northwind Labs, Inc.",
    "(Exact name of registrant as specified in its charter)",
    "Delaware 12-3456789",
]


def make_sec_cover() -> bytes:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_title("0000999999-23-000001")  # what EDGAR exports carry
    pdf.set_creation_date(CREATION_DATE)
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    for line in SEC_COVER:
        pdf.cell(0, 7, line, align="C", new_x="LMARGIN", new_y="NEXT")
    _statement(pdf, ("2023", "2022"))
    return bytes(pdf.output())


def build(output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "owner-rc4.pdf": _encrypted("RC4-128", ""),
        "owner-aes128.pdf": _encrypted("AES-128", ""),
        "owner-aes256.pdf": _encrypted("AES-256", ""),
        "user-aes256.pdf": _encrypted("AES-256", USER_PASSWORD),
        "scanned-text.pdf": make_scanned_text(),
        "big-array.pdf": make_big_array(),
        "table.pdf": make_table(),
        "sec-cover.pdf": make_sec_cover(),
    }
    for name, data in files.items():
        (output_dir / name).write_bytes(data)
        print(f"wrote {output_dir / name} ({len(data)} bytes)")


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT_DIR)
