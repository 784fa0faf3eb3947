"""One page: robots.txt, a conditional GET through the guard, the status read, the type sniffed, the canonical URL
and the links found. Every failure becomes a Failed result; nothing here raises for a page's sake."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from askdocs.errors import LoadError
from ingest.loaders import RawSource, kind_of, sniff
from ingest.web.fetcher import Fetcher, Response
from ingest.web.guard import Guard, Resolver, system_resolver
from ingest.web.links import PageLinks, read_links
from ingest.web.policy import Failed, Fetched, NotModified, Validators, ValidatorStore, WebPolicy, WebResult
from ingest.web.robots import Robots
from ingest.web.urls import normalise, same_host

_MIME = {"html": "text/html", "pdf": "application/pdf", "markdown": "text/markdown", "text": "text/plain"}


@dataclass(frozen=True, slots=True)
class Page:
    result: WebResult | None  # None: skipped, see ``skipped``
    links: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # URLs this page answered for: after redirects, and its canonical URL
    skipped: str = ""


class PageFetcher:
    def __init__(
        self, policy: WebPolicy, fetcher: Fetcher, store: ValidatorStore | None, robots: Robots | None
    ) -> None:
        self._policy = policy
        self._fetcher = fetcher
        self._store = store
        self._robots = robots

    @property
    def fetcher(self) -> Fetcher:
        return self._fetcher

    def fetch(self, url: str, *, explicit: bool = True) -> Page:
        """``explicit``: asked for by name (start URL), so a robots.txt refusal is a failure, not a silent skip."""
        try:
            self._fetcher.check(url)
        except LoadError as exc:
            return Page(Failed(url, exc.reason))
        path = urlsplit(url).path or "/"
        if not self._policy.path_allowed(path):
            prefixes = ", ".join(self._policy.allow_prefixes)
            return Page(Failed(url, f"path {path} is outside the allowed prefixes ({prefixes})"))
        if self._robots is not None and (why := self._robots.refusal(url)):
            return Page(Failed(url, why)) if explicit else Page(None, skipped=why)
        try:
            response = self._fetcher.get(url, self._conditional)
        except LoadError as exc:
            return Page(Failed(url, exc.reason))
        if response.url != url and not self._policy.in_scope(response.url):
            return Page(Failed(url, f"redirected to {response.url}, outside the allowed paths"))
        status = f"HTTP {response.status} {response.reason}".strip()
        if response.status == 304:
            return self._not_modified(url, response)
        if response.status in (404, 410):
            return Page(Failed(url, status, gone=True))
        if not 200 <= response.status < 300:
            return Page(Failed(url, status))
        return self._fetched(url, response)

    def _conditional(self, hop: str) -> dict[str, str]:
        held = self._store.get(hop) if self._store is not None else None
        headers = {}
        if held and held.etag:
            headers["If-None-Match"] = held.etag
        if held and held.last_modified:
            headers["If-Modified-Since"] = held.last_modified
        return headers

    def _not_modified(self, url: str, response: Response) -> Page:
        held = self._store.get(response.url) if self._store is not None else None
        if held is None:
            return Page(Failed(url, "HTTP 304 Not Modified, but no validators were sent"))
        identity = held.canonical or response.url
        return Page(NotModified(identity), held.links, (response.url, identity))

    def _fetched(self, url: str, response: Response) -> Page:
        content_type = sniff(response.body) or response.headers.get("content-type")
        try:
            kind = kind_of(RawSource(response.url, response.body, content_type))
        except LoadError as exc:
            return Page(Failed(url, exc.reason))
        found = read_links(response.body, response.url) if kind == "html" else PageLinks((), None)
        identity = response.url
        if found.canonical and same_host(found.canonical, response.url) and self._policy.in_scope(found.canonical):
            identity = found.canonical
        etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        if self._store is not None and (etag or modified):
            self._store.put(response.url, Validators(etag, modified, identity, found.links))
        raw = RawSource(identity, response.body, _MIME[kind])
        return Page(Fetched(identity, raw, response.url), found.links, (response.url, identity))


@contextmanager
def page_fetcher(
    policy: WebPolicy, store: ValidatorStore | None = None, resolver: Resolver = system_resolver
) -> Iterator[PageFetcher]:
    """A PageFetcher and its HTTP clients, closed on exit. The host delay is the larger of the policy's and
    robots.txt's Crawl-delay."""
    robots: Robots | None = None
    fetcher = Fetcher(
        policy, Guard(policy, resolver), lambda host: max(policy.delay_s, robots.delay(host) if robots else 0.0)
    )
    robots = Robots(fetcher, policy.user_agent) if policy.respect_robots else None
    try:
        yield PageFetcher(policy, fetcher, store, robots)
    finally:
        fetcher.close()


def fetch_page(url: str, policy: WebPolicy, store: ValidatorStore | None = None) -> WebResult:
    """One page (robots.txt honoured if the policy says so). With no allow-list, the URL's own host is allowed."""
    policy = policy.for_start([url])
    try:
        start = normalise(url)
    except ValueError as exc:
        return Failed(url, f"not a valid URL ({exc})")
    with page_fetcher(policy, store) as pages:
        page = pages.fetch(start)
    return page.result or Failed(start, page.skipped)
