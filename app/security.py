"""Who is calling, and what they may do: API keys (scoped, with their groups), an authenticating reverse proxy's
headers when trusted, the old admin token, and a rate limit per caller.

Scopes: ``ask`` searches with its key's groups; ``frontend`` (the Slack bot, an SSO proxy that authenticated the
user) may pass the asker's groups in ``/ask``'s ``groups`` field; ``admin`` may also ingest, delete and read the
log. Once any key exists (or ``ASKDOCS_AUTH__REQUIRED=true``) every endpoint but ``/health`` needs one.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from app.deps import ContainerDep
from app.limits import RateLimits
from askdocs.settings import AuthSettings, Rate

ADMIN_TOKEN_NAME = "admin-token"  # how ASKDOCS_ADMIN_TOKEN appears as a caller


@dataclass(frozen=True, slots=True)
class Caller:
    name: str | None  # the key's name, the proxy's user; None: anonymous (no keys configured)
    scope: str  # ask | admin | frontend | proxy | anonymous
    groups: tuple[str, ...] = ()
    limit_key: str = ""

    @property
    def vouches_for_groups(self) -> bool:
        """May pass someone else's groups (the asker's) in a request."""
        return self.scope == "frontend"


def get_caller(request: Request, container: ContainerDep) -> Caller:
    """Authenticate (401 with the reason), then count the request against the caller's rate limit (429): an
    address without keys, a frontend key as a whole (each person it asks for is counted by ``person_for``), any
    other caller on its own."""
    caller = _authenticated(request, container)
    limits = container.rate_limit
    if limits is not None:
        limits.check(_rate_of(limits, caller), caller.limit_key, _who(caller))
    request.state.caller = caller
    return caller


def _rate_of(limits: RateLimits, caller: Caller) -> Rate | None:
    if caller.scope == "anonymous":
        return limits.anonymous
    return limits.frontend if caller.vouches_for_groups else limits.caller


def _who(caller: Caller) -> str:
    if caller.scope == "anonymous":
        return "the address " + caller.limit_key.removeprefix("address:")
    return f"the user {caller.name!r}" if caller.scope == "proxy" else f"the key {caller.name!r}"


def _authenticated(request: Request, container: ContainerDep) -> Caller:
    auth = container.settings.auth
    host = request.client.host if request.client else "unknown"
    proxied = _proxy_user(request, auth, host)
    if proxied is not None:
        return proxied
    token = _bearer(request)
    if token:
        admin = container.settings.admin_token
        if admin is not None and hmac.compare_digest(token.encode(), admin.get_secret_value().encode()):
            return Caller(ADMIN_TOKEN_NAME, "admin", (), f"key:{ADMIN_TOKEN_NAME}")
        key = container.keys.verify(token) if container.keys is not None else None
        if key is None:
            raise HTTPException(
                401, "unknown API key (send 'Authorization: Bearer <key>' with a key from `askdocs keys create`)"
            )
        if key.revoked_at is not None:
            raise HTTPException(401, f"the API key {key.name!r} was revoked")
        return Caller(key.name, key.scope, key.groups, f"key:{key.name}")
    if auth.required or (container.keys is not None and container.keys.any_active()):
        raise HTTPException(401, "this service needs an API key: send 'Authorization: Bearer <key>'")
    return Caller(None, "anonymous", (), f"address:{host}")


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    return token or request.headers.get("x-admin-token", "").strip()


def _proxy_user(request: Request, auth: AuthSettings, host: str) -> Caller | None:
    """The user and groups an authenticating proxy set, only when trusted and only from its addresses."""
    if not auth.trust_proxy_headers or not _in_networks(host, auth.proxy_addresses):
        return None
    user = request.headers.get(auth.user_header, "").strip()
    if not user:
        return None
    groups = tuple(sorted({g.strip() for g in request.headers.get(auth.groups_header, "").split(",") if g.strip()}))
    return Caller(user, "proxy", groups, f"user:{user}")


def _in_networks(host: str, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


def require_admin(caller: Annotated[Caller, Depends(get_caller)], container: ContainerDep) -> Caller:
    if caller.scope == "admin":
        return caller
    if caller.scope == "anonymous" and container.settings.admin_token is None:
        raise HTTPException(
            403,
            "admin endpoints are disabled: create an admin key (askdocs keys create --scope admin) or set "
            "ASKDOCS_ADMIN_TOKEN on the service",
        )
    if caller.scope == "anonymous":
        raise HTTPException(401, "missing or wrong admin token (send 'Authorization: Bearer <token>')")
    raise HTTPException(403, f"this endpoint needs an admin key; {caller.name!r} has scope {caller.scope!r}")


def groups_for(caller: Caller, asked: list[str]) -> tuple[str, ...]:
    """The groups a search runs with: the caller's own, or, from a frontend, the asker's as vouched for."""
    if caller.vouches_for_groups:
        return tuple(asked)
    if asked:
        raise HTTPException(
            403,
            "the 'groups' field is honoured only from a frontend key (a Slack bot, an SSO proxy); this "
            "caller searches with its own key's groups",
        )
    return caller.groups


def person_for(caller: Caller, vouched: str | None, field: str, limits: RateLimits | None) -> str | None:
    """Who the log names: the caller, or, from a frontend, the person it vouches for (the Slack user it asks for),
    whose request is then counted against that person's own rate limit (429), not only the frontend's."""
    if vouched is None:
        return caller.name
    if not caller.vouches_for_groups:
        raise HTTPException(
            403, f"the {field!r} field is honoured only from a frontend key (a Slack bot, an SSO proxy)"
        )
    if limits is not None:
        limits.check(limits.caller, _person(caller, vouched), f"{vouched!r}, asked for by {caller.name!r}")
    return vouched


def asker_of(caller: Caller, vouched: str | None = None) -> str | None:
    """Who asked, with its kind, as the log keeps it for ``/me/questions``: ``key:NAME`` (an API key, the admin
    token), ``user:NAME`` (a proxy's user), ``person:FRONTEND:NAME`` (someone a frontend key vouches for); None for
    an anonymous caller, and for the Slack bot inside the service (a Slack user has no /me page). A name alone
    would make a key and a user of the same name one asker."""
    if caller.scope == "anonymous":
        return None
    return caller.limit_key if vouched is None else _person(caller, vouched)


def _person(frontend: Caller, vouched: str) -> str:
    return f"person:{frontend.name}:{vouched}"


CallerDep = Annotated[Caller, Depends(get_caller)]
AdminCaller = Depends(require_admin)
