"""Chunks and hits for tests that need a few fields set and the rest plausible."""

from __future__ import annotations

from typing import Any

import numpy as np

from askdocs.models import Chunk, Hit


def make_chunk(point_id: str = "p", **fields: Any) -> Chunk:
    text = fields.pop("text", f"text of {point_id}")
    values: dict[str, Any] = {
        "doc_id": "d",
        "source": "/docs/d.html",
        "title": "",
        "embed_text": text,
        "chunk_index": 0,
        "chunk_count": 1,
        "chunker": "recursive",
        "version": "v1",
        "ingested_at": "2026-01-01T00:00:00+00:00",
    }
    return Chunk(point_id=point_id, text=text, **(values | fields))


def make_hit(point_id: str, score: float, vector: list[float] | None = None, **fields: Any) -> Hit:
    """A hit whose cosine is its score."""
    array = None if vector is None else np.asarray(vector, dtype=np.float32)
    return Hit(make_chunk(point_id, **fields), score, score, array)
