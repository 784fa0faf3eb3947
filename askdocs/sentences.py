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
batches each would be padded to a chunk's length). A small-to-big child keeps its parent's candidates: its
siblings' pooled vectors, and the rest embedded alone (``_with_parents``).
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
    parents = _parents(chunks)
    vectors, pooled = embedder.embed_documents_and_spans(
        texts, [[(x.start, x.end) for x in f if not x.alone] for f in located]
    )
    # Their own batches: in one with the chunks, each short text would be padded to a chunk's length.
    singles = [x.judged for found in located for x in found if x.alone] + _unheld(chunks, located, parents)
    singles = list(dict.fromkeys(singles))  # each text once
    alone = dict(zip(singles, embedder.embed_documents(singles) if singles else [], strict=True))
    sentences = [_kept(*parts, alone) for parts in zip(located, pooled, vectors, strict=True)]
    return vectors, _with_parents(chunks, sentences, parents, alone) if parents else sentences


# A small-to-big child answers from its parent, which no forward pass sees. Its siblings' passes hold most of the
# parent's candidates whole; the rest (cut by a child's boundary, or in a sibling embedded in another call) are
# embedded alone, and every child keeps the vectors of all its parent's candidates.
_Family = tuple[str, int | None, int | None]


def _family(chunk: Chunk) -> _Family:
    return chunk.doc_id, chunk.context_start, chunk.context_end


def _parents(chunks: Sequence[Chunk]) -> dict[_Family, list[tuple[int, str]]]:
    """The candidates (key, text) of each small-to-big parent of the chunks."""
    found: dict[_Family, list[tuple[int, str]]] = {}
    for c in chunks:
        if c.context is not None and _family(c) not in found:
            found[_family(c)] = [(sentence_key(judged), judged) for judged, _ in candidates(c.context)]
    return found


def _unheld(
    chunks: Sequence[Chunk], located: Sequence[Sequence[_Candidate]], parents: dict[_Family, list[tuple[int, str]]]
) -> list[str]:
    """The parents' candidates that none of their children here holds whole."""
    held: dict[_Family, set[int]] = {}
    for c, found in zip(chunks, located, strict=True):
        if c.context is not None:
            held.setdefault(_family(c), set()).update(x.key for x in found)
    return [judged for family, wanted in parents.items() for key, judged in wanted if key not in held[family]]


def _with_parents(
    chunks: Sequence[Chunk],
    own: Sequence[SentenceVectors | None],
    parents: dict[_Family, list[tuple[int, str]]],
    alone: dict[str, np.ndarray],
) -> list[SentenceVectors | None]:
    """Each small-to-big child with its parent's candidates' vectors: its siblings', else embedded alone."""
    siblings: dict[_Family, dict[int, np.ndarray]] = {}
    for c, s in zip(chunks, own, strict=True):
        if c.context is not None and s is not None:
            siblings.setdefault(_family(c), {}).update(zip(s.keys, s.vectors, strict=True))
    out = []
    for c, s in zip(chunks, own, strict=True):
        if c.context is None:
            out.append(s)
            continue
        have = siblings.get(_family(c), {})
        rows = {k: v for k, j in parents[_family(c)] if (v := have.get(k, alone.get(j))) is not None}
        out.append(SentenceVectors(tuple(rows), np.stack(list(rows.values()))) if rows else None)
    return out


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
    prose among its statements), and of a chunk embedded as some other text than its own."""
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
