"""The rate limits: per caller (a key, a proxy's user, the person a frontend key asks for), per frontend key as a
whole, and per address without keys; counted in the state store, so that every replica enforces the same limit.

Each is a sliding window: the requests of the current window, plus those of the previous one weighted by the share
of it still inside the last ``period`` (the "sliding window counter"): two counts per key instead of a timestamp
per request, and no burst of twice the limit across a window's edge as fixed windows allow. A refused request is
not counted, so a client that waits the ``Retry-After`` it was given gets through.

When the store cannot count (down, unreachable), this process counts in its own memory until it can again: the
limit then holds per replica instead of not at all, and no request is refused for the store's sake.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

from fastapi import HTTPException

from app.metrics import RATE_LIMITED
from askdocs.errors import StoreError
from askdocs.settings import AuthSettings, Rate, parse_rate

log = logging.getLogger("askdocs.limits")
WARN_EVERY_S = 60.0
_EPSILON = 1e-6  # float rounding must not refuse a client that waited exactly its Retry-After


class RateCounts(Protocol):
    def hit(self, key: str, period_s: int, now: float, admits: Callable[[int, int], bool]) -> tuple[int, int]:
        """Count one request of ``key`` in its window if ``admits(previous, current)``; returns the two counts."""
        ...


class MemoryRateCounts:
    """This process's counts: the fallback while the store cannot count."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, int, int], int] = {}
        self._lock = threading.Lock()
        self._pruned_at = 0.0

    def hit(self, key: str, period_s: int, now: float, admits: Callable[[int, int], bool]) -> tuple[int, int]:
        window = int(now // period_s)
        with self._lock:
            if now - self._pruned_at > WARN_EVERY_S:
                self._pruned_at = now
                self._hits = {k: n for k, n in self._hits.items() if (k[2] + 2) * k[1] >= now}
            previous = self._hits.get((key, period_s, window - 1), 0)
            current = self._hits.get((key, period_s, window), 0) + 1
            if admits(previous, current):
                self._hits[(key, period_s, window)] = current
        return previous, current


class RateLimits:
    """The service's three limits (``ASKDOCS_AUTH__*RATE_LIMIT``; None: no limit), checked by ``app.security``."""

    def __init__(self, auth: AuthSettings, counts: RateCounts, *, clock: Callable[[], float] = time.time) -> None:
        self.caller = _rate(auth.rate_limit)  # a key, a proxy's user, a person a frontend asks for
        self.frontend = _rate(auth.frontend_rate_limit)  # a frontend key as a whole
        self.anonymous = _rate(auth.anonymous_rate_limit)  # an address, without keys
        self._counts = counts
        self._local = MemoryRateCounts()
        self._clock = clock
        self._warned_at = -math.inf

    def check(self, rate: Rate | None, key: str, who: str) -> None:
        """Count a request of ``key`` against ``rate``, or refuse it: 429 naming ``who`` and the wait."""
        if rate is None:
            return
        now = self._clock()
        elapsed = now % rate.period_s
        weight = 1.0 - elapsed / rate.period_s

        def admits(previous: int, current: int) -> bool:
            return previous * weight + current <= rate.amount + _EPSILON

        previous, current = self._hit(key, rate, now, admits)
        if admits(previous, current):
            return
        RATE_LIMITED.inc()
        wait = retry_after(rate, previous, current - 1, elapsed)
        raise HTTPException(
            429, f"rate limit of {rate} for {who} exceeded; retry in {wait} s", {"Retry-After": str(wait)}
        )

    def _hit(self, key: str, rate: Rate, now: float, admits: Callable[[int, int], bool]) -> tuple[int, int]:
        try:
            return self._counts.hit(key, rate.period_s, now, admits)
        except StoreError as exc:
            if now - self._warned_at > WARN_EVERY_S:
                self._warned_at = now
                log.warning("%s; counting requests in this process until it can", exc)
            return self._local.hit(key, rate.period_s, now, admits)


def _rate(text: str | None) -> Rate | None:
    return None if text is None else parse_rate(text)


def retry_after(rate: Rate, previous: int, counted: int, elapsed: float) -> int:
    """Whole seconds until the next request is admitted, with ``counted`` requests in the current window (at
    ``elapsed`` seconds into it) and ``previous`` in the one before, if none comes in between."""
    period, room = rate.period_s, rate.amount - 1 - counted
    if room >= 0:  # later in this window, once enough of the previous one has slid out
        wait = period * (1 - room / previous) - elapsed if previous else 0.0
    else:  # in the next window, once enough of this one has slid out
        wait = period - elapsed + period * max(0.0, 1 - (rate.amount - 1) / counted)
    return max(1, math.ceil(wait - _EPSILON))
