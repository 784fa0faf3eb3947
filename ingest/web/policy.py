"""The vocabulary of web ingestion: what may be fetched (WebPolicy), what the crawler remembers between runs
(Validators, kept by a ValidatorStore), and what it reports for each page (Fetched, NotModified, Failed)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from askdocs.settings import IngestSettings
from askdocs.urls import HTTP_SCHEMES
from ingest.loaders import RawSource


@dataclass(frozen=True, slots=True)
class WebPolicy:
    """Where the crawler may go and how hard it may push. Invalid values fail here, with the field named.

    ``allow_hosts`` entries are host names or IP literals (any port), ``*.example.com`` for its subdomains, or
    ``*`` for any host (addresses are still checked). ``allow_networks`` opens single private networks (CIDR)
    without ``allow_private_network``; multicast and unspecified addresses are refused whatever the policy.
    """

    allow_hosts: tuple[str, ...] = ()  # empty: the hosts of the start URLs
    allow_prefixes: tuple[str, ...] = ()  # URL path prefixes, matched by whole segments; empty: any path
    allow_private_network: bool = False
    allow_networks: tuple[str, ...] = ()  # e.g. ("10.20.0.0/16",): private addresses allowed anyway
    max_depth: int = 3  # links followed from a start page; 0 fetches the start pages only
    max_pages: int = 500  # pages requested (robots.txt and sitemaps not counted)
    max_bytes: int = 50 * 2**20
    max_redirects: int = 5
    timeout_s: float = 20.0  # to connect, and between two reads
    deadline_s: float = 120.0  # for a whole response, body included
    user_agent: str = "askdocs"
    concurrency: int = 4
    delay_s: float = 0.0  # per host, between requests; robots.txt Crawl-delay raises it
    respect_robots: bool = True
    ca_file: str | None = None  # PEM roots to trust instead of the default ones (an intranet's own CA)

    def __post_init__(self) -> None:
        for name in ("max_depth", "delay_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"WebPolicy.{name} must be 0 or more, got {getattr(self, name)}")
        for name in ("max_pages", "max_bytes", "concurrency", "timeout_s", "deadline_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"WebPolicy.{name} must be more than 0, got {getattr(self, name)}")
        if self.max_redirects < 0:
            raise ValueError(f"WebPolicy.max_redirects must be 0 or more, got {self.max_redirects}")
        if not self.user_agent.strip():
            raise ValueError("WebPolicy.user_agent must not be empty")
        for prefix in self.allow_prefixes:
            if not prefix.startswith("/"):
                raise ValueError(f"WebPolicy.allow_prefixes: {prefix!r} is not a URL path (it must start with '/')")
        for network in self.allow_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(f"WebPolicy.allow_networks: {network!r} is not a network ({exc})") from exc
        hosts = tuple(h.strip().lower().strip("[]") for h in self.allow_hosts)
        if any(not h or ("*" in h and h != "*" and not h.startswith("*.")) for h in hosts):
            raise ValueError(f"WebPolicy.allow_hosts: use a host name, '*.domain' or '*' (got {self.allow_hosts})")
        object.__setattr__(self, "allow_hosts", hosts)

    @classmethod
    def from_settings(cls, settings: IngestSettings, **scope: Any) -> WebPolicy:
        """The size, timeout and user agent of the ingest settings, and ``scope``: hosts, prefixes, depth..."""
        limits: dict[str, Any] = {
            "max_bytes": settings.max_file_mb * 2**20,
            "timeout_s": settings.http_timeout_s,
            "user_agent": settings.user_agent,
        }
        return cls(**(limits | scope))

    def for_start(self, urls: Iterable[str]) -> WebPolicy:
        """This policy, with the start URLs' hosts as the allow-list when none was given."""
        if self.allow_hosts:
            return self
        hosts = tuple(dict.fromkeys(h for u in urls if (h := _host(u))))
        return replace(self, allow_hosts=hosts) if hosts else self

    def host_allowed(self, host: str) -> bool:
        host = host.lower().strip("[]")
        for allowed in self.allow_hosts:
            if allowed == "*" or host == allowed:
                return True
            if allowed.startswith("*.") and host.endswith(allowed[1:]):
                return True
        return False

    def path_allowed(self, path: str) -> bool:
        if not self.allow_prefixes:
            return True
        for prefix in self.allow_prefixes:
            stem = prefix.rstrip("/")
            if not stem or path == stem or path.startswith(stem + "/"):
                return True
        return False

    def in_scope(self, url: str) -> bool:
        """On an allowed host and under an allowed path: a page the crawler may visit."""
        parts = urlsplit(url)
        return (
            parts.scheme in HTTP_SCHEMES
            and self.host_allowed(parts.hostname or "")
            and self.path_allowed(parts.path or "/")
        )


def _host(url: str) -> str | None:
    try:
        return urlsplit(url.strip()).hostname
    except ValueError:
        return None  # reported when the URL is fetched


@dataclass(frozen=True, slots=True)
class Validators:
    """What a 200 response said about its version, and what the crawler needs to go on from a 304 later."""

    etag: str | None = None
    last_modified: str | None = None
    canonical: str | None = None  # the document's identity found in the page (NotModified reports it)
    links: tuple[str, ...] = ()  # the page's links, so a crawl continues through pages that did not change


class ValidatorStore(Protocol):
    """Keyed by the URL that answered 200 (after redirects, normalised; ``Fetched.final_url``). ``put`` follows
    every 200 response that carried an ETag or Last-Modified, before the page is yielded. A crawl calls ``get``
    and ``put`` from its worker threads, up to ``concurrency`` at once."""

    def get(self, url: str) -> Validators | None: ...

    def put(self, url: str, validators: Validators) -> None: ...


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # the canonical URL: the document's identity
    raw: RawSource  # raw.source == url; raw.content_type is the type the bytes were read as (sniffed over the header)
    final_url: str = ""  # the URL that answered 200 (after redirects): the key its validators were put under


@dataclass(frozen=True, slots=True)
class NotModified:
    url: str  # the canonical URL recorded with the validators (else the URL that answered 304)


@dataclass(frozen=True, slots=True)
class Failed:
    url: str  # the URL that was asked for (before redirects)
    reason: str
    gone: bool = False  # 404 or 410: the page vanished


WebResult = Fetched | NotModified | Failed


@dataclass(frozen=True, slots=True)
class Skipped:
    """A page the crawler left alone on purpose (robots.txt, a sitemap entry outside the scope). Not a result:
    a crawl keeps these in ``CrawlRun.skipped``."""

    url: str
    reason: str
