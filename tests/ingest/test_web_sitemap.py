"""Sitemaps: an index of two sitemaps (one gzipped), entries in and out of scope, and what is not a sitemap."""

from __future__ import annotations

import gzip
import re

import pytest

from askdocs.errors import LoadError
from ingest.web import Failed, Fetched, Skipped, WebPolicy, from_sitemap
from ingest.web.sitemap import parse_sitemap
from tests.ingest.test_web_site import Site, running

LOCAL = WebPolicy(allow_private_network=True)
URLSET = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">%s</urlset>'


def test_a_sitemap_index_leads_to_the_pages_of_both_sitemaps() -> None:
    site = Site()
    with running(site) as base:
        run = from_sitemap(f"{base}/sitemap.xml", LOCAL)
        results = list(run)
    fetched = {r.url.removeprefix(base): r.raw.content_type for r in results if isinstance(r, Fetched)}
    assert fetched == {
        "/handbook/index.html": "text/html",
        "/handbook/leave.html": "text/html",  # listed twice, fetched once
        "/handbook/travel.html": "text/html",
        "/handbook/expenses.html": "text/html",  # from the gzipped sitemap
        "/handbook/benefits": "application/pdf",
    }
    failed = [r for r in results if isinstance(r, Failed)]
    assert failed == [Failed(f"{base}/handbook/missing.html", "HTTP 404 Not Found", gone=True)]
    assert len(results) == 6
    assert run.skipped == [
        Skipped(
            "https://partner.example/terms.html",
            f"outside the allowed hosts or paths (listed in {base}/sitemap-guide.xml)",
        ),
        Skipped(f"{base}/handbook/internal/salaries.html", "disallowed by robots.txt for user agent 'askdocs'"),
    ]
    # No links followed: deep/one.html, linked from index.html, is not requested.
    assert "/handbook/deep/one.html" not in site.paths() and "/handbook/internal/salaries.html" not in site.paths()


def test_a_sitemap_that_cannot_be_read_is_one_failure() -> None:
    site = Site()
    with running(site) as base:
        missing = list(from_sitemap(f"{base}/no-sitemap.xml", LOCAL))
        not_xml = list(from_sitemap(f"{base}/robots.txt", LOCAL))
        refused = list(from_sitemap(f"{base}/sitemap.xml", WebPolicy()))
    assert missing == [Failed(f"{base}/no-sitemap.xml", "sitemap could not be read: HTTP 404 Not Found")]
    assert len(not_xml) == 1 and not_xml[0].url == f"{base}/robots.txt"
    assert isinstance(not_xml[0], Failed) and not_xml[0].reason == (
        "sitemap could not be read: not a valid sitemap (XML error: not well-formed (invalid token): line 1, column 1)"
    )
    assert refused == [
        Failed(
            f"{base}/sitemap.xml",
            "sitemap could not be read: 127.0.0.1 is a loopback address; private and local addresses are refused "
            "unless allowed (--allow-private-network)",
        )
    ]


def test_parsing_urlsets_and_indexes_with_or_without_namespaces() -> None:
    plain = URLSET % b"<url><loc> https://a.example/x </loc></url><url><loc></loc></url><url><loc>/y</loc></url>"
    assert parse_sitemap(plain, "s", 10_000) == (False, ["https://a.example/x", "/y"])
    index = b"<sitemapindex><sitemap><loc>https://a.example/s1.xml</loc></sitemap></sitemapindex>"
    assert parse_sitemap(gzip.compress(index), "s", 10_000) == (True, ["https://a.example/s1.xml"])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<html><body>hi</body></html>", "not a sitemap: the root element is <html>, not <urlset> or <sitemapindex>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><urlset><url><loc>&lol;</loc></url></urlset>',
            "sitemap declares a DOCTYPE or entities, which sitemaps never need; refused",
        ),
        (b"\x1f\x8bnot really gzip", "not valid gzip (Error -3 while decompressing data: unknown compression method)"),
        (gzip.compress(URLSET % (b"<url><loc>https://a.example/</loc></url>" * 1000)), "over the 9.8 KiB limit"),
    ],
)
def test_what_is_not_a_sitemap_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(LoadError, match=re.escape(reason)):
        parse_sitemap(data, "s", 10_000)
