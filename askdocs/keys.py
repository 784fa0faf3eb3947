"""API keys: who may call the service, with which scope and which groups.

A key is ``ak_`` + 43 random URL-safe characters (256 bits). Only its SHA-256 is stored (a key that long cannot be
guessed, so a fast hash is right, unlike a password), with its first characters as a visible prefix for
``askdocs keys list``. Scopes: ``ask`` (asks with the key's own groups), ``frontend`` (a trusted front end, e.g.
the Slack bot or an SSO proxy, that says whose groups to use per request) and ``admin`` (ingest, delete, keys).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, get_args

from askdocs.errors import ConfigError, InputError

Scope = Literal["ask", "admin", "frontend"]
SCOPES: tuple[str, ...] = get_args(Scope)
KEY_PREFIX = "ak_"
PREFIX_CHARS = 10  # "ak_" and 7 random characters: enough to tell keys apart in a list, useless to an attacker
_GROUP = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    name: str
    scope: Scope
    groups: tuple[str, ...]
    prefix: str
    created_at: float
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class KeyStore(Protocol):
    """Where keys live. ``lookup`` is on every request: it must be cheap."""

    def create(self, name: str, scope: str, groups: Sequence[str] = ()) -> tuple[ApiKey, str]: ...

    def list(self) -> list[ApiKey]: ...

    def revoke(self, key_id_or_prefix: str) -> ApiKey: ...

    def lookup(self, secret: str) -> ApiKey | None: ...

    def any_active(self) -> bool: ...

    def close(self) -> None: ...


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def checked(name: str, scope: str, groups: Sequence[str]) -> tuple[str, Scope, tuple[str, ...]]:
    """The arguments of ``create``, or an InputError naming what is wrong."""
    if not name.strip():
        raise InputError("a key needs a name (--name), e.g. the system or person that will use it")
    if scope not in SCOPES:
        raise InputError(f"unknown scope {scope!r}; choose one of: {', '.join(SCOPES)}")
    bad = [g for g in groups if not _GROUP.match(g)]
    if bad:
        raise InputError(f"bad group name(s) {', '.join(map(repr, bad))}: use letters, digits and _.:@- only")
    return name.strip(), scope, tuple(dict.fromkeys(groups))  # type: ignore[return-value]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    groups TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    revoked_at REAL
)
"""


class SqliteKeyStore:
    """Keys in a SQLite file (``<data_dir>/keys.sqlite``); safe to share between threads and processes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"the key store {path} cannot be opened ({exc}); it was left as it is") from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    def create(self, name: str, scope: str, groups: Sequence[str] = ()) -> tuple[ApiKey, str]:
        name, valid_scope, group_tuple = checked(name, scope, groups)
        secret = new_secret()
        key = ApiKey(secrets.token_hex(8), name, valid_scope, group_tuple, secret[:PREFIX_CHARS], time.time())
        with self._tx() as db:
            db.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                (key.key_id, key.name, key.scope, json.dumps(key.groups), key.prefix, hash_key(secret), key.created_at),
            )
        return key, secret

    def list(self) -> list[ApiKey]:
        with self._tx() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at").fetchall()
        return [_key(row) for row in rows]

    def revoke(self, key_id_or_prefix: str) -> ApiKey:
        matches = [k for k in self.list() if key_id_or_prefix in (k.key_id, k.prefix)]
        if len(matches) != 1:
            found = "no key" if not matches else f"{len(matches)} keys"
            raise InputError(f"{found} with id or prefix {key_id_or_prefix!r}; see 'askdocs keys list'")
        with self._tx() as db:
            db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (time.time(), matches[0].key_id),
            )
        return next(k for k in self.list() if k.key_id == matches[0].key_id)

    def lookup(self, secret: str) -> ApiKey | None:
        with self._tx() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (hash_key(secret),)
            ).fetchone()
        return _key(row) if row else None

    def any_active(self) -> bool:
        with self._tx() as db:
            return db.execute("SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1").fetchone() is not None

    def close(self) -> None:
        self._db.close()


_COLUMNS = "key_id, name, scope, groups, prefix, created_at, revoked_at"


def _key(row: tuple[str, str, Scope, str, str, float, float | None]) -> ApiKey:
    key_id, name, scope, groups, prefix, created_at, revoked_at = row
    return ApiKey(key_id, name, scope, tuple(json.loads(groups)), prefix, created_at, revoked_at)
