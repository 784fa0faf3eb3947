"""The per-caller rate limit (the ``limits`` library, a moving window in memory: per service process)."""

from __future__ import annotations

import time

from fastapi import HTTPException
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from app.metrics import RATE_LIMITED


class RateLimit:
    def __init__(self, rule: str) -> None:
        self._item = parse(rule)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, key: str) -> None:
        if self._limiter.hit(self._item, key):
            return
        RATE_LIMITED.inc()
        reset = self._limiter.get_window_stats(self._item, key).reset_time
        wait = max(1, int(reset - time.time()) + 1)
        raise HTTPException(429, f"rate limit of {self._item} exceeded; retry in {wait} s", {"Retry-After": str(wait)})
