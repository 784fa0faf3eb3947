"""Is a copy of an index the same index? The same points and documents, and the same passages found for the same
questions by the service's own retrieval. ``askdocs index migrate`` checks its copy so before switching to it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from askdocs.errors import VectorIndexError
from askdocs.index.protocol import VectorIndex
from askdocs.models import Chunk, Hit, RetrievalMode

Retrieve = Callable[[str, RetrievalMode], list[Hit]]  # a question's selected passages, best first
Retriever = Callable[[VectorIndex], Retrieve]  # the service's retrieval over an index
MODES: tuple[RetrievalMode, ...] = ("dense", "hybrid")
QUESTION_WORDS = 16


def sample_questions(chunks: Sequence[Chunk]) -> list[str]:
    """One question per sampled chunk: its first words, as someone looking for that passage might type them."""
    questions: list[str] = []
    for chunk in chunks:
        question = " ".join(chunk.text.split()[:QUESTION_WORDS])
        if question and question not in questions:
            questions.append(question)
    return questions


def check_counts(source: VectorIndex, copy: VectorIndex, name: str) -> tuple[int, int]:
    """(points, documents), the same on both sides; VectorIndexError when they differ."""
    points, copied = source.count(), copy.count()
    documents, there = source.documents(), copy.documents()
    if points != copied or documents != there:
        raise VectorIndexError(
            f"the copy in collection {name!r} holds {copied} points of {len(there)} documents, the embedded index "
            f"{points} points of {len(documents)} documents: the embedded index changed since the copy began. "
            "Nothing was switched; run again with --force to copy it afresh"
        )
    return points, len(documents)


def check_sources(
    source: VectorIndex, copy: VectorIndex, questions: Sequence[str], retriever: Retriever, shards: int
) -> list[str]:
    """Each question finds the same passages in both, dense and hybrid; VectorIndexError when not. Returns
    warnings: hybrid ranking may differ on a collection of several shards, and that is Qdrant's, not the copy's."""
    here, there = retriever(source), retriever(copy)
    warnings = []
    for mode in MODES:
        differ = [q for q in questions if _passages(here(q, mode)) != _passages(there(q, mode))]
        if not differ:
            continue
        found = (
            f"{len(differ)} of {len(questions)} sample questions find other passages in the copy than in the "
            f"embedded index with {mode} retrieval (e.g. {differ[0]!r})"
        )
        if mode == "dense" or shards == 1:
            raise VectorIndexError(f"{found}; nothing was switched: run again with --force to copy it afresh")
        warnings.append(
            f"{found}: the collection has {shards} shards and Qdrant weighs BM25 terms (IDF) per shard, so on a "
            "small index hybrid ranking differs; one shard (ASKDOCS_QDRANT__SHARD_NUMBER=1, with "
            "ASKDOCS_QDRANT__REPLICATION_FACTOR for copies on several machines) ranks as the embedded index does"
        )
    return warnings


def _passages(hits: Sequence[Hit]) -> frozenset[str]:
    # A set: passages of equal score may come back in either order from engines that stored them differently.
    return frozenset(h.chunk.point_id for h in hits)
