"""Reading pages: main content without the furniture (nav, banners, cookie notices), links and canonical URLs,
URL normalisation and content sniffing. On the real HTML files of the test site."""

from __future__ import annotations

import pytest

from ingest.loaders import RawSource, load
from ingest.web.links import read_links
from ingest.web.page import sniff
from ingest.web.urls import looks_like_page, normalise, resolve
from tests.ingest.test_web_site import PDF, SITE

BASE = "http://docs.example/handbook/"


def page(name: str) -> RawSource:
    return RawSource(BASE + name, (SITE / "handbook" / name).read_bytes(), "text/html")


def test_main_content_keeps_headings_lists_and_tables_and_drops_the_furniture() -> None:
    doc = load(page("index.html"))
    text = doc.text
    assert doc.title == "Northwind Field Guide"
    assert {s.heading_path for s in doc.sections} == {
        ("Northwind Field Guide",),
        ("Northwind Field Guide", "Topics"),
        ("Northwind Field Guide", "Site hours"),
        ("Northwind Field Guide", "Elsewhere"),
    }
    assert "- Travel to remote sites" in text  # a list item
    assert "Standard site hours\nSite | Opens | Closes\nTromso depot | 06:30 | 18:00" in text  # a table
    for furniture in ("We use cookies", "Accept all", "Northwind Labs intranet", "Start", "All rights reserved"):
        assert furniture not in text, furniture  # cookie banner, header, nav, footer


@pytest.mark.parametrize(
    ("name", "kept", "dropped"),
    [
        ("leave.html", "28 leave days", ["consent cookie", "Start"]),  # aria-label="Cookie consent"; nav
        ("travel.html", "72 hours ahead", ["GDPR", "weather desk", "Search the guide"]),  # gdpr class; aside; form
        ("expenses.html", "45 euros per day", ["intranet banner", "field finance team"]),  # role=banner/contentinfo
    ],
)
def test_banners_asides_forms_and_landmark_roles_are_not_content(name: str, kept: str, dropped: list[str]) -> None:
    text = load(page(name)).text
    assert kept in text
    assert not [d for d in dropped if d in text]


def test_pages_about_cookies_are_content_and_only_the_banner_goes() -> None:
    # Python's http.cookiejar manual page was dropped whole when any id containing "cookie" counted as a banner.
    html = (
        b'<html><head><title>http.cookiejar</title></head><body><div class="cookie-banner">We use cookies.</div>'
        b'<section id="module-http.cookiejar"><h1>http.cookiejar</h1><p>Automatic handling of HTTP cookies.</p>'
        b'<section id="cookies"><h2>Cookies</h2><p>We store a session cookie for 30 days.</p></section>'
        b"</section></body></html>"
    )
    document = load(RawSource("https://docs.example/http.cookiejar.html", html))
    assert [s.heading_path for s in document.sections] == [("http.cookiejar",), ("http.cookiejar", "Cookies")]
    assert "We use cookies" not in document.text and "session cookie for 30 days" in document.text


def test_links_are_absolute_normalised_page_like_and_followable() -> None:
    found = read_links((SITE / "handbook" / "index.html").read_bytes(), BASE)
    assert found.canonical == "http://docs.example/handbook/index.html"
    assert found.links == (
        "http://docs.example/privacy.html",
        "http://docs.example/handbook/index.html",
        "http://docs.example/handbook/leave.html",
        "http://docs.example/handbook/travel.html",
        "http://docs.example/handbook/old-expenses",
        "http://docs.example/handbook/print/leave.html",  # leave.html#carry-over is leave.html again
        "http://docs.example/handbook/deep/one.html",
        "http://docs.example/handbook/missing.html",
        "http://docs.example/handbook/loop",
        "http://docs.example/handbook/internal/salaries.html",
        "http://docs.example/blog/news.html",
        "https://partner.example/terms.html",
    )  # not: mailto:, tel:, javascript:, style.css, logo.png, the rel=nofollow site map


def test_base_href_and_canonical_resolve_against_the_page() -> None:
    html = b'<html><head><base href="/docs/v2/"><link rel="Canonical  alternate" href="a.html#top"></head>'
    html += b'<body><a href="b.html">b</a><area href="../c">c</area></body></html>'
    found = read_links(html, "https://docs.example/index.html")
    assert found.canonical == "https://docs.example/docs/v2/a.html"
    assert found.links == ("https://docs.example/docs/v2/b.html", "https://docs.example/docs/c")


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTP://Docs.Example:80/a/./b/../c?x=1#frag", "http://docs.example/a/c?x=1"),
        ("https://docs.example:443", "https://docs.example/"),
        ("https://docs.example:8443/", "https://docs.example:8443/"),
        ("http://user:secret@docs.example/x", "http://docs.example/x"),
        ("http://docs.example/a b/é?q=a b", "http://docs.example/a%20b/%C3%A9?q=a%20b"),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        ("http://[::FFFF:7F00:1]:8080/", "http://[::ffff:7f00:1]:8080/"),
        ("http://docs.example/../../x", "http://docs.example/x"),
    ],
)
def test_urls_are_normalised(url: str, normal: str) -> None:
    assert normalise(url) == normal


def test_only_http_links_to_pages_are_followed() -> None:
    assert resolve(BASE, "mailto:a@b.example") is None and resolve(BASE, "javascript:void(0)") is None
    assert resolve(BASE, "ftp://docs.example/x") is None and resolve(BASE, "tel:+47") is None
    assert resolve(BASE, "../x.html#y") == "http://docs.example/x.html"
    pages = ["/a", "/a/", "/a.html", "/a.php?id=1", "/guide.pdf", "/v1.2", "/a.ASPX"]
    assert all(looks_like_page("http://docs.example" + p) for p in pages)
    not_pages = ["/logo.PNG", "/site.css", "/app.js", "/data.json", "/feed.xml", "/font.woff2", "/a.zip"]
    assert not any(looks_like_page("http://docs.example" + p) for p in not_pages)


def test_bytes_win_over_a_wrong_content_type() -> None:
    assert sniff(PDF.read_bytes()) == "application/pdf"
    assert sniff(b"\xef\xbb\xbf\n  <!DOCTYPE html><html>") == "text/html"
    assert sniff(b"<HTML><body>x</body></HTML>") == "text/html"
    assert sniff(b"# A markdown file mentioning <html>") is None


def test_a_long_page_keeps_its_heading_path_nested_lists_and_tables_through_the_main_content_extractor() -> None:
    # Over 150 words: trafilatura picks the main content; the headings, lists and tables still come out as askdocs
    # needs them (its own output would drop the h1 equal to the title and repeat nested items inside their parent).
    para = (
        "<p>The Tromso depot opens at half past six in the morning and closes at six in the evening on every "
        "working day of the year, except on public holidays. Field staff collect their radios at the counter "
        "before they leave and hand them back when they return.</p>"
    )
    html = (
        "<html><head><title>Depot guide</title></head><body><nav><a href='/'>Start</a></nav><article>"
        f"<h1>Depot guide</h1>{para * 3}<h2>What to carry</h2>{para * 2}"
        "<ul><li>Radio<ul><li>Spare battery</li><li>Charger</li></ul></li><li>First-aid kit</li></ul>"
        "<h2>Hours</h2><table><tr><th>Site</th><th>Opens</th></tr><tr><td>Tromso depot</td><td>06:30</td></tr></table>"
        f"{para}</article><footer>All rights reserved</footer></body></html>"
    )
    document = load(RawSource("https://docs.example/depot.html", html.encode()))
    assert [s.heading_path for s in document.sections] == [
        ("Depot guide",),
        ("Depot guide", "What to carry"),
        ("Depot guide", "Hours"),
    ]
    assert "- Radio\n  - Spare battery\n  - Charger\n- First-aid kit" in document.text
    assert document.text.count("Spare battery") == 1
    assert "Site | Opens\nTromso depot | 06:30" in document.text
    assert "All rights reserved" not in document.text and "Start" not in document.text
