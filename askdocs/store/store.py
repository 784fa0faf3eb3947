"""Opening the state store: the engine, the migrations, and the data of versions before it carried over."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass

import sqlalchemy as sa

from askdocs.errors import StoreError
from askdocs.settings import Settings
from askdocs.store.engine import database_url, make_engine, upgrade
from askdocs.store.queue import SqlJobQueue
from askdocs.store.schema import jobs, validators
from askdocs.store.sqllog import SqlInteractionLog

log = logging.getLogger("askdocs.store")
LEGACY_VALIDATORS = "web_cache.sqlite"  # a <data_dir> file of versions that kept one SQLite file per part


@dataclass(slots=True)
class Store:
    engine: sa.Engine
    queue: SqlJobQueue
    interactions: SqlInteractionLog

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(settings: Settings, *, migrate: bool = True) -> Store:
    """The store of ``ASKDOCS_DATABASE__URL``, migrated to this version's schema, with the job queue and web
    validators of an older data directory carried over once."""
    engine = make_engine(database_url(settings))
    try:
        if migrate:
            upgrade(engine)
        carry_over(settings, engine)
    except BaseException:
        engine.dispose()
        raise
    w = settings.worker
    return Store(engine, SqlJobQueue(engine, lease_s=w.lease_s, max_attempts=w.max_attempts), SqlInteractionLog(engine))


def carry_over(settings: Settings, engine: sa.Engine) -> None:
    """Copy the old per-part SQLite files into the store, then rename them ``*.carried-over`` (kept, not deleted)."""
    for path, copy in (
        (settings.legacy_queue_path, _copy_jobs),
        (settings.data_dir / LEGACY_VALIDATORS, _copy_validators),
    ):
        if not path.is_file():
            continue
        try:
            with sqlite3.connect(path) as old:
                old.row_factory = sqlite3.Row
                copied = copy(old, engine)
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot carry {path} over into the state store ({exc}); move it aside to start without it"
            ) from exc
        path.rename(path.with_name(path.name + ".carried-over"))
        log.warning("carried %d rows of %s over into the state store", copied, path)


def _copy_jobs(old: sqlite3.Connection, engine: sa.Engine) -> int:
    rows = [dict(r) for r in old.execute("SELECT * FROM jobs")]
    with engine.begin() as db:
        have = {r[0] for r in db.execute(sa.select(jobs.c.job_id))}
        new = [
            r | {"spec": json.loads(r["spec"]), "result": json.loads(r["result"] or "{}")}
            for r in rows
            if r["job_id"] not in have
        ]
        if new:
            db.execute(jobs.insert(), new)
    return len(new)


def _copy_validators(old: sqlite3.Connection, engine: sa.Engine) -> int:
    rows = [
        {"key": r["key"], "value": json.loads(r["value"])} for r in old.execute("SELECT key, value FROM validators")
    ]
    with engine.begin() as db:
        have = {r[0] for r in db.execute(sa.select(validators.c.key))}
        new = [r for r in rows if r["key"] not in have]
        if new:
            db.execute(validators.insert(), new)
    return len(new)
