"""API keys: random and long, so a fast hash (SHA-256) is the right way to keep them; only a prefix is shown."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from askdocs.errors import InputError
from askdocs.store.schema import api_keys

Scope = Literal["ask", "admin", "frontend"]
SCOPES: tuple[Scope, ...] = ("ask", "admin", "frontend")
KEY_PREFIX = "askd_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str
    prefix: str
    scope: Scope
    groups: tuple[str, ...]
    created_at: float
    revoked_at: float | None = None


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, engine: sa.Engine, *, cache_s: float = 5.0) -> None:
        self._engine = engine
        self._cache_s = cache_s
        self._any: tuple[float, bool] | None = None

    def create(self, name: str, scope: str, groups: tuple[str, ...] = ()) -> tuple[ApiKey, str]:
        """A new key; the secret is returned once and never stored."""
        if not _NAME.match(name):
            raise InputError(f"key name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
        if scope not in SCOPES:
            raise InputError(f"unknown scope {scope!r}; available: {', '.join(SCOPES)}")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(name, secret[:12], scope, tuple(sorted(set(groups))), time.time())
        with self._engine.begin() as db:
            if db.execute(sa.select(api_keys.c.name).where(api_keys.c.name == name)).first():
                raise InputError(f"a key named {name!r} exists already; revoke it or choose another name")
            db.execute(
                api_keys.insert().values(
                    name=name,
                    prefix=key.prefix,
                    key_hash=key_hash(secret),
                    scope=scope,
                    groups=list(key.groups),
                    created_at=key.created_at,
                )
            )
        self._any = None
        return key, secret

    def verify(self, secret: str) -> ApiKey | None:
        """The key this secret is, revoked or not (the caller tells the two apart); None when unknown."""
        with self._engine.connect() as db:
            row = db.execute(sa.select(api_keys).where(api_keys.c.key_hash == key_hash(secret))).first()
        return _key(row) if row else None

    def keys(self) -> list[ApiKey]:
        with self._engine.connect() as db:
            return [_key(r) for r in db.execute(sa.select(api_keys).order_by(api_keys.c.created_at))]

    def revoke(self, name: str) -> bool:
        with self._engine.begin() as db:
            done = db.execute(
                api_keys.update()
                .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            ).rowcount
        self._any = None
        return bool(done)

    def any_active(self) -> bool:
        """Whether any key exists that is not revoked (then every caller needs one); cached for a few seconds."""
        now = time.monotonic()
        if self._any is None or now - self._any[0] > self._cache_s:
            with self._engine.connect() as db:
                found = db.execute(sa.select(api_keys.c.name).where(api_keys.c.revoked_at.is_(None)).limit(1)).first()
            self._any = (now, found is not None)
        return self._any[1]


def _key(row: sa.Row[tuple[object, ...]]) -> ApiKey:
    m = row._mapping
    return ApiKey(m["name"], m["prefix"], m["scope"], tuple(m["groups"] or ()), m["created_at"], m["revoked_at"])
