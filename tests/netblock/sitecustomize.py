"""Loopback only, in every Python process the test suite starts.

``tests/conftest.py`` calls :func:`block` in the pytest process and puts this directory first on ``PYTHONPATH``
for the session, so every Python subprocess (the ``askdocs`` CLI, ingest's parser child, a ``python -c``) imports
this file at start-up, as ``sitecustomize``, and is blocked the same way before any of its own code runs.

Outbound connections (``connect``/``connect_ex`` on IPv4/IPv6 sockets) may go to loopback addresses only, and name
lookups (``getaddrinfo``, ``gethostbyname``) may only ask for ``localhost`` or an address literal in any spelling
(parsing a literal sends no query; connecting to a non-loopback one is still refused). Anything else raises an
``OSError`` (a ``socket.gaierror`` for lookups) saying ``tests may not reach the network``. Stdlib only: it runs
in any Python.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

REFUSAL = "tests may not reach the network"
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})

_real = {
    "connect": socket.socket.connect,
    "connect_ex": socket.socket.connect_ex,
    "getaddrinfo": socket.getaddrinfo,
    "gethostbyname": socket.gethostbyname,
    "gethostbyname_ex": socket.gethostbyname_ex,
}


def _address(host: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = host.decode() if isinstance(host, bytes) else str(host)
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_loopback(host: object) -> bool:
    """``localhost`` or a loopback address literal (``127.0.0.0/8``, ``::1``, ``::ffff:127.0.0.1``)."""
    if isinstance(host, (str, bytes)) and (host.decode() if isinstance(host, bytes) else host).lower() in LOCAL_NAMES:
        return True
    address = _address(host)
    return address is not None and address.is_loopback


def _numeric(host: object) -> bool:
    """An address literal in any spelling the resolver parses without asking DNS (``127.1``, ``0x7f.1``,
    ``2130706433``, ``169.254.169.254``): looking it up sends nothing; connecting to it is still checked."""
    if _address(host) is not None:
        return True
    try:
        socket.inet_aton(host.decode() if isinstance(host, bytes) else str(host))
    except (OSError, ValueError):
        return False
    return True


def _may_resolve(host: object) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard or loopback, never a lookup
    return is_loopback(host) or _numeric(host)


def _check_connect(sock: socket.socket, address: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
        raise OSError(f"{REFUSAL} (tried to connect to {address[0]})")


def _check_lookup(host: object) -> None:
    if not _may_resolve(host):
        raise socket.gaierror(socket.EAI_NONAME, f"{REFUSAL} (tried to look up {host!r})")


def _connect(self: socket.socket, address: Any) -> None:
    _check_connect(self, address)
    _real["connect"](self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _check_connect(self, address)
    result: int = _real["connect_ex"](self, address)
    return result


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    _check_lookup(host)
    return _real["getaddrinfo"](host, *args, **kwargs)


def _gethostbyname(host: str) -> Any:
    _check_lookup(host)
    return _real["gethostbyname"](host)


def _gethostbyname_ex(host: str) -> Any:
    _check_lookup(host)
    return _real["gethostbyname_ex"](host)


def block() -> None:
    """Refuse non-loopback connections and lookups in this process (idempotent)."""
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo
    socket.gethostbyname = _gethostbyname
    socket.gethostbyname_ex = _gethostbyname_ex


def unblock() -> None:
    """Put the real functions back."""
    socket.socket.connect = _real["connect"]  # type: ignore[method-assign]
    socket.socket.connect_ex = _real["connect_ex"]  # type: ignore[method-assign]
    socket.getaddrinfo = _real["getaddrinfo"]
    socket.gethostbyname = _real["gethostbyname"]
    socket.gethostbyname_ex = _real["gethostbyname_ex"]


if __name__ == "sitecustomize":
    block()
