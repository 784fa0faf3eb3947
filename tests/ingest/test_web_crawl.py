"""Crawling the test site on 127.0.0.1: exactly the pages in scope, each once, then 304s with the validators."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import pytest

from ingest.loaders import kind_of, load
from ingest.web import Failed, Fetched, NotModified, Skipped, Validators, WebPolicy, WebResult, crawl
from tests.ingest.test_web_site import PDF, Site, running

GUIDE = WebPolicy(allow_prefixes=("/handbook/",), allow_private_network=True, max_depth=2)


class DictStore:
    def __init__(self) -> None:
        self.held: dict[str, Validators] = {}

    def get(self, url: str) -> Validators | None:
        return self.held.get(url)

    def put(self, url: str, validators: Validators) -> None:
        self.held[url] = validators


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    site = Site()
    with running(site) as base:
        yield site, base


def by_type(results: list[WebResult], base: str) -> dict[str, dict[str, str]]:
    """{"Fetched": {path: kind}, "NotModified": {path: ""}, "Failed": {path: reason}}; no URL twice."""
    out: dict[str, dict[str, str]] = {"Fetched": {}, "NotModified": {}, "Failed": {}}
    for r in results:
        path = r.url.removeprefix(base)
        assert path not in out[type(r).__name__], f"{path} reported twice"
        if isinstance(r, Fetched):
            assert r.raw.source == r.url
            out["Fetched"][path] = kind_of(r.raw)
        elif isinstance(r, NotModified):
            out["NotModified"][path] = ""
        else:
            out["Failed"][path] = r.reason.replace(base, "") + (" (gone)" if r.gone else "")
    return out


LOOP = "redirect loop: /handbook/loop -> /handbook/loop-again -> /handbook/loop"
PAGES = {
    "/handbook/index.html": "html",  # the start URL /handbook/ names itself index.html
    "/handbook/leave.html": "html",  # also what print/leave.html names itself: one document
    "/handbook/travel.html": "html",
    "/handbook/expenses.html": "html",  # reached through the 301 from old-expenses
    "/handbook/deep/one.html": "html",
    "/handbook/deep/two.html": "html",  # depth 2; three.html would be depth 3
    "/handbook/benefits": "pdf",  # served as text/html, but the bytes are a PDF
}
FAILED = {"/handbook/missing.html": "HTTP 404 Not Found (gone)", "/handbook/loop": LOOP}


def test_a_crawl_fetches_exactly_the_pages_in_scope_then_gets_304s(site: tuple[Site, str]) -> None:
    server, base = site
    store = DictStore()
    run = crawl([f"{base}/handbook/"], GUIDE, store)
    first = by_type(list(run), base)
    assert first == {"Fetched": PAGES, "NotModified": {}, "Failed": FAILED}
    assert run.skipped == [
        Skipped(f"{base}/handbook/internal/salaries.html", "disallowed by robots.txt for user agent 'askdocs'")
    ]
    assert run.unvisited == 0
    requested = set(server.paths())
    assert requested == {
        "/robots.txt",
        "/handbook/",
        *(p for p in PAGES if p != "/handbook/index.html"),
        "/handbook/print/leave.html",
        "/handbook/old-expenses",
        "/handbook/missing.html",
        "/handbook/loop",
        "/handbook/loop-again",
    }, "out of scope, robots-disallowed, too deep, nofollow, non-page and external links are never requested"
    assert len(server.paths()) == len(requested), "no page is requested twice"
    with_validators = {"/handbook/", "/handbook/print/leave.html", *PAGES} - {
        "/handbook/index.html",
        "/handbook/benefits",
    }
    assert set(store.held) == {base + p for p in with_validators}  # keyed by the URL that answered 200
    start = store.held[f"{base}/handbook/"]
    assert start.etag and start.last_modified is None and start.canonical == f"{base}/handbook/index.html"
    assert f"{base}/handbook/leave.html" in start.links and f"{base}/blog/news.html" in start.links
    assert not any(link.endswith((".png", ".css")) or "#" in link for link in start.links)

    server.hits.clear()
    second = by_type(list(crawl([f"{base}/handbook/"], GUIDE, store)), base)
    unchanged = {p: "" for p in PAGES if p != "/handbook/benefits"}
    assert second == {"Fetched": {"/handbook/benefits": "pdf"}, "NotModified": unchanged, "Failed": FAILED}
    sent = {h.path: h.headers for h in server.hits}
    assert sent["/handbook/leave.html"]["if-none-match"] == store.held[f"{base}/handbook/leave.html"].etag
    assert sent["/handbook/travel.html"]["if-modified-since"] == "Wed, 15 Jan 2025 09:00:00 GMT"
    assert "if-none-match" not in sent["/handbook/benefits"] and "if-none-match" not in sent["/handbook/old-expenses"]
    assert sent["/handbook/expenses.html"]["if-none-match"]  # the validators follow the redirect's target


def test_fetched_pages_load_as_their_main_content(site: tuple[Site, str]) -> None:
    _, base = site
    fetched = {r.url.removeprefix(base): r for r in crawl([f"{base}/handbook/"], GUIDE) if isinstance(r, Fetched)}
    index = load(fetched["/handbook/index.html"].raw)
    assert index.title == "Northwind Field Guide"
    assert "Tromso depot | 06:30 | 18:00" in index.text and "- Travel to remote sites" in index.text
    assert "cookies" not in index.text and "intranet" not in index.text and "All rights reserved" not in index.text
    pdf = load(fetched["/handbook/benefits"].raw)
    assert pdf.kind == "pdf" and fetched["/handbook/benefits"].raw.data == PDF.read_bytes()
    assert "80% of the monthly premium" in pdf.text


def test_max_pages_counts_pages_requested(site: tuple[Site, str]) -> None:
    server, base = site
    run = crawl([f"{base}/handbook/"], WebPolicy(allow_private_network=True, max_pages=3, concurrency=2))
    results = {r.url.removeprefix(base): type(r).__name__ for r in run}
    # Links in document order: the cookie banner's privacy link comes first, then the nav's.
    assert results == {"/handbook/index.html": "Fetched", "/privacy.html": "Failed", "/handbook/leave.html": "Fetched"}
    assert sorted(server.paths()) == ["/handbook/", "/handbook/leave.html", "/privacy.html", "/robots.txt"]
    assert run.unvisited > 0


def test_max_depth_zero_fetches_the_start_pages_only(site: tuple[Site, str]) -> None:
    server, base = site
    policy = WebPolicy(allow_private_network=True, max_depth=0)
    results = list(crawl([f"{base}/handbook/leave.html", f"{base}/handbook/travel.html"], policy))
    assert sorted(r.url.removeprefix(base) for r in results) == ["/handbook/leave.html", "/handbook/travel.html"]
    assert sorted(server.paths()) == ["/handbook/leave.html", "/handbook/travel.html", "/robots.txt"]


def test_start_urls_outside_the_scope_or_robots_are_reported(site: tuple[Site, str]) -> None:
    server, base = site
    results = list(
        crawl(
            [f"{base}/blog/news.html", f"{base}/handbook/internal/salaries.html", "ftp://127.0.0.1/x", "http://[::1"],
            GUIDE,
        )
    )
    reasons = {r.url.removeprefix(base): r.reason for r in results if isinstance(r, Failed)}
    assert reasons == {
        "http://[::1": "not a valid URL (Invalid IPv6 URL)",
        "/blog/news.html": "path /blog/news.html is outside the allowed prefixes (/handbook/)",
        "/handbook/internal/salaries.html": "disallowed by robots.txt for user agent 'askdocs'",
        "ftp://127.0.0.1/x": "only http and https URLs can be fetched, not ftp",
    }
    assert len(results) == 4 and server.paths() == ["/robots.txt"]


def test_an_unreadable_robots_txt_keeps_the_crawler_off_the_host() -> None:
    site = Site(robots="503")
    with running(site) as base:
        results = list(crawl([f"{base}/handbook/"], GUIDE))
    unreadable = "could not be read (HTTP 503 Service Unavailable); the host is not crawled"
    assert results == [Failed(f"{base}/handbook/", f"robots.txt at {base}/robots.txt {unreadable}")]
    assert site.paths() == ["/robots.txt"]


def test_a_missing_robots_txt_allows_everything_and_respect_robots_false_skips_it() -> None:
    site = Site(robots="404")
    with running(site) as base:
        assert isinstance(next(crawl([f"{base}/handbook/internal/salaries.html"], GUIDE)), Fetched)
        site.hits.clear()
        ignoring = WebPolicy(allow_private_network=True, respect_robots=False, max_depth=0)
        assert isinstance(next(crawl([f"{base}/handbook/leave.html"], ignoring)), Fetched)
    assert site.paths() == ["/handbook/leave.html"]


def test_no_more_than_concurrency_requests_at_once() -> None:
    site = Site(slow_s=0.1)
    with running(site) as base:
        results = list(crawl([f"{base}/handbook/"], WebPolicy(allow_private_network=True, max_depth=1, concurrency=2)))
    assert len(results) >= 7 and site.max_in_flight == 2  # in parallel, but never more than two


def test_requests_to_a_host_are_spaced_by_the_delay() -> None:
    site = Site()
    with running(site) as base:
        policy = WebPolicy(allow_private_network=True, max_depth=1, max_pages=4, delay_s=0.25, concurrency=4)
        assert len(list(crawl([f"{base}/handbook/"], policy))) >= 3
    times = [h.at for h in site.hits]  # as the server saw them: a new connection's setup may shorten a gap a little
    assert len(times) == 5 and all(b - a >= 0.2 for a, b in pairwise(times)), times


def test_robots_crawl_delay_is_a_floor_for_the_delay() -> None:
    site = Site(robots="User-agent: *\nCrawl-delay: 1\n")
    with running(site) as base:
        policy = WebPolicy(allow_private_network=True, max_depth=1, max_pages=2, delay_s=0.1, concurrency=4)
        list(crawl([f"{base}/handbook/"], policy))
    times = [h.at for h in site.hits]  # robots.txt, then two pages, each a second after the last request
    assert len(times) == 3 and all(b - a >= 0.95 for a, b in pairwise(times)), times


def test_stopping_early_stops_the_crawl(site: tuple[Site, str]) -> None:
    server, base = site
    run = crawl([f"{base}/handbook/"], WebPolicy(allow_private_network=True, concurrency=1))
    assert isinstance(next(run), Fetched)
    run.close()
    assert server.paths() == ["/robots.txt", "/handbook/"]  # nothing is fetched ahead of the caller
    with pytest.raises(StopIteration):
        next(run)
