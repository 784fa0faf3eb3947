from __future__ import annotations

import pytest

from askdocs.errors import LoadError
from ingest.loaders import RawSource, kind_of, load
from tests.conftest import BAD, HANDBOOK


def raw(path: object, content_type: str | None = None) -> RawSource:
    from pathlib import Path

    p = Path(str(path))
    return RawSource(str(p), p.read_bytes(), content_type)


def test_html_keeps_main_content_under_its_headings() -> None:
    doc = load(raw(HANDBOOK / "leave.html"))
    assert doc.kind == "html"
    assert doc.title.startswith("Leave and Time Off")
    text = doc.text
    assert "25 vacation days per calendar year, on top" in text
    assert "©" not in text and "Northwind Labs. All rights reserved" not in text  # footer dropped
    paths = {s.heading_path for s in doc.sections}
    assert any(len(p) >= 2 and p[0].startswith("Leave and Time Off") for p in paths)
    vacation = next(s for s in doc.sections if "25 vacation days" in s.text)
    assert vacation.heading_path[-1].lower().startswith("annual leave")


def test_html_navigation_is_not_content() -> None:
    doc = load(raw(HANDBOOK / "expenses.html"))
    nav_labels = {"Home", "Leave", "Security", "On-call"}
    first_lines = {s.text.split("\n", 1)[0].strip() for s in doc.sections}
    assert not nav_labels & first_lines


def test_html_tables_and_lists_become_text() -> None:
    doc = load(raw(HANDBOOK / "oncall.html"))
    assert any(" | " in s.text for s in doc.sections)
    assert any("\n- " in s.text or s.text.startswith("- ") for s in doc.sections)


def test_pdf_is_loaded_by_page_with_metadata_title() -> None:
    doc = load(raw(HANDBOOK / "benefits-and-travel.pdf"))
    assert doc.kind == "pdf"
    assert doc.title == "Northwind Labs Benefits and Travel Guide"
    assert [s.page for s in doc.sections] == [1, 2, 3, 4, 5]
    assert "80% of the monthly premium" in doc.sections[1].text
    assert "TripDesk" in doc.sections[3].text


def test_markdown_sections_follow_headings() -> None:
    doc = load(raw(BAD / "good.md"))
    assert doc.title == "Project Aurora Launch Plan"
    assert all(s.heading_path[0] == "Project Aurora Launch Plan" for s in doc.sections)
    assert any(len(s.heading_path) == 2 for s in doc.sections)  # "## " sections sit under the title
    assert "12 May 2027" in doc.text


def test_markdown_code_is_kept_as_written_and_prose_loses_its_marks() -> None:
    # Emphasis was taken out of code too: ASKDOCS_DATA_DIR became ASKDOCSDATADIR, __init__ became init.
    text = (
        "# Setup\n\nSet **one** variable, as the [install guide](install.md) says:\n"
        "```sh\nASKDOCS_DATA_DIR=/srv/askdocs askdocs serve\n```\n\n"
        "```python\n    def __init__(self) -> None:\n\n        self.ready = True\n```\n\n\n\nThen restart it.\n"
    )
    document = load(RawSource("/docs/setup.md", text.encode()))
    assert [s.text for s in document.sections] == [
        "Set one variable, as the install guide says:\n\n"
        "ASKDOCS_DATA_DIR=/srv/askdocs askdocs serve\n\n"
        "    def __init__(self) -> None:\n\n        self.ready = True\n\n"
        "Then restart it."
    ]


# Three sentences, four times: over the 150 words under which the HTML loader's rules decide alone.
LONG = (
    "The Tromso depot opens at half past six in the morning and closes at six in the evening on every working day "
    "of the year, except on public holidays. Field staff collect their radios at the counter before they leave "
    "and hand them back when they return."
)


def depot_guide(kind: str, paragraph: str) -> RawSource:
    """A guide with an h3 straight under its h1, then an h2 and a second h1, as Markdown or HTML."""
    parts = [(1, "Depot guide"), (3, "Radios"), (2, "Hours"), (1, "Vehicles")]
    if kind == "markdown":
        text = "".join(f"{'#' * level} {head}\n\n{paragraph} {n}.\n\n" for n, (level, head) in enumerate(parts))
        return RawSource("/docs/depot.md", text.encode())
    body = "".join(f"<h{level}>{head}</h{level}><p>{paragraph} {n}.</p>" for n, (level, head) in enumerate(parts))
    html = f"<html><head><title>Depot guide</title></head><body><article>{body}</article></body></html>"
    return RawSource("https://docs.example/depot.html", html.encode())


@pytest.mark.parametrize(
    ("kind", "paragraph"),
    [("markdown", LONG), ("html", "Short"), ("html", LONG)],  # HTML: by the rules, by trafilatura
)
def test_markdown_and_both_html_readers_nest_headings_the_same_way(kind: str, paragraph: str) -> None:
    document = load(depot_guide(kind, paragraph))
    # No empty level for the missing h2 under "Depot guide"; the h2 then replaces the h3; the second h1 starts over.
    assert [s.heading_path for s in document.sections] == [
        ("Depot guide",),
        ("Depot guide", "Radios"),
        ("Depot guide", "Hours"),
        ("Vehicles",),
    ]
    assert [s.text.rsplit(" ", 1)[-1] for s in document.sections] == ["0.", "1.", "2.", "3."]


@pytest.mark.parametrize("paragraph", ["Short", LONG])  # by the rules, by trafilatura
def test_both_html_readers_write_a_table_the_same_way(paragraph: str) -> None:
    table = (
        "<table><caption>Radio channels</caption><tr><th>Site</th><th>Channel</th><th>Backup</th></tr>"
        "<tr><td>Tromso depot</td><td>7</td><td></td></tr><tr><td></td><td></td><td></td></tr></table>"
    )
    before, after = (f"<p>{paragraph} {n}.</p><p>{paragraph} {n + 1}.</p>" for n in (1, 3))
    html = f"<html><body><article><h1>Radios</h1>{before}{table}{after}</article></body></html>"
    document = load(RawSource("https://docs.example/radios.html", html.encode()))
    assert "\n\nRadio channels\nSite | Channel | Backup\nTromso depot | 7\n\n" in document.text


def test_plain_text_is_one_section_titled_by_file_name() -> None:
    doc = load(raw(BAD / "good.txt"))
    assert doc.title == "good"
    assert "08:00" in doc.text


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("corrupt.pdf", "corrupt or truncated PDF"),
        ("truncated.pdf", "corrupt or truncated PDF"),
        ("encrypted.pdf", "encrypted PDF"),
        ("scanned.pdf", "no text layer; needs OCR"),
        ("empty.html", "no text found"),
    ],
)
def test_bad_files_raise_a_load_error_naming_the_problem(name: str, reason: str) -> None:
    with pytest.raises(LoadError) as info:
        load(raw(BAD / name))
    assert reason in info.value.reason
    assert info.value.source.endswith(name)


def test_type_comes_from_content_type_then_suffix_then_bytes() -> None:
    assert kind_of(RawSource("https://x/page", b"<html><body>hi</body></html>", "text/html; charset=utf-8")) == "html"
    assert kind_of(RawSource("https://x/doc", b"%PDF-1.7 ...", None)) == "pdf"
    assert kind_of(RawSource("/a/b.md", b"# hi", "text/plain")) == "markdown"
    with pytest.raises(LoadError, match="unsupported type"):
        kind_of(RawSource("/a/b.docx", b"PK\x03\x04", None))
