"""GET through the guard: redirects followed by hand (each hop checked), bodies capped in size and time,
requests to one host spaced by its delay.

Errors raised (both name the URL asked for, not the hop): GuardError when the policy refuses a hop, LoadError for
timeouts, oversized bodies, redirect loops and connection failures. HTTP error statuses are returned, not raised.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from askdocs.errors import ConfigError, LoadError
from ingest.web.guard import Guard
from ingest.web.policy import WebPolicy
from ingest.web.urls import normalise

_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True, slots=True)
class Response:
    url: str  # where the answer came from, after redirects
    status: int
    reason: str
    headers: httpx.Headers
    body: bytes = b""  # read for 2xx answers only


def size_text(n: int) -> str:
    if n >= 2**20:
        return f"{n / 2**20:.1f} MiB"
    return f"{n / 2**10:.1f} KiB" if n >= 2**10 else f"{n} bytes"


class Throttle:
    """Spaces the starts of requests to one host by its current delay; each caller reserves its start time
    under the lock, then sleeps outside it."""

    def __init__(self, delay_for: Callable[[str], float]) -> None:
        self._delay_for = delay_for
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str) -> None:
        delay = self._delay_for(host)
        with self._lock:
            now = time.monotonic()
            last = self._last.get(host)
            start = now if last is None else max(now, last + delay)
            self._last[host] = start
        if start > now:
            time.sleep(start - now)


class Fetcher:
    def __init__(self, policy: WebPolicy, guard: Guard, delay_for: Callable[[str], float] | None = None) -> None:
        self._policy = policy
        self._guard = guard
        self._throttle = Throttle(delay_for or (lambda _: policy.delay_s))
        # One client per scheme and host: a pooled TLS connection is never reused for another host name.
        self._clients: dict[tuple[str, str], httpx.Client] = {}
        self._lock = threading.Lock()
        self._verify: ssl.SSLContext | bool = True
        if policy.ca_file:
            try:
                self._verify = ssl.create_default_context(cafile=policy.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"cannot read the CA file {policy.ca_file} ({exc})") from exc

    def check(self, url: str) -> None:
        """Raise GuardError if the policy refuses the URL (scheme, host, addresses), before anything is sent."""
        self._guard.check(url)

    def get(self, url: str, headers_for: Callable[[str], dict[str, str]] = lambda _: {}) -> Response:
        """GET ``url``; ``headers_for(hop)`` adds headers per hop (the conditional ones)."""
        chain = [url]
        while True:
            hop = chain[-1]
            try:
                addresses = self._guard.check(hop)
            except LoadError as exc:
                raise type(exc)(url, exc.reason if hop == url else f"redirected to {hop}: {exc.reason}") from exc
            client = self._client(hop)  # made before the wait: building one takes a while
            self._throttle.wait(urlsplit(hop).netloc)
            response = self._request(client, url, hop, addresses, headers_for(hop))
            location = response.headers.get("location")
            if response.status not in _REDIRECTS or not location:
                return response
            try:
                next_hop = normalise(urljoin(hop, location))
            except ValueError as exc:
                raise LoadError(url, f"redirected to an invalid URL {location!r}") from exc
            if next_hop in chain:
                raise LoadError(url, f"redirect loop: {' -> '.join([*chain, next_hop])}")
            if len(chain) > self._policy.max_redirects:
                raise LoadError(url, f"too many redirects (more than {self._policy.max_redirects})")
            chain.append(next_hop)

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def _client(self, url: str) -> httpx.Client:
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        with self._lock:
            client = self._clients.get((scheme, host))
            if client is None:
                # trust_env=False: an environment proxy would resolve and connect past the guard.
                client = httpx.Client(
                    timeout=self._policy.timeout_s, follow_redirects=False, trust_env=False, verify=self._verify
                )
                self._clients[(scheme, host)] = client
            return client

    def _request(
        self, client: httpx.Client, url: str, hop: str, addresses: list[str], headers: dict[str, str]
    ) -> Response:
        target = httpx.URL(hop)
        headers = {"User-Agent": self._policy.user_agent, **headers, "Host": target.netloc.decode("ascii")}
        # Connect to the checked address itself; TLS still verifies the certificate against the host name.
        extensions = {"sni_hostname": target.raw_host.decode("ascii")} if target.scheme == "https" else {}
        failure: Exception | None = None
        for address in addresses:
            try:
                with client.stream(
                    "GET", target.copy_with(host=address), headers=headers, extensions=extensions
                ) as response:
                    return self._read(url, hop, response)
            except httpx.ConnectError as exc:
                failure = exc  # try the host's next address
            except httpx.TimeoutException as exc:
                raise LoadError(url, f"timed out after {self._policy.timeout_s:g} s") from exc
            except httpx.HTTPError as exc:
                raise LoadError(url, f"cannot fetch ({type(exc).__name__}: {exc})") from exc
        raise LoadError(url, f"cannot connect to {target.host} ({failure})")

    def _read(self, url: str, hop: str, response: httpx.Response) -> Response:
        status, reason = response.status_code, response.reason_phrase
        if not 200 <= status < 300:
            return Response(hop, status, reason, response.headers)
        limit = self._policy.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise LoadError(url, f"response is {size_text(int(declared))}, over the {size_text(limit)} limit")
        deadline = time.monotonic() + self._policy.deadline_s
        body = bytearray()
        for part in response.iter_bytes():
            body.extend(part)
            if len(body) > limit:
                raise LoadError(url, f"response is over the {size_text(limit)} limit")
            if time.monotonic() > deadline:
                raise LoadError(url, f"response took over {self._policy.deadline_s:g} s")
        return Response(hop, status, reason, response.headers, bytes(body))
