"""Context selection: which hits go to the generator. Small steps, chained by name.

    threshold   drop hits whose cosine relevance is below ``min_score``
    top-k       keep the best ``top_k``
    mmr         maximal marginal relevance: relevant but not redundant (``mmr_lambda``)
    per-doc     at most ``max_per_doc`` hits of one document
    neighbours  add the adjacent chunks of each hit's document (``neighbour_window``), merged in reading order
    budget      keep hits in order while they fit ``max_tokens``

A chain such as ``threshold,mmr,per-doc,top-k,budget`` runs left to right.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from askdocs.errors import UnknownNameError
from askdocs.models import Hit
from askdocs.settings import DEFAULT_MIN_SCORE

TokenCounter = Callable[[Sequence[str]], list[int]]
Neighbours = Callable[[Hit, int], list[Hit]]


class ContextSelector(Protocol):
    def select(self, hits: Sequence[Hit], top_k: int) -> list[Hit]: ...

    @property
    def needs_vectors(self) -> bool:
        """Whether it compares the hits' own vectors (the search then fetches them)."""
        ...


@dataclass(frozen=True, slots=True)
class SelectionParams:
    min_score: float = DEFAULT_MIN_SCORE
    max_tokens: int = 1500
    mmr_lambda: float = 0.7
    max_per_doc: int = 3
    neighbour_window: int = 1

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be positive, got {self.max_tokens}")
        if not 0.0 <= self.mmr_lambda <= 1.0:
            raise ValueError(f"mmr_lambda must be within [0, 1], got {self.mmr_lambda}")
        if self.max_per_doc < 1:
            raise ValueError(f"max_per_doc must be at least 1, got {self.max_per_doc}")
        if self.neighbour_window < 0:
            raise ValueError(f"neighbour_window must be >= 0, got {self.neighbour_window}")


Step = Callable[[list[Hit], int], list[Hit]]


class SelectorChain:
    """Runs the named steps in order; an unknown name lists the available ones."""

    def __init__(
        self,
        names: Sequence[str],
        params: SelectionParams,
        count_tokens: TokenCounter,
        neighbours: Neighbours | None = None,
    ) -> None:
        steps: dict[str, Step] = {
            "threshold": lambda hits, k: [h for h in hits if h.relevance >= params.min_score],
            "top-k": lambda hits, k: hits[:k],
            "mmr": lambda hits, k: mmr(hits, k, params.mmr_lambda),
            "per-doc": lambda hits, k: per_document(hits, params.max_per_doc),
            "neighbours": lambda hits, k: expand(hits, neighbours, params.neighbour_window),
            "budget": lambda hits, k: budget(hits, params.max_tokens, count_tokens),
        }
        unknown = [n for n in names if n not in steps]
        if unknown:
            raise UnknownNameError("context selector", unknown[0], list(steps))
        if "neighbours" in names and neighbours is None:
            raise ValueError("the 'neighbours' selector needs the index's neighbours lookup")
        self.names = list(names)
        self._steps = [steps[n] for n in names]

    @property
    def needs_vectors(self) -> bool:
        return "mmr" in self.names

    def select(self, hits: Sequence[Hit], top_k: int) -> list[Hit]:
        chosen = list(hits)
        for step in self._steps:
            chosen = step(chosen, top_k)
        return chosen


def default_selector(min_score: float, max_tokens: int, count_tokens: TokenCounter) -> SelectorChain:
    """The default chain: threshold, top-k, budget."""
    params = SelectionParams(min_score=min_score, max_tokens=max_tokens)
    return SelectorChain(["threshold", "top-k", "budget"], params, count_tokens)


def mmr(hits: Sequence[Hit], k: int, lambda_: float) -> list[Hit]:
    """Greedy maximal marginal relevance on the hits' own vectors; hits without one keep their rank."""
    if len(hits) <= 1 or any(h.vector is None for h in hits):
        return list(hits[:k])
    vectors = np.stack([np.asarray(h.vector, dtype=np.float32) for h in hits])
    relevance = np.array([h.relevance for h in hits], dtype=np.float32)
    similarity = vectors @ vectors.T
    chosen: list[int] = []
    remaining = list(range(len(hits)))
    while remaining and len(chosen) < k:
        redundancy = similarity[np.ix_(remaining, chosen)].max(axis=1) if chosen else np.zeros(len(remaining))
        scores = lambda_ * relevance[remaining] - (1 - lambda_) * redundancy
        best = remaining[int(np.argmax(scores))]
        chosen.append(best)
        remaining.remove(best)
    return [hits[i] for i in chosen]


def per_document(hits: Sequence[Hit], limit: int) -> list[Hit]:
    seen: dict[str, int] = {}
    kept = []
    for hit in hits:
        seen[hit.doc_id] = seen.get(hit.doc_id, 0) + 1
        if seen[hit.doc_id] <= limit:
            kept.append(hit)
    return kept


def expand(hits: Sequence[Hit], neighbours: Neighbours | None, window: int) -> list[Hit]:
    """Each hit becomes one passage: itself and its neighbours in reading order, joined; overlaps merged."""
    if neighbours is None or window < 1:
        return list(hits)
    out: list[Hit] = []
    covered: set[str] = set()
    for hit in hits:
        if hit.point_id in covered:
            continue
        around = [h for h in neighbours(hit, window) if h.point_id not in covered] or [hit]
        covered.update(h.point_id for h in around)
        out.append(hit.with_context(join_in_order(around), tuple(h.point_id for h in around)))
    return out


def join_in_order(chunks: Sequence[Hit]) -> str:
    """Adjacent chunks as one passage. Their texts are exact slices of the document, so the part of a chunk
    that overlaps the previous one (``start`` before the previous ``end``) is cut rather than repeated."""
    parts: list[str] = []
    end = -1
    for hit in chunks:
        start, text = hit.chunk.start, hit.text
        if parts and end > start:
            text = text[end - start :]
        elif parts:
            text = "\n\n" + text
        parts.append(text)
        end = max(end, hit.chunk.end)
    return "".join(parts)


def budget(hits: Sequence[Hit], max_tokens: int, count_tokens: TokenCounter) -> list[Hit]:
    chosen: list[Hit] = []
    used = 0
    for hit, tokens in zip(hits, count_tokens([h.answer_text for h in hits]), strict=True):
        if chosen and used + tokens > max_tokens:
            break
        chosen.append(hit)
        used += tokens
    return chosen
