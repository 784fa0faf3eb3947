"""robots.txt, read once per origin (RFC 9309): Disallow rules for our user agent, Crawl-delay as a floor for the
host's delay. A missing robots.txt (4xx) allows everything; one that cannot be read (5xx, network) allows nothing."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from askdocs.errors import LoadError
from ingest.web.fetcher import Fetcher


@dataclass(frozen=True, slots=True)
class _Rules:
    parser: RobotFileParser | None  # None: everything allowed
    unreadable: str = ""  # why nothing is allowed


class Robots:
    def __init__(self, fetcher: Fetcher, user_agent: str) -> None:
        self._fetcher = fetcher
        self._agent = user_agent
        self._rules: dict[str, _Rules] = {}
        self._delays: dict[str, float] = {}  # by host:port, as the throttle keys hosts
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def refusal(self, url: str) -> str | None:
        """Why robots.txt keeps us from ``url``, or None when we may fetch it."""
        rules = self._rules_for(url)
        if rules.unreadable:
            return rules.unreadable
        if rules.parser is not None and not rules.parser.can_fetch(self._agent, url):
            return f"disallowed by robots.txt for user agent {self._agent!r}"
        return None

    def delay(self, host: str) -> float:
        """The host's Crawl-delay in seconds (0 until its robots.txt is read, or without one)."""
        return self._delays.get(host, 0.0)

    def _rules_for(self, url: str) -> _Rules:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:  # one read per origin, while other origins go on
            if origin not in self._rules:
                self._rules[origin] = self._read(origin)
                parser = self._rules[origin].parser
                delay = parser.crawl_delay(self._agent) if parser is not None else None
                self._delays[parts.netloc] = max(float(delay or 0), self._delays.get(parts.netloc, 0.0))
            return self._rules[origin]

    def _read(self, origin: str) -> _Rules:
        robots = f"{origin}/robots.txt"
        try:
            response = self._fetcher.get(robots)
        except LoadError as exc:
            return _Rules(None, f"robots.txt at {robots} could not be read ({exc.reason}); the host is not crawled")
        if 400 <= response.status < 500 and response.status != 429:
            return _Rules(None)
        if not 200 <= response.status < 300:
            detail = f"HTTP {response.status} {response.reason}"
            return _Rules(None, f"robots.txt at {robots} could not be read ({detail}); the host is not crawled")
        parser = RobotFileParser(robots)
        parser.parse(response.body.decode("utf-8", errors="replace").splitlines())
        return _Rules(parser)
