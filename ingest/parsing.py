"""Parsing raw bytes into Documents, where one document cannot hang or exhaust the run.

``InlineParser`` parses in the caller's process (tests, evaluations, already trusted input). ``ChildParser``
parses in a child process with a time limit per document and a memory limit (the parent watches the child's
resident memory; a hard address-space cap of a few times that backs it up): a document over either is reported as
that document's LoadError, the child is killed and replaced, and the run goes on. The child also
parses the next documents while the caller embeds the previous ones.

The time limit grows with the work (``ParseBudget``): a base, plus time per MB of the file, per page and per page
to OCR, the pages as the loader reports them once it has opened the file (``ingest/loaders/work.py``), so nothing
is parsed outside the child to count them. A document over its limit is tried once more with ``retry_factor``
times the time before it is reported, with both attempts in the message.

Both keep the order of their input: ``map`` takes ``(key, raw or None)`` pairs and yields ``(key, result)``, where
``None`` passes through untouched (an item the caller already has a Document or a failure for).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import resource
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol, TypeVar

from askdocs.errors import LoadError
from askdocs.models import Document
from askdocs.settings import IngestSettings
from ingest.loaders import RawSource, load, work
from ingest.loaders.work import Work
from ingest.parse_limits import ParseBudget, ParseLimits, seconds_text

log = logging.getLogger(__name__)
K = TypeVar("K")
Parsed = Document | LoadError | None
_POLL_S = 0.1  # how often a waiting parent looks at the child's clock and memory
_ADDRESS_SPACE_FACTOR = 4  # the child's hard address-space cap, a backstop behind the parent's RSS watch


class Parser(Protocol):
    def map(self, items: Iterable[tuple[K, RawSource | None]]) -> Iterator[tuple[K, Parsed]]: ...


def parse_one(raw: RawSource) -> Document | LoadError:
    """Any exception of a loader becomes this document's LoadError (with the exception's type), never the run's."""
    try:
        return load(raw)
    except LoadError as exc:
        return exc
    except MemoryError:
        return LoadError(raw.source, "parsing needed more memory than allowed (ASKDOCS_INGEST__PARSE_MEMORY_MB)")
    except RecursionError:
        return LoadError(raw.source, "the document is nested too deeply to parse (RecursionError)")
    except Exception as exc:
        log.debug("parsing %s failed", raw.source, exc_info=exc)
        return LoadError(raw.source, f"{type(exc).__name__}: {exc}")


class InlineParser:
    def map(self, items: Iterable[tuple[K, RawSource | None]]) -> Iterator[tuple[K, Parsed]]:
        for key, raw in items:
            yield key, None if raw is None else parse_one(raw)


class ChildParser:
    """Parses in one child process at a time, a fresh interpreter (the parent's model and threads are not
    copied, and the memory limit counts the parser alone); see the module docstring."""

    def __init__(self, limits: ParseLimits = ParseLimits()) -> None:
        self.limits = limits
        # A child that finished a stream waits for the next: an upload, a URL job or a crawled page is a stream of
        # one document, and a new interpreter with the loaders imported costs it 0.5-2 s.
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        weakref.finalize(self, _stop_all, self._idle)

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> ChildParser:
        return cls(ParseLimits(ParseBudget.from_settings(settings), settings.parse_memory_mb))

    @property
    def budget(self) -> ParseBudget:
        return self.limits.budget

    def map(self, items: Iterable[tuple[K, RawSource | None]]) -> Iterator[tuple[K, Parsed]]:
        child = self._take()
        pending: deque[tuple[K, RawSource | None]] = deque()
        try:
            for item in items:
                pending.append(item)
                if item[1] is not None:
                    child.send(item[1])
                while pending and (pending[0][1] is None or child.in_flight > self.limits.ahead):
                    yield self._next(child, pending)
            while pending:
                yield self._next(child, pending)
        finally:
            self._give_back(child)

    def _take(self) -> _Child:
        with self._lock:
            child = self._idle.pop() if self._idle else None
        return child if child is not None and child.alive else _Child(self.limits.memory_mb)

    def _give_back(self, child: _Child) -> None:
        """Kept for the next stream if its work is done and it holds under half the memory limit (what the
        documents before leave behind must not cost the next ones theirs); else stopped."""
        spent = child.in_flight > 0 or not child.alive or (_resident_mb(child.pid) or 0) > self.limits.memory_mb / 2
        with self._lock:
            if not spent and not self._idle:
                self._idle.append(child)
                return
        child.stop()

    def _next(self, child: _Child, pending: deque[tuple[K, RawSource | None]]) -> tuple[K, Parsed]:
        """The next result. A stopped child is gone with every document it held: they are sent again to a new
        one, after this document if it ran out of time (its second try), else without it (it failed)."""
        key, raw = pending.popleft()
        if raw is None:
            return key, None
        after = [r for _, r in pending if r is not None]
        first = child.receive(raw, self.budget)
        if not isinstance(first, _Stopped):
            return key, first
        if not first.timed_out:
            child.restart(after)
            return key, LoadError(raw.source, first.reason)
        factor = self.limits.retry_factor
        log.warning("%s: %s; trying once more with %g times the time", raw.source, first.reason, factor)
        child.restart([raw, *after])
        second = child.receive(raw, self.budget, factor)
        if not isinstance(second, _Stopped):
            return key, second
        child.restart(after)
        if not second.timed_out:
            return key, LoadError(raw.source, f"{first.reason}; on a second try, {second.reason}")
        again = second.reason.removeprefix("parsing took ")
        return key, LoadError(raw.source, f"{first.reason}, and {again} on a second try; {_MORE_TIME}")


@dataclass(frozen=True, slots=True)
class _Stopped:
    reason: str
    timed_out: bool = False


_MORE_TIME = "more time: ASKDOCS_INGEST__PARSE_TIMEOUT_S and ASKDOCS_INGEST__PARSE_TIMEOUT_PER_{PAGE,OCR_PAGE,MB}_S"


class _Child:
    """``python -m ingest.parsing``: pickled RawSources in on stdin, pickled results out on stdout. Two threads
    feed and drain the pipes, so neither side ever blocks the other on a large document."""

    def __init__(self, memory_mb: int) -> None:
        self._memory_mb = memory_mb
        self.in_flight = 0
        self._start()

    def _start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ingest.parsing", str(self._memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._tasks: queue.Queue[RawSource | None] = queue.Queue()
        self._results: queue.Queue[Any] = queue.Queue()
        self._stderr: deque[bytes] = deque(maxlen=50)  # the last lines, to tell why a child died
        threading.Thread(target=_feed, args=(self._tasks, self._process.stdin), daemon=True).start()
        threading.Thread(target=_drain, args=(self._process.stdout, self._results), daemon=True).start()
        self._tail = threading.Thread(target=_tail, args=(self._process.stderr, self._stderr), daemon=True)
        self._tail.start()

    def send(self, raw: RawSource) -> None:
        self._tasks.put(raw)
        self.in_flight += 1

    def receive(self, raw: RawSource, budget: ParseBudget, factor: float = 1) -> Document | LoadError | _Stopped:
        """The result for ``raw``, the next document. Its clock starts when the child starts it, not when it was
        sent, and its time grows with the work the child reports; ``factor`` times the budget."""
        started: float | None = None
        done = Work()
        while True:
            try:
                message = self._results.get(timeout=_POLL_S)
            except queue.Empty:
                limit = factor * budget.seconds(len(raw.data), done)
                if started is not None and time.monotonic() - started >= limit:
                    how = budget.explain(len(raw.data), done) if factor == 1 else f" ({factor:g} times the budget)"
                    return _Stopped(f"parsing took longer than {seconds_text(limit)}{how}", timed_out=True)
                if (_resident_mb(self._process.pid) or 0) > self._memory_mb:
                    return _Stopped(self._over_memory())
                continue
            if message is _EOF:
                return _Stopped(self._death())
            if message == _STARTED:
                started = time.monotonic()
            elif isinstance(message, Work):
                done = Work(done.pages + message.pages, done.ocr_pages + message.ocr_pages)
            else:
                self.in_flight -= 1
                return message

    def _death(self) -> str:
        code = self._process.wait()
        self._tail.join(timeout=5)  # its stderr, to the end
        if any(b"MemoryError" in line for line in self._stderr):
            return self._over_memory()
        return f"the parser process died (exit code {code})"

    def _over_memory(self) -> str:
        return f"parsing needed more than {self._memory_mb} MB of memory (ASKDOCS_INGEST__PARSE_MEMORY_MB)"

    def restart(self, resend: list[RawSource]) -> None:
        self.stop()
        self.in_flight = 0
        self._start()
        for raw in resend:
            self.send(raw)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        self._tasks.put(None)
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=10)


_STARTED = "started"
_EOF = object()


def _stop_all(children: list[_Child]) -> None:
    for child in children:
        child.stop()


def _feed(tasks: queue.Queue[RawSource | None], pipe: IO[bytes] | None) -> None:
    if pipe is None:
        return
    try:
        while (raw := tasks.get()) is not None:
            pickle.dump(raw, pipe, protocol=pickle.HIGHEST_PROTOCOL)
            pipe.flush()
    except (BrokenPipeError, OSError, ValueError):  # the child was stopped
        pass
    finally:
        with contextlib.suppress(OSError, ValueError):
            pipe.close()


def _drain(pipe: IO[bytes] | None, results: queue.Queue[Any]) -> None:
    try:
        while pipe is not None:
            results.put(pickle.load(pipe))
    except (EOFError, OSError, ValueError, pickle.UnpicklingError):
        pass
    finally:
        results.put(_EOF)


def _resident_mb(pid: int) -> float | None:
    """The process's resident memory (Linux /proc); None where that cannot be read (the rlimit still holds)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def _tail(pipe: IO[bytes] | None, lines: deque[bytes]) -> None:
    with contextlib.suppress(OSError, ValueError):
        for line in pipe or ():
            lines.append(line)


def _import_loaders() -> None:
    """What the loaders import (a second or more on a busy machine) is not part of the first document's time."""
    import trafilatura  # noqa: F401

    import ingest.loaders.html
    import ingest.loaders.pdf  # noqa: F401


def _serve(memory_mb: int) -> None:
    """The child: parse documents in order until its input closes. Results go to the real stdout; anything a
    loader prints goes to stderr."""
    limit = _ADDRESS_SPACE_FACTOR * memory_mb * 2**20  # the parent stops the child at memory_mb resident
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    logging.disable(logging.CRITICAL)
    _import_loaders()
    source, sink = sys.stdin.buffer, os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr
    while True:
        try:
            raw = pickle.load(source)
        except EOFError:
            return
        _send(sink, _STARTED)
        with work.listening(lambda found: _send(sink, found)):
            parsed = parse_one(raw)
        _send(sink, parsed)


def _send(sink: IO[bytes], message: object) -> None:
    pickle.dump(message, sink, protocol=pickle.HIGHEST_PROTOCOL)
    sink.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
