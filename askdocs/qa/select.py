"""Context selection: which hits go to the generator."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from askdocs.models import Hit


class ContextSelector(Protocol):
    def select(self, hits: Sequence[Hit], top_k: int) -> list[Hit]: ...


class ThresholdTopKSelector:
    """Hits at or above ``min_score``, best first, at most ``top_k``, within a token budget."""

    def __init__(self, min_score: float, max_tokens: int, count_tokens: Callable[[Sequence[str]], list[int]]) -> None:
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be positive, got {max_tokens}")
        self.min_score = min_score
        self.max_tokens = max_tokens
        self._count = count_tokens

    def select(self, hits: Sequence[Hit], top_k: int) -> list[Hit]:
        # Hits arrive ranked by the retrieval mode's own score; the threshold is on cosine relevance.
        ranked = [h for h in hits if h.relevance >= self.min_score]
        ranked = ranked[:top_k]
        chosen: list[Hit] = []
        used = 0
        for hit, tokens in zip(ranked, self._count([h.answer_text for h in ranked]), strict=True):
            if chosen and used + tokens > self.max_tokens:
                break
            chosen.append(hit)
            used += tokens
        return chosen
