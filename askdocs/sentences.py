"""Chunks embedded with their answer candidates' vectors, from one forward pass.

The extractive answer scores each sentence (or table row) of the top passages against the question. Embedding
them per request costs a model call over some 30 texts; instead, when a chunk is embedded, each candidate
(askdocs/qa/candidates.py) gets the mean of the chunk's token embeddings over its characters, and the index
stores those vectors with the chunk, keyed by the candidate's text. An embedder without token offsets gives
none: the answer then embeds the candidates as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from askdocs.embedding import Embedder
from askdocs.models import Chunk, SentenceVectors
from askdocs.qa.candidates import candidate_spans


@runtime_checkable
class SpanEmbedder(Protocol):
    def embed_documents_and_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]: ...


def embed_chunks(embedder: Embedder, chunks: Sequence[Chunk]) -> tuple[np.ndarray, list[SentenceVectors | None]]:
    """The chunks' vectors (as ``embed_documents`` of their ``embed_text``) and their candidates' vectors (None for a
    chunk with none that the model saw)."""
    texts = [c.embed_text for c in chunks]
    if not isinstance(embedder, SpanEmbedder):
        return embedder.embed_documents(texts), [None] * len(chunks)
    located = [_located(c) for c in chunks]
    vectors, pooled = embedder.embed_documents_and_spans(texts, [[(s, e) for _, s, e in spans] for spans in located])
    return vectors, [_kept(spans, rows) for spans, rows in zip(located, pooled, strict=True)]


def _located(chunk: Chunk) -> list[tuple[int, int, int]]:
    """The chunk's candidates as (key, start, end) in its ``embed_text`` (the text after its heading line)."""
    head = len(chunk.embed_text) - len(chunk.text)
    if head < 0 or not chunk.embed_text.endswith(chunk.text):
        return []  # embedded as some other text: its candidates' characters are not known
    return [(key, start + head, end + head) for key, start, end in candidate_spans(chunk.text)]


def _kept(spans: Sequence[tuple[int, int, int]], rows: np.ndarray) -> SentenceVectors | None:
    """The candidates that got a vector (a zero row: none of its tokens was seen), each key once."""
    keys: list[int] = []
    kept: list[int] = []
    for i, (key, _, _) in enumerate(spans):
        if key not in keys and float(np.abs(rows[i]).sum()) > 0:
            keys.append(key)
            kept.append(i)
    return SentenceVectors(tuple(keys), rows[kept]) if kept else None
