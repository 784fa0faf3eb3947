"""Embedded index: which shard directory is live. ``<collection>.live.json`` in the Qdrant data directory names it
(with the model its vectors were made with, and the shard it replaced); without the file the live shard is the
directory named as the collection, as before re-embedding existed. The file is replaced atomically (``os.replace``),
so a process opening the index finds the old shard or the new one, never a half-built one."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from askdocs.errors import VectorIndexError


@dataclass(frozen=True, slots=True)
class Live:
    shard: str  # a directory name beside the pointer file
    model: str | None = None
    previous: str | None = None
    previous_model: str | None = None
    switched_at: float = 0.0


def pointer_file(qdrant_dir: Path, collection: str) -> Path:
    return qdrant_dir / f"{collection}.live.json"


def read_live(qdrant_dir: Path, collection: str) -> Live:
    path = pointer_file(qdrant_dir, collection)
    if not path.is_file():
        return Live(collection)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Live(**{k: raw[k] for k in Live.__dataclass_fields__ if k in raw})
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise VectorIndexError(
            f"the live-shard pointer {path} cannot be read ({exc}); write it again with the name of a shard "
            f'directory beside it, e.g. {{"shard": "{collection}"}}'
        ) from exc


def switch_live(qdrant_dir: Path, collection: str, live: Live) -> None:
    """Make ``live`` the live shard: write a temporary file, flush it to disk, then rename it over the pointer."""
    if not (qdrant_dir / live.shard).is_dir():
        raise VectorIndexError(f"cannot switch to shard {live.shard!r}: {qdrant_dir / live.shard} does not exist")
    path = pointer_file(qdrant_dir, collection)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as f:
        json.dump(asdict(live) | {"switched_at": time.time()}, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
