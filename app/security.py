"""Who is calling: API keys, the legacy admin token, an authenticating proxy; their scope, groups and rate limit.

``authenticate`` runs before every route but ``/health`` (and ``/metrics``, which has its own token). Once any key
exists, or with ``ASKDOCS_AUTH__REQUIRED=true``, a call without a valid key is a 401. Without keys the service is
open as before: a caller is anonymous and the ``groups`` field of /ask is taken as sent (development only).
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from askdocs.keys import KeyStore
from askdocs.settings import Settings

OPEN_PATHS = frozenset({"/health", "/metrics"})
ADMIN_TOKEN_NAME = "admin-token"
_NEED_KEY = (
    "this service needs an API key: send 'Authorization: Bearer <key>' (an admin creates one: askdocs keys create)"
)


@dataclass(frozen=True, slots=True)
class Identity:
    name: str  # the key's name, 'admin-token', the proxy's user, or 'anonymous'
    scope: str | None  # ask, admin, frontend; None: anonymous on a service without keys
    groups: tuple[str, ...] = ()
    key: str = ""  # the key's visible prefix (logged), '' when none

    @property
    def anonymous(self) -> bool:
        return self.scope is None


ANONYMOUS = Identity("anonymous", None)


class Guard:
    """The service's authentication and rate limits; built once per app."""

    def __init__(self, settings: Settings, keys: KeyStore | None) -> None:
        self.settings = settings
        self.keys = keys
        self._proxies = [ipaddress.ip_network(p, strict=False) for p in settings.auth.trusted_proxies]
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rate: RateLimitItem | None = parse(settings.limits.rate) if settings.limits.rate else None

    def required(self) -> bool:
        return self.settings.auth.required or (self.keys is not None and self.keys.any_active())

    def identify(self, request: Request) -> Identity:
        secret = _bearer(request)
        if secret:
            return self._by_secret(secret)
        proxied = self._from_proxy(request)
        if proxied is not None:
            return proxied
        if self.required():
            raise HTTPException(401, _NEED_KEY, headers={"WWW-Authenticate": "Bearer"})
        return ANONYMOUS

    def _by_secret(self, secret: str) -> Identity:
        token = self.settings.admin_token
        if token is not None and hmac.compare_digest(secret.encode(), token.get_secret_value().encode()):
            return Identity(ADMIN_TOKEN_NAME, "admin", key=ADMIN_TOKEN_NAME)
        key = self.keys.lookup(secret) if self.keys is not None else None
        if key is None:
            raise HTTPException(
                401, "unknown or revoked API key (see 'askdocs keys list')", headers={"WWW-Authenticate": "Bearer"}
            )
        return Identity(key.name, key.scope, key.groups, key.prefix)

    def _from_proxy(self, request: Request) -> Identity | None:
        auth = self.settings.auth
        user = request.headers.get(auth.proxy_user_header)
        if not auth.trust_proxy_headers or not user or request.client is None:
            return None
        try:
            address = ipaddress.ip_address(request.client.host)
        except ValueError:
            return None
        if not any(address in network for network in self._proxies):
            return None
        groups = [g.strip() for g in request.headers.get(auth.proxy_groups_header, "").split(",") if g.strip()]
        return Identity(f"proxy:{user}", "ask", tuple(groups), "proxy")

    def limit(self, identity: Identity, request: Request) -> None:
        if self._rate is None:
            return
        who = identity.key or identity.name
        if identity.anonymous:
            who = f"ip:{request.client.host if request.client else '?'}"
        if not self._limiter.hit(self._rate, who):
            reset = self._limiter.get_window_stats(self._rate, who).reset_time
            retry = max(1, int(reset - time.time()) + 1)
            request.state.rate_limited = True
            raise HTTPException(
                429,
                f"rate limit of {self.settings.limits.rate} for this key exceeded; retry in {retry} s",
                headers={"Retry-After": str(retry)},
            )


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-admin-token", "").strip()


def authenticate(request: Request) -> Identity:
    """The app-wide dependency: who is calling (401 if nobody valid), then their rate limit (429)."""
    if request.url.path in OPEN_PATHS:
        return ANONYMOUS
    guard: Guard = request.app.state.guard
    identity = guard.identify(request)
    request.state.identity = identity
    guard.limit(identity, request)
    return identity


def current_identity(request: Request) -> Identity:
    identity: Identity = getattr(request.state, "identity", ANONYMOUS)
    return identity


IdentityDep = Annotated[Identity, Depends(current_identity)]


def require_admin(request: Request) -> None:
    identity = current_identity(request)
    if identity.scope == "admin":
        return
    guard: Guard = request.app.state.guard
    if identity.anonymous:
        if guard.settings.admin_token is None and (guard.keys is None or not guard.keys.any_active()):
            raise HTTPException(
                403, "admin endpoints are disabled: create an admin key (askdocs keys create --scope admin)"
            )
        raise HTTPException(401, "this endpoint needs an admin key: send 'Authorization: Bearer <key>'")
    raise HTTPException(
        403, f"this endpoint needs an admin key; the key {identity.name!r} has scope {identity.scope!r}"
    )


def require_admin_with_keys(request: Request) -> None:
    """The document list names restricted documents: admin only, once the service has keys."""
    if not current_identity(request).anonymous:
        require_admin(request)


def search_groups(identity: Identity, sent: list[str] | None) -> list[str]:
    """The groups a question is searched with: the key's own, or those a frontend key vouches for."""
    if identity.anonymous or identity.scope == "frontend":
        return list(sent or [])
    if sent:
        raise HTTPException(
            403,
            f"the 'groups' field is accepted only from a frontend key; the key {identity.name!r} has scope "
            f"{identity.scope!r} and searches with its own groups: leave 'groups' out",
        )
    return list(identity.groups)
