"""The interaction log in the state store, and a writer that keeps logging off the answer's path."""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import asdict, fields
from typing import Any

import sqlalchemy as sa

from askdocs.errors import StoreError
from askdocs.store.interactions import Feedback, Interaction, InteractionLog, Logged, LogQuery
from askdocs.store.schema import feedback, interactions

log = logging.getLogger("askdocs.log")
_FIELDS = [f.name for f in fields(Interaction)]


class SqlInteractionLog:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def record(self, interaction: Interaction) -> None:
        with self._begin() as db:
            db.execute(interactions.insert().values(**asdict(interaction)))

    def get(self, interaction_id: str) -> Logged | None:
        found = self._select(_joined().where(interactions.c.interaction_id == interaction_id))
        return found[0] if found else None

    def rate(self, rating: Feedback) -> bool:
        with self._begin() as db:
            known = db.execute(
                sa.select(interactions.c.interaction_id).where(interactions.c.interaction_id == rating.interaction_id)
            ).first()
            if known is None:
                raise LookupError(rating.interaction_id)
            replaced = db.execute(feedback.delete().where(feedback.c.interaction_id == rating.interaction_id)).rowcount
            db.execute(feedback.insert().values(**asdict(rating)))
        return bool(replaced)

    def find(self, query: LogQuery) -> list[Logged]:
        select = _joined().order_by(interactions.c.created_at.desc()).limit(query.limit)
        if query.rating:
            select = select.where(feedback.c.rating == query.rating)
        if query.mode:
            select = select.where(interactions.c.mode == query.mode)
        if query.since is not None:
            select = select.where(interactions.c.created_at >= query.since)
        if query.idk is not None:
            select = select.where(interactions.c.idk == query.idk)
        if query.channel:
            select = select.where(interactions.c.channel == query.channel)
        if query.asked_by:
            select = select.where(interactions.c.asked_by == query.asked_by)
        if query.asker:
            select = select.where(interactions.c.asker == query.asker)
        return self._select(select)

    def prune(self, before: float) -> int:
        with self._begin() as db:
            old = sa.select(interactions.c.interaction_id).where(interactions.c.created_at < before)
            db.execute(feedback.delete().where(feedback.c.interaction_id.in_(old)))
            return int(db.execute(interactions.delete().where(interactions.c.created_at < before)).rowcount)

    def _select(self, select: sa.Select[Any]) -> list[Logged]:
        try:
            with self.engine.connect() as db:
                rows = db.execute(select).all()
        except sa.exc.OperationalError as exc:
            raise StoreError(f"the state store cannot be read: {exc.orig}") from exc
        return [_logged(row) for row in rows]

    def _begin(self) -> Any:
        return _Translated(self.engine)


class _Translated:
    """``engine.begin()`` whose connection errors become StoreError."""

    def __init__(self, engine: sa.Engine) -> None:
        self._context = engine.begin()

    def __enter__(self) -> sa.Connection:
        try:
            return self._context.__enter__()
        except sa.exc.OperationalError as exc:
            raise StoreError(f"the state store cannot be reached: {exc.orig}") from exc

    def __exit__(self, *exc: Any) -> None:
        try:
            self._context.__exit__(*exc)
        except sa.exc.OperationalError as error:
            raise StoreError(f"the state store failed: {error.orig}") from error


def _joined() -> sa.Select[Any]:
    return sa.select(interactions, *(c.label(f"fb_{c.name}") for c in feedback.c)).select_from(
        interactions.outerjoin(feedback, feedback.c.interaction_id == interactions.c.interaction_id)
    )


def _logged(row: Any) -> Logged:
    data = row._mapping
    interaction = Interaction(**{name: data[name] for name in _FIELDS})
    rated = None
    if data["fb_rating"] is not None:
        rated = Feedback(**{f.name: data[f"fb_{f.name}"] for f in fields(Feedback)})
    return Logged(interaction, rated)


class BackgroundLog:
    """Records on a writer thread, so an answer never waits for the store, and a store that is down never breaks
    an answer: a failed write is counted (``failures``) and logged, and the answer has gone out already.
    Reads and ratings go straight to the store (after the writes queued before them)."""

    def __init__(self, inner: InteractionLog, *, capacity: int = 10_000) -> None:
        self._inner = inner
        self._queue: queue.Queue[Interaction | None] = queue.Queue(capacity)
        self.failures = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._write, name="askdocs-log", daemon=True)
        self._thread.start()

    def record(self, interaction: Interaction) -> None:
        try:
            self._queue.put_nowait(interaction)
        except queue.Full:
            self.dropped += 1
            log.error("interaction log queue full; dropped %s", interaction.interaction_id)

    def flush(self, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)

    def get(self, interaction_id: str) -> Logged | None:
        self.flush()
        return self._inner.get(interaction_id)

    def rate(self, rating: Feedback) -> bool:
        self.flush()
        return self._inner.rate(rating)

    def find(self, query: LogQuery) -> list[Logged]:
        self.flush()
        return self._inner.find(query)

    def prune(self, before: float) -> int:
        return self._inner.prune(before)

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _write(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._inner.record(item)
            except Exception as exc:  # the answer went out; the log entry is lost, and said so
                self.failures += 1
                log.error("could not log interaction %s: %s", item.interaction_id, exc)
            finally:
                self._queue.task_done()
        self._queue.task_done()
