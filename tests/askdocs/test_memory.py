"""Freed memory goes back to the system between embedding batches (askdocs/memory.py)."""

from __future__ import annotations

import platform
import re
from pathlib import Path

import pytest

from askdocs.memory import _trim, release_free_memory


def anonymous_mb() -> float:
    return int(re.search(r"RssAnon:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024  # type: ignore[union-attr]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_the_heaps_free_pages_go_back_to_the_system() -> None:
    """Blocks of 100 KB come from the heap (under glibc's 128 KB mmap threshold); one kept above them stops free()
    from shrinking the heap itself, as a live tensor does during an ingest."""
    assert _trim() is not None
    blocks = [bytearray(100 * 1024) for _ in range(2000)]  # 200 MB, every page touched (zero-filled)
    kept = bytearray(100 * 1024)
    del blocks
    freed = anonymous_mb()
    release_free_memory()
    released = freed - anonymous_mb()
    assert released > 150, f"{released:.0f} MB went back"
    assert len(kept) == 100 * 1024
