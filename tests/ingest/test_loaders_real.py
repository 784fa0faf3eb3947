"""Loaders on the documents that once stopped or fooled them (the PDFs made by scripts/build_loader_fixtures.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.errors import LimitReachedError

from askdocs.errors import LoadError
from ingest.loaders import RawSource, load
from ingest.loaders.main_content import extract_sections
from tests.conftest import FIXTURES

LOADERS = FIXTURES / "loaders"


def raw(name: str) -> RawSource:
    return RawSource(str(LOADERS / name), (LOADERS / name).read_bytes())


@pytest.mark.parametrize("algorithm", ["rc4", "aes128", "aes256"])
def test_pdfs_encrypted_with_an_owner_password_only_are_read(algorithm: str) -> None:
    document = load(raw(f"owner-{algorithm}.pdf"))
    assert "Net revenue grew 8% to 17,606 million euros" in document.text
    assert document.sections[0].page == 1


def test_without_the_crypto_package_an_aes_pdf_is_that_documents_error_not_a_crash() -> None:
    # The crash: pypdf's DependencyError is no PyPdfError and escaped the loader. A fresh interpreter where
    # `cryptography` cannot be imported, as on an install without pypdf's crypto extra.
    script = (
        "import sys; sys.modules['cryptography'] = None\n"
        "from askdocs.errors import LoadError\n"
        "from ingest.loaders import RawSource, load\n"
        f"path = {str(LOADERS / 'owner-aes256.pdf')!r}\n"
        "try:\n    load(RawSource(path, open(path, 'rb').read()))\n"
        "except LoadError as exc:\n    print(exc.reason)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert "cryptography>=3.1 is required for AES" in done.stdout and "pip install 'pypdf[crypto]'" in done.stdout


def test_a_pdf_that_needs_a_user_password_says_so() -> None:
    with pytest.raises(LoadError, match="encrypted PDF that needs a password to open"):
        load(raw("user-aes256.pdf"))


def test_a_pdf_with_an_array_over_pypdfs_default_limit_is_read() -> None:
    with pytest.raises(LimitReachedError):  # the failure seen on Microsoft's 10-Q filings
        PdfReader(LOADERS / "big-array.pdf").pages[0]["/AskdocsLongArray"].get_object()
    assert "A page with a very long array." in load(raw("big-array.pdf")).text


def test_table_rows_stay_one_line_of_cells() -> None:
    text = load(raw("table.pdf")).text
    rows = ("Net revenue | 17,606 | 16,434", "Cost of revenue | (6,021) | (5,870)", "Gross margin | 11,585 | 10,564")
    for row in rows:
        assert f"\n{row}\n" in text, text
    assert "Revenue grew because more customers renewed" in text  # prose stays prose


NO_TESSERACT = "Tesseract is not installed, so OCR cannot be tested: apt-get install tesseract-ocr"


@pytest.mark.skipif(shutil.which("tesseract") is None, reason=NO_TESSERACT)
def test_a_scanned_page_is_read_by_ocr_with_its_page_number() -> None:
    document = load(raw("scanned-text.pdf"))
    assert [s.page for s in document.sections] == [1]
    text = " ".join(document.text.split())
    assert "Taxi receipts above 40 euros" in text and "approval from a manager" in text


def test_without_tesseract_a_scanned_page_says_how_to_enable_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no tesseract on PATH: the machine without it
    with pytest.raises(LoadError) as info:
        load(raw("scanned-text.pdf"))
    assert "no text layer; needs OCR" in info.value.reason and "apt-get install tesseract-ocr" in info.value.reason


def test_an_html_bomb_of_50000_nested_divs_is_read_not_a_recursion_error(tmp_path: Path) -> None:
    html = "<html><head><title>Export</title></head><body>" + "<div>" * 50_000
    html += "<p>The export kept one paragraph of real text.</p>" + "</div>" * 50_000 + "</body></html>"
    document = load(RawSource(str(tmp_path / "bomb.html"), html.encode()))
    assert document.title == "Export" and "one paragraph of real text" in document.text


NESTED_LIST = (
    "- Radio (charged the night before)\n  - Spare battery\n  - Charger\n    - USB-C cable\n- First-aid kit\n- Map case"
)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("nested-list-short.html", range(150)),  # under 150 words: the loader's own rules read it
        ("nested-list-article.html", range(150, 1000)),  # an article: trafilatura's main content
    ],
)
def test_a_nested_list_follows_its_item_indented_and_is_not_repeated(name: str, words: range) -> None:
    # The rules printed "- Radio Spare battery Charger USB-C cable (charged ...)", then each nested item again, and
    # an unclosed <li> (which Python's parser nests in the one before) held all the items after it.
    document = load(raw(name))
    assert len(document.text.split()) in words
    assert NESTED_LIST in document.text
    assert [document.text.count(item) for item in ("Spare battery", "Charger", "USB-C cable", "Map case")] == [1] * 4


def test_the_main_content_extractor_reads_the_nested_list_as_the_rules_do() -> None:
    sections = extract_sections((LOADERS / "nested-list-article.html").read_text())
    assert sections is not None and any(NESTED_LIST in section.text for section in sections)


@pytest.mark.skipif(shutil.which("tesseract") is None, reason=NO_TESSERACT)
def test_a_page_of_drawings_only_is_reported_after_ocr_found_no_text() -> None:
    # 12 figure-only PDFs of the TeX Live documentation end like this in bench/robustness.py.
    path = FIXTURES / "bad" / "scanned.pdf"
    with pytest.raises(LoadError) as info:
        load(RawSource(str(path), path.read_bytes()))
    assert info.value.reason == "PDF has 1 page(s) but no text layer; needs OCR: Tesseract found no text on it"


def test_an_sec_filing_is_titled_by_its_cover_page_and_its_chunks_carry_the_company(embedder: Any) -> None:
    from askdocs.models import Provenance
    from askdocs.settings import ChunkingSettings
    from ingest.chunking import build_chunker, make_chunks

    document = load(raw("sec-cover.pdf"))  # metadata title: an accession number
    assert document.title == "Northwind Labs, Inc. Form 10-Q, quarterly period ended March 31, 2023"
    settings = ChunkingSettings()  # the default, structural: the title heads every chunk's embedded text
    chunker = build_chunker(settings.chunker, embedder, settings.chunk_size, settings.chunk_overlap)
    chunks = make_chunks(chunker, document, "v1", Provenance())
    table = next(c for c in chunks if "Net revenue | 17,606" in c.text)
    assert table.page == 2 and "Northwind" not in table.text
    assert table.embed_text.startswith("Northwind Labs, Inc. Form 10-Q")  # what the embedder and BM25 see
