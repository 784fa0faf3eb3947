"""Hand freed memory back to the system between embedding batches.

Each batch's forward pass allocates and frees tens of megabytes of activations, of shapes that change with the
texts' lengths. glibc keeps what is freed in its heaps for reuse, and they fragment: over an ingest of the Python
docs' HTML, the process's anonymous memory grew with every batch (9,548 chunks: 744 MB after 15 s, 1,437 MB at the
end) while the count of Python objects stayed flat (570,000): nothing of askdocs was kept, the heaps were.
``malloc_trim(0)`` returns the free pages inside them. docs/PERFORMANCE.md, "Ingest memory", has the figures.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from collections.abc import Callable

log = logging.getLogger("askdocs.memory")


@functools.cache
def _trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``; None on another C library (musl, macOS), where there is nothing to call."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None
    if trim is None:
        log.debug("no malloc_trim in this C library: freed memory stays with the allocator")
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory() -> None:
    """Give the free pages of the C heaps back to the system (tens of milliseconds; the GIL is released)."""
    trim = _trim()
    if trim is not None:
        trim(0)
