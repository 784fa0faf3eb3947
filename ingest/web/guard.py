"""The SSRF guard: every URL the crawler requests, redirect hops included, passes here first.

A URL passes when its scheme is http or https, its host is allow-listed, and every address the host resolves to
is public (or opened by the policy). The caller connects to exactly the addresses returned, so a second DNS
answer cannot swap in another address between the check and the connection. A guard resolves each host once
(it lives as long as one crawl).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from askdocs.errors import LoadError
from askdocs.urls import HTTP_SCHEMES
from ingest.web.policy import WebPolicy

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_PRIVATE_HINT = "private and local addresses are refused unless allowed (--allow-private-network)"


class GuardError(LoadError):
    """The policy refuses this URL or the address it resolves to; nothing was sent to it."""


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def never_allowed(address: IPAddress) -> str | None:
    """Addresses no policy opens: they are never a web server."""
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    return None


def not_public(address: IPAddress) -> str | None:
    """Why an address is not on the public internet, or None when it is."""
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a non-public address"
    return None


def embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address; else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


class Guard:
    def __init__(self, policy: WebPolicy, resolver: Resolver = system_resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._networks = [ipaddress.ip_network(n, strict=False) for n in policy.allow_networks]
        self._resolved: dict[tuple[str, int], list[str]] = {}
        self._lock = threading.Lock()

    def check_url(self, url: str) -> tuple[str, int]:
        """Scheme and host allowed (no DNS): the host and port; GuardError if not."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise GuardError(url, f"not a valid URL ({exc})") from exc
        if parts.scheme not in HTTP_SCHEMES:
            raise GuardError(url, f"only http and https URLs can be fetched, not {parts.scheme or 'a relative URL'}")
        host = parts.hostname
        if not host:
            raise GuardError(url, "the URL has no host")
        if not self._policy.host_allowed(host):
            allowed = ", ".join(self._policy.allow_hosts) or "none"
            raise GuardError(url, f"host {host!r} is not allowed (allowed hosts: {allowed})")
        return host, port

    def check(self, url: str) -> list[str]:
        """The addresses to connect to for ``url``; GuardError if the policy refuses it."""
        host, port = self.check_url(url)
        addresses = self._resolve(url, host, port)
        for address in addresses:
            why = self.refusal(address)
            if why:
                named = address if address == host else f"{host!r} resolves to {address}, which"
                raise GuardError(url, f"{named} {why}")
        return addresses

    def _resolve(self, url: str, host: str, port: int) -> list[str]:
        with self._lock:
            known = self._resolved.get((host, port))
        if known is not None:
            return known
        try:
            addresses = self._resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise LoadError(url, f"cannot resolve host {host!r} ({exc})") from exc
        if not addresses:
            raise LoadError(url, f"host {host!r} has no address")
        with self._lock:
            self._resolved[(host, port)] = addresses
        return addresses

    def refusal(self, text: str) -> str | None:
        """Why the policy refuses to connect to this address, or None."""
        address = ipaddress.ip_address(text)
        inner = embedded_ipv4(address)
        for candidate in dict.fromkeys((address, inner)):
            if why := never_allowed(candidate):
                return f"is {why}; it is never fetched"
        if self._policy.allow_private_network or any(address in n or inner in n for n in self._networks):
            return None
        for candidate in dict.fromkeys((inner, address)):
            if why := not_public(candidate):
                return f"is {why}; {_PRIVATE_HINT}"
        return None
