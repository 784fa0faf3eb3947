"""The faster content-stream reader gives exactly pypdf's operations: every stream of real PDFs (pages and the forms
they draw, as text extraction reads them), and streams written to hit each rule pypdf follows. On all 5,680 pages
of the FinanceBench filings and the 20 10-Q filings too (docs/INGEST.md, "Parse time")."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from ingest.loaders import RawSource, load
from ingest.loaders.content_stream import _operations, parsed_fast
from tests.conftest import FIXTURES, HANDBOOK, ULTA_PDF

PYPDF_PARSE = ContentStream._parse_content_stream


def canonical(value: Any) -> Any:
    """A value with its pypdf type and what text extraction reads of a string (original bytes, encoding)."""
    if isinstance(value, list | tuple):
        return type(value).__name__, [canonical(v) for v in value]
    if isinstance(value, dict):
        return type(value).__name__, sorted((repr(k), canonical(v)) for k, v in value.items())
    extra = [getattr(value, name, None) for name in ("_original_bytes", "autodetect_pdfdocencoding")]
    return type(value).__name__, repr(value), extra


def by_pypdf(data: bytes, encoding: Any = None) -> Any:
    return operations(data, encoding, nullcontext())


def by_reader(data: bytes, encoding: Any = None) -> Any:
    """What ContentStream.operations gives with the faster reader in place (pypdf's where it does not follow)."""
    return operations(data, encoding, parsed_fast())


def operations(data: bytes, encoding: Any, parser: AbstractContextManager[Any]) -> Any:
    stream = ContentStream(None, None, encoding)
    stream.set_data(data)
    with parser:
        try:
            return canonical(stream.operations)
        except Exception as exc:
            return type(exc).__name__, canonical(stream._operations)


@pytest.mark.parametrize(
    "path",
    [
        ULTA_PDF,  # a real filing: wkhtmltopdf, hex strings, tables
        FIXTURES / "loaders" / "table.pdf",
        HANDBOOK / "benefits-and-travel.pdf",
    ],
    ids=lambda p: p.name,
)
def test_every_stream_of_a_real_pdf_reads_the_same(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[int] = []

    def compare(self: ContentStream, stream: BytesIO) -> None:
        data = stream.getvalue()
        fast = canonical(_operations(data, self.forced_encoding))  # never pypdf's parser: it must follow all
        PYPDF_PARSE(self, stream)
        assert fast == canonical(self._operations)
        compared.append(len(data))

    monkeypatch.setattr(ContentStream, "_parse_content_stream", compare)
    pages = PdfReader(path).pages[:4]  # the filing's first four pages: prose, then statements
    for page in pages:
        page.extract_text()  # layout mode reads the same streams again
    assert len(compared) >= len(pages)


# Streams the reader reads itself (with pypdf's read_object where it says so), each at a rule pypdf follows.
FOLLOWED = [
    b"BT /F1 12 Tf 72 712 Td (Hello) Tj ET",
    b"BT /F1 12 Tf [(Net sales)-250(117,154)] TJ 0 -14.5 TD <0048006500>Tj <4 8 6 5 6> Tj <> Tj ET",
    b"(a \\(quoted\\) word) Tj (nested (parens) inside) Tj (octal \\101\\102 \\0533 and \\\nbreak) Tj",
    b"/Span <</ActualText (fi) /MCID 3>> BDC (\\223quoted\\224) Tj EMC",
    b"/Name#20with#20spaces gs /F\xc3\xa91 1 Tf",  # escapes and UTF-8 in names: pypdf decodes them
    b"% a comment\r\n1 0 0 1 0 0 cm (x) % another, before an operator\nTj",
    b"[(a) null (b)] TJ [(c) % comment\n(d)] TJ [1 [2 3] /N true] TJ",
    b"1-2 Td 1..5 Tw +3 -.5 .5 Td 12.5Td 1,5 Tc 1234567890123456789012 Tz",  # odd numbers read pypdf's way
    b"true false null Tj",  # operators at the top level, for pypdf
    b"[(unclosed) 1 2",
]
# Streams only pypdf's own parser reads (an inline image, a reference) or that it refuses.
HANDED = [
    b"q BI /W 2 /H 2 /BPC 8 /CS /G ID \x00\xff\x00\xff EI Q (after) Tj",
    b"1 0 R Do",
    b"] Tj",
    b"<12zz> Tj",
    b"(unterminated Tj",
    b"T" + b"j" * 200,  # an operator past pypdf's length limit
    b"/" + b"N" * 5000 + b" gs",
    b"BT\x0b(vertical tab) Tj ET",
]
ENCODINGS = [None, "bytes", ["a"] * 256]


@pytest.mark.parametrize("data", FOLLOWED)
def test_streams_at_each_rule_read_as_pypdf_reads_them(data: bytes) -> None:
    for encoding in ENCODINGS:
        assert canonical(_operations(data, encoding)) == by_pypdf(data, encoding)


@pytest.mark.parametrize("data", HANDED)
def test_streams_the_reader_does_not_follow_are_read_by_pypdf(data: bytes) -> None:
    with pytest.raises(Exception):  # noqa: B017, PT011 (its own _Unfollowed, or what pypdf raises)
        _operations(data, None)
    for encoding in ENCODINGS:
        assert by_reader(data, encoding) == by_pypdf(data, encoding)


def test_the_loader_reads_the_same_text_with_either_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = ULTA_PDF
    fast = load(RawSource(pdf.name, pdf.read_bytes()))
    assert ContentStream._parse_content_stream is PYPDF_PARSE  # put back once the loader is done
    monkeypatch.setattr("ingest.loaders.pdf.parsed_fast", nullcontext)
    slow = load(RawSource(pdf.name, pdf.read_bytes()))
    assert [s.text for s in fast.sections] == [s.text for s in slow.sections] and fast.title == slow.title
    assert "Fourth Quarter" in fast.title
