"""Web pages that lost their article or kept junk in their headings: form-wrapped intranet and news pages, Sphinx's
permalink anchors, an article the furniture rules miss (fixtures in tests/fixtures/loaders/, the Sphinx page a real
one: sphinx-python-faq.NOTICE.md)."""

from __future__ import annotations

from typing import Any

import pytest

from askdocs.models import Hit, Provenance
from askdocs.qa.pipeline import sources_for
from askdocs.settings import ChunkingSettings
from ingest.chunking import build_chunker, make_chunks
from ingest.loaders import RawSource, load
from tests.conftest import FIXTURES

LOADERS = FIXTURES / "loaders"
PERMALINK_MARKS = ("¶", "#", "🔗", "§", "\u200b")


def page(name: str) -> RawSource:
    return RawSource(f"https://intranet.example/{name}", (LOADERS / name).read_bytes(), "text/html")


def test_a_sharepoint_page_inside_its_aspnet_form_loads_whole_without_the_ribbon_or_quick_launch() -> None:
    # <form id="aspnetForm"> around the whole page: dropped as furniture, it was "no text found in the document".
    document = load(page("sharepoint-page.html"))
    assert document.title == "Travel Policy"
    assert [s.heading_path for s in document.sections] == [
        ("Who this policy covers",),
        ("Booking travel",),
        ("Booking travel", "Hotels"),
        ("Per diem and expenses",),
        ("Safety abroad",),
    ]
    text = document.text
    for words in ("approved by your manager", "business class only with the approval", "claims older than ninety"):
        assert words in text
    assert "City | Hotel limit per night\nOslo | 1,900 NOK\nStockholm | 1,800 SEK\nLondon | 210 GBP" in text
    for furniture in ("Newsfeed", "Signed in as", "Browse", "IT Service Desk", "Site contents", "Forms and templates"):
        assert furniture not in text


def test_an_aspnet_webforms_page_under_150_words_loads_whole_with_its_headings() -> None:
    # The rules read it alone (too short for trafilatura): the form is content, and the layout table around the
    # article is walked, not flattened into one row of cells with its headings lost.
    document = load(page("aspnet-webforms.html"))
    by_heading = {s.heading_path: s.text for s in document.sections}
    assert by_heading[("Resetting your VPN token",)].startswith("Your VPN token stops working after five wrong codes")
    assert by_heading[("Resetting your VPN token", "Reset it yourself")] == (
        "- Open the self-service portal from a company laptop on the office network.\n"
        '- Choose "VPN token" and confirm with your badge PIN.\n'
        "- Scan the new QR code with the authenticator app."
    )
    assert "extension 4100" in by_heading[("Resetting your VPN token", "When the portal refuses")]
    assert " | " not in document.text


def test_a_news_article_inside_a_form_loads_and_the_search_and_newsletter_forms_do_not() -> None:
    document = load(page("news-in-form.html"))
    assert [s.heading_path[1:] for s in document.sections] == [(), ("Charging at both quays",), ("Fares unchanged",)]
    text = document.text
    for words in ("cutting the route's diesel use", "399 passengers", "climate fund covered 180", "390 kroner"):
        assert words in text
    for furniture in ("Search the Courier", "morning briefing", "inbox at seven", "Bridge closed", "All rights"):
        assert furniture not in text


def test_an_article_the_rules_take_for_furniture_is_read_by_trafilatura_from_the_page_as_received() -> None:
    # The notice sits in the page's <header>: the rules drop it and find three words; trafilatura reads it.
    notice = (
        "<p>The Tromso depot is closed from 24 to 26 December. Radios booked for those days are handed out on "
        "23 December between noon and four.</p><p>On-call staff collect their keys from the security desk at the "
        "main gate, where the duty officer keeps the list of booked vehicles.</p>"
    )
    html = (
        "<html><head><title>Depot closed over Christmas</title></head><body>"
        "<nav><a href='/'>Start</a> <a href='/depots'>Depots</a></nav>"
        f"<header class='notice'><h1>Depot closed over Christmas</h1>{notice}</header>"
        "<p>Page owner: facilities.</p></body></html>"
    )
    document = load(RawSource("https://intranet.example/notice.html", html.encode(), "text/html"))
    assert "closed from 24 to 26 December" in document.text
    assert "list of booked vehicles" in document.text
    assert "Depots" not in document.text


def test_a_sphinx_page_has_no_permalink_marks_in_its_heading_paths_or_citations(embedder: Any) -> None:
    # Python's FAQ as Debian ships it: every heading ends in <a class="headerlink">¶</a>, which read
    # "General Information¶ > Why is it called Python?¶" in every citation.
    document = load(page("sphinx-python-faq.html"))
    paths = [s.heading_path for s in document.sections]
    assert ("General Python FAQ", "General Information", "Why is it called Python?") in paths
    assert not [p for p in paths if any(mark in h for h in p for mark in PERMALINK_MARKS)]
    assert "Monty Python’s Flying Circus" in document.text and "¶" not in document.text
    assert "Quick search" not in document.text and "Please donate" not in document.text  # search forms, footer
    assert len(document.sections) == 23  # the page's 23 questions, each under its own heading; none lost

    settings = ChunkingSettings()  # the default chunker, as askdocs ingest uses it
    chunker = build_chunker(settings.chunker, embedder, settings.chunk_size, settings.chunk_overlap)
    chunks = make_chunks(chunker, document, "v1", Provenance())
    headings = [source.heading for source in sources_for([Hit(chunk, 1.0) for chunk in chunks])]
    assert "General Python FAQ > General Information > Why is it called Python?" in headings
    assert not [h for h in headings if any(mark in h for mark in PERMALINK_MARKS)]


LONG = (
    "The Tromso depot opens at half past six in the morning and closes at six in the evening on every working day "
    "of the year, except on public holidays. Field staff collect their radios at the counter before they leave "
    "and hand them back when they return. "
)


@pytest.mark.parametrize("paragraph", ["Short.", LONG * 3])  # under 150 words: the rules; over: trafilatura
@pytest.mark.parametrize(
    "anchor",
    [
        '<a class="headerlink" href="#hours" title="Permalink to this heading">¶</a>',  # Sphinx, MkDocs
        '<a class="headerlink" href="#hours" title="Link to this heading">#</a>',  # pydata-sphinx-theme, Furo
        '<a class="anchor" href="#hours" aria-hidden="true">🔗</a>',  # Hugo themes
        '<a href="#hours" class="anchor">§</a>',  # rustdoc, many static-site themes
        '<a href="#hours" class="hash-link" aria-label="Direct link to Hours">\u200b</a>',  # Docusaurus
        '<a class="headerlink" href="https://docs.example/depot.html#hours">¶</a>',  # a permalink by full URL
    ],
)
def test_permalink_anchors_are_dropped_from_headings(anchor: str, paragraph: str) -> None:
    html = (
        f"<html><body><article><h1>Depot guide{anchor.replace('hours', 'guide')}</h1><p>{paragraph}</p>"
        f"<h2 id='hours'>Hours {anchor}</h2><p>{paragraph}</p></article></body></html>"
    )
    document = load(RawSource("https://docs.example/depot.html", html.encode()))
    assert [s.heading_path for s in document.sections] == [("Depot guide",), ("Depot guide", "Hours")]


@pytest.mark.parametrize("paragraph", ["Short.", LONG * 3])
def test_a_heading_that_ends_in_a_mark_of_its_own_keeps_it(paragraph: str) -> None:
    # Only a link to the page's own anchor is a permalink: "C#" and "§ 3" are the headings' words.
    html = (
        f"<html><body><article><h1>Learning C#</h1><p>{paragraph}</p><h2>§ 3 Scope</h2><p>{paragraph}</p>"
        "</article></body></html>"
    )
    document = load(RawSource("https://docs.example/csharp.html", html.encode()))
    assert [s.heading_path for s in document.sections] == [("Learning C#",), ("Learning C#", "§ 3 Scope")]


@pytest.mark.parametrize(
    ("source", "data"),
    [
        ("https://docs.example/cases.html", b"<html><body><h2>Test Case 1</h2><img src=a.png><h2>Test Case 2</h2>"),
        ("/docs/cases.md", b"## Test Case 1\n\n## Test Case 2\n"),
    ],
)
def test_a_page_of_headings_only_is_its_headings_not_an_empty_document(source: str, data: bytes) -> None:
    # Readability's lazy-image-3: two headings over images was "no text found in the document".
    assert load(RawSource(source, data)).text == "Test Case 1\n\nTest Case 2"
