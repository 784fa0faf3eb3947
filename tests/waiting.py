"""Waiting in tests for a thing to happen, never for a time to pass: ``until`` polls a condition and fails, after
a deadline far beyond what it should take, naming what never happened."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(condition: Callable[[], T], what: str, timeout_s: float = 60.0, every_s: float = 0.02) -> T:
    """``condition()``'s first true value; AssertionError("... never happened") after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout_s} s")
        time.sleep(every_s)
    return value
