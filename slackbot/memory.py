"""What the bot remembers between events: the event ids it has handled (Slack retries and replays are answered
once) and the threads it answered in (a follow-up there needs no new mention).

:class:`LocalMemory` keeps both in this process. The service and ``askdocs slack`` use :class:`SqlSlackMemory`, in
the state store's tables (``slack_events``, ``slack_threads``), so that several replicas answer a retried event once
between them and a thread is still followed after a restart.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import sqlalchemy as sa

from askdocs.store.schema import slack_events, slack_threads
from slackbot.recent import Recent

log = logging.getLogger("askdocs.slack")
PRUNE_EVERY_S = 600.0
EVENT_TTL_S = 3600.0  # Slack retries within minutes; an hour covers replays too
THREAD_TTL_S = 7 * 86400.0  # a thread the bot answered in is followed for a week


class SlackMemory(Protocol):
    def first_time(self, event_id: str) -> bool:
        """Remember ``event_id``; False when it was handled already (by this process or another)."""
        ...

    def answered_in(self, channel: str, thread_ts: str) -> None: ...

    def follows(self, channel: str, thread_ts: str) -> bool:
        """True when the bot answered in this thread (within :data:`THREAD_TTL_S`)."""
        ...


class LocalMemory:
    def __init__(self) -> None:
        self._events = Recent(ttl_s=EVENT_TTL_S)
        self._threads = Recent(ttl_s=THREAD_TTL_S, max_items=100_000)

    def first_time(self, event_id: str) -> bool:
        return self._events.add(event_id)

    def answered_in(self, channel: str, thread_ts: str) -> None:
        self._threads.add((channel, thread_ts))

    def follows(self, channel: str, thread_ts: str) -> bool:
        return (channel, thread_ts) in self._threads


class SqlSlackMemory:
    """The state store's memory, shared by every process that uses the store and kept across restarts.

    A primary key makes "first time" atomic between replicas: of two processes that receive the same retried
    event, one inserts its id and answers, the other finds it there. When the store fails the bot must still
    answer, so each call falls back to this process's own memory and the failure goes to the log."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._fallback = LocalMemory()
        self._pruned_at = 0.0

    def first_time(self, event_id: str) -> bool:
        now = time.time()
        try:
            self._prune(now)
            with self._engine.begin() as db:
                db.execute(slack_events.insert().values(event_id=event_id, seen_at=now))
        except sa.exc.IntegrityError:
            return False
        except sa.exc.SQLAlchemyError as exc:
            log.warning("slack: the state store failed (%s); remembering event %s in this process only", exc, event_id)
            return self._fallback.first_time(event_id)
        self._fallback.first_time(event_id)  # known here too, should the store fail at the retry
        return True

    def answered_in(self, channel: str, thread_ts: str) -> None:
        self._fallback.answered_in(channel, thread_ts)
        key = {"channel": channel, "thread_ts": thread_ts}
        try:
            with self._engine.begin() as db:
                updated = db.execute(slack_threads.update().filter_by(**key).values(answered_at=time.time()))
                if updated.rowcount == 0:
                    db.execute(slack_threads.insert().values(**key, answered_at=time.time()))
        except sa.exc.IntegrityError:
            pass  # another process recorded it at the same moment
        except sa.exc.SQLAlchemyError as exc:
            log.warning("slack: the state store failed (%s); thread %s/%s remembered here only", exc, *key.values())

    def follows(self, channel: str, thread_ts: str) -> bool:
        since = time.time() - THREAD_TTL_S
        query = sa.select(sa.literal(1)).where(
            slack_threads.c.channel == channel,
            slack_threads.c.thread_ts == thread_ts,
            slack_threads.c.answered_at >= since,
        )
        try:
            with self._engine.connect() as db:
                return db.execute(query).first() is not None
        except sa.exc.SQLAlchemyError as exc:
            log.warning("slack: the state store failed (%s); following threads known to this process", exc)
            return self._fallback.follows(channel, thread_ts)

    def _prune(self, now: float) -> None:
        if now - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = now
        with self._engine.begin() as db:
            db.execute(slack_events.delete().where(slack_events.c.seen_at < now - EVENT_TTL_S))
            db.execute(slack_threads.delete().where(slack_threads.c.answered_at < now - THREAD_TTL_S))
