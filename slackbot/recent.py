"""A small set that forgets: event ids already handled (Slack retries), threads the bot answered in."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class Recent:
    def __init__(self, ttl_s: float, max_items: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_s <= 0 or max_items < 1:
            raise ValueError(f"ttl_s must be positive and max_items at least 1, not {ttl_s} and {max_items}")
        self._ttl = ttl_s
        self._max = max_items
        self._clock = clock
        self._items: OrderedDict[Hashable, float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: Hashable) -> bool:
        """Remember ``key``; False when it was already there (and still fresh)."""
        now = self._clock()
        with self._lock:
            self._forget(now)
            if key in self._items:
                return False
            self._items[key] = now + self._ttl
            if len(self._items) > self._max:
                self._items.popitem(last=False)
            return True

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            self._forget(self._clock())
            return key in self._items

    def _forget(self, now: float) -> None:
        while self._items and next(iter(self._items.values())) < now:
            self._items.popitem(last=False)
