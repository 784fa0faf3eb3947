"""Chunks embedded with their answer candidates' vectors, in one model call.

The extractive answer scores each sentence (or table row) of the top passages against the question. Embedding
them per request costs a model call over some 30 texts; instead, when a chunk is embedded, each sentence gets the
mean of the chunk's token embeddings over its characters, with a fifth of the chunk's own vector taken out (the
sentences of one chunk share its context, which draws their vectors together: on SQuAD this picks the gold
sentence as often as embedding each sentence alone, docs/EVAL.md). Pooling fails where a candidate's few tokens
sit among others that say more: a table row is judged by its label, two or three words among amounts; a short
line is mostly its neighbours; on a PDF page (Ulta Beauty's results release, tests/askdocs/test_table_answers.py)
a balance-sheet sentence pooled scored 0.67 against a capital-expenditure question (under 0.42 alone), above
the capex row. So short lines, and every candidate of a PDF page or of a chunk holding a table, are embedded
alone, as the answer did, right after the chunks (each distinct text once, in batches of their own: in the chunks'
batches each would be padded to a chunk's length); so is every candidate of a small-to-big parent, the passage its
children answer from.
The index stores the vectors with the chunk, keyed by the candidate's text. An embedder without token offsets
gives none: the answer then embeds the candidates as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from askdocs.embedding import Embedder
from askdocs.models import Chunk, SentenceVectors
from askdocs.qa.candidates import candidate_spans, candidates, sentence_key

SHORT_WORDS = 8  # a candidate of fewer words is embedded alone (docs/EVAL.md, issue 26)
CHUNK_SHARE = -0.2  # how much of the chunk's vector each pooled sentence vector gets (docs/EVAL.md, issue 26)


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
    vectors, pooled = embedder.embed_documents_and_spans(
        texts, [[(x.start, x.end) for x in f if not x.alone] for f in located]
    )
    # Their own batches: in one with the chunks, each short text would be padded to a chunk's length.
    singles = list(dict.fromkeys(x.judged for found in located for x in found if x.alone))  # each text once
    alone = dict(zip(singles, embedder.embed_documents(singles) if singles else [], strict=True))
    sentences = [_kept(*parts, alone) for parts in zip(located, pooled, vectors, strict=True)]
    return vectors, sentences


@dataclass(frozen=True, slots=True)
class _Candidate:
    key: int
    start: int  # in the chunk's ``embed_text``
    end: int
    judged: str
    alone: bool  # embedded alone rather than pooled from the chunk


def _located(chunk: Chunk) -> list[_Candidate]:
    """The chunk's candidates with their characters in its ``embed_text`` (the text after its heading line). Which
    are embedded alone: a short line anywhere, and every candidate of a PDF page or of a chunk holding a table, where
    the tokens say more about their neighbours than about the candidate (a row's label among amounts; a page's
    prose among its statements), and of a chunk embedded as some other text than its own. A small-to-big child
    answers from its parent, which no forward pass sees: its candidates are the parent's, each embedded alone (each
    text once per call, and a parent's children are consecutive, so mostly in one) and kept with every child."""
    if chunk.context is not None:
        return [_Candidate(sentence_key(judged), 0, 0, judged, True) for judged, _ in candidates(chunk.context)]
    head = len(chunk.embed_text) - len(chunk.text)
    found = candidate_spans(chunk.text)
    known = head >= 0 and chunk.embed_text.endswith(chunk.text)
    whole = not known or chunk.page is not None or any(x.row for x in found)
    return [
        _Candidate(x.key, x.start + head, x.end + head, x.judged, whole or len(x.judged.split()) < SHORT_WORDS)
        for x in found
    ]


def _kept(
    found: Sequence[_Candidate], pooled: np.ndarray, chunk_vector: np.ndarray, alone: dict[str, np.ndarray]
) -> SentenceVectors | None:
    """The candidates that got a vector (a sentence whose tokens the model did not see gets none), each key once."""
    keys: dict[int, np.ndarray] = {}
    sentence_rows = iter(pooled)
    for x in found:
        vector = alone[x.judged] if x.alone else _adjusted(next(sentence_rows), chunk_vector)
        if vector is not None and x.key not in keys:
            keys[x.key] = vector
    if not keys:
        return None
    return SentenceVectors(tuple(keys), np.stack(list(keys.values())).astype(np.float32))


def _adjusted(pooled: np.ndarray, chunk_vector: np.ndarray) -> np.ndarray | None:
    if not float(np.abs(pooled).sum()):
        return None  # a zero row: no token of it was seen
    vector = pooled + CHUNK_SHARE * chunk_vector
    return vector / (np.linalg.norm(vector) or 1.0)
