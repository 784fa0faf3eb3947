"""What the bot remembers between events: the event ids it has handled (Slack retries and replays are answered
once) and the threads it answered in (a follow-up there needs no new mention).

:class:`LocalMemory` keeps both in this process. The service and ``askdocs slack`` use the state store's
(:class:`askdocs.store.slack.SqlSlackMemory`), so that several replicas answer a retried event once between them
and a thread is still followed after a restart.
"""

from __future__ import annotations

from typing import Protocol

from askdocs.slack.recent import Recent

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
