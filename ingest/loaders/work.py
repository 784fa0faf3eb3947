"""What a loader tells about the work a document holds, for whoever bounds the time of its parse.

A PDF's pages, and which of them need OCR, are known only once the file is open and read; the child parser
(``ingest/parsing.py``) listens while it parses and grants each document time for the work it reports. Parsed in
the caller's process, nobody listens and a report does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Work:
    pages: int = 0  # pages with a text layer to read
    ocr_pages: int = 0  # pages to render and OCR (several seconds each)


_listener: ContextVar[Callable[[Work], None] | None] = ContextVar("work_listener", default=None)


def report(work: Work) -> None:
    """Tell the listener, if any, about work found in the document being parsed (reports add up)."""
    if (listener := _listener.get()) is not None:
        listener(work)


@contextmanager
def listening(listener: Callable[[Work], None]) -> Iterator[None]:
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)
