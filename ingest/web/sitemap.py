"""Sitemaps (sitemaps.org): a ``<urlset>`` lists pages, a ``<sitemapindex>`` lists sitemaps; either may be gzipped.
The pages listed are fetched as a crawl that follows no links."""

from __future__ import annotations

import re
import zlib
from collections import deque
from collections.abc import Iterator
from xml.etree import ElementTree

from askdocs.errors import LoadError
from ingest.web.crawl import CrawlRun
from ingest.web.fetcher import Fetcher, size_text
from ingest.web.policy import Failed, Skipped, ValidatorStore, WebPolicy
from ingest.web.urls import normalise, resolve

MAX_NESTING = 3  # sitemap indexes within indexes (the protocol allows none; some sites nest anyway)
_DECLARATIONS = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def parse_sitemap(data: bytes, source: str, max_bytes: int) -> tuple[bool, list[str]]:
    """``(is_index, locations)``, in document order. LoadError when it is not a sitemap."""
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, source, max_bytes)
    if _DECLARATIONS.search(data):
        raise LoadError(source, "sitemap declares a DOCTYPE or entities, which sitemaps never need; refused")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise LoadError(source, f"not a valid sitemap (XML error: {exc})") from exc
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise LoadError(source, f"not a sitemap: the root element is <{kind}>, not <urlset> or <sitemapindex>")
    locations = [(loc.text or "").strip() for entry in root for loc in entry if _local(loc.tag) == "loc"]
    return kind == "sitemapindex", [location for location in locations if location]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _gunzip(data: bytes, source: str, max_bytes: int) -> bytes:
    unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = unpacker.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise LoadError(source, f"not valid gzip ({exc})") from exc
    if len(out) > max_bytes:
        raise LoadError(source, f"sitemap is over the {size_text(max_bytes)} limit unpacked")
    return out


def sitemap_pages(url: str, fetcher: Fetcher, policy: WebPolicy) -> Iterator[str | Failed | Skipped]:
    """The in-scope page URLs the sitemap (and the sitemaps it indexes) list; a sitemap that cannot be read is a
    Failed (never ``gone``: it is not a document), an entry outside the scope is Skipped."""
    queue = deque([(url, 0)])
    seen = {url}
    while queue:
        sitemap, level = queue.popleft()
        try:
            response = fetcher.get(sitemap)
            if not 200 <= response.status < 300:
                raise LoadError(sitemap, f"HTTP {response.status} {response.reason}")
            is_index, locations = parse_sitemap(response.body, sitemap, policy.max_bytes)
        except LoadError as exc:
            yield Failed(sitemap, f"sitemap could not be read: {exc.reason}")
            continue
        for location in locations:
            link = resolve(response.url, location)
            if link is None:
                yield Skipped(location, f"not an http(s) URL (listed in {sitemap})")
            elif is_index and level >= MAX_NESTING:
                yield Skipped(link, f"sitemap indexes nested more than {MAX_NESTING} deep")
            elif is_index and link not in seen:
                seen.add(link)
                queue.append((link, level + 1))
            elif not is_index and not policy.in_scope(link):
                yield Skipped(link, f"outside the allowed hosts or paths (listed in {sitemap})")
            elif not is_index:
                yield link


def from_sitemap(url: str, policy: WebPolicy, store: ValidatorStore | None = None) -> CrawlRun:
    """The pages a sitemap or sitemap index lists (no links followed). With no allow-list, the sitemap's host
    is allowed. Sitemaps are read whatever robots.txt says; the pages follow it."""
    policy = policy.for_start([url])

    def seeds(fetcher: Fetcher) -> Iterator[str | Failed | Skipped]:
        try:
            start = normalise(url)
        except ValueError as exc:
            yield Failed(url, f"not a valid URL ({exc})")
            return
        yield from sitemap_pages(start, fetcher, policy)

    return CrawlRun(policy, store, seeds, follow=False, explicit=False)
