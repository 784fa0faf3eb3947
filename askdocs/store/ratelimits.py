"""The rate limit's counts in the state store: one row per (key, period, window), so that every replica on the store
counts the same requests. What a window admits is the limit's business (``app/limits.py``); this module only makes
"count it if admitted" atomic between processes and machines."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from askdocs.errors import StoreError
from askdocs.store.schema import rate_counts

PRUNE_EVERY_S = 60.0
_MAX_KEY = 256  # the column's length

# (hits in the previous window, hits in the current one with this request) -> may it go ahead?
Admits = Callable[[int, int], bool]


class SqlRateCounts:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._insert: Any = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._pruned_at = 0.0

    def hit(self, key: str, period_s: int, now: float, admits: Admits) -> tuple[int, int]:
        """Count one request of ``key`` at ``now`` in its window of ``period_s`` seconds if ``admits`` it; returns
        (previous, current) as ``admits`` saw them. The increment holds the row's lock (PostgreSQL) or the
        database's write lock (SQLite) until it is committed or, refused, rolled back: two replicas never both
        take the last request a window allows."""
        window = int(now // period_s)
        stored = _stored(key)
        upsert = self._insert(rate_counts).values(
            key=stored, period_s=period_s, window_no=window, hits=1, expires_at=(window + 2) * period_s
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=[rate_counts.c.key, rate_counts.c.period_s, rate_counts.c.window_no],
            set_={"hits": rate_counts.c.hits + 1},
        ).returning(rate_counts.c.hits)
        previous_row = sa.select(rate_counts.c.hits).where(
            rate_counts.c.key == stored, rate_counts.c.period_s == period_s, rate_counts.c.window_no == window - 1
        )
        try:
            self._prune(now)
            with self._engine.connect() as db:
                current = int(db.execute(upsert).scalar_one())
                previous = int(db.execute(previous_row).scalar() or 0)
                if admits(previous, current):
                    db.commit()
                else:
                    db.rollback()  # a refused request is not counted: a client that waits gets through
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"the state store cannot count requests: {getattr(exc, 'orig', exc)}") from exc
        return previous, current

    def _prune(self, now: float) -> None:
        """Drop the windows no limit looks at any more; at most every PRUNE_EVERY_S per process."""
        if now - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = now
        with self._engine.begin() as db:
            db.execute(rate_counts.delete().where(rate_counts.c.expires_at < now))


def _stored(key: str) -> str:
    """The key as stored: itself, or its SHA-256 when longer than the column (a proxy's user header, say)."""
    if len(key) <= _MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
