"""The answering pipeline, assembled from small parts handed in by the caller."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from askdocs.embedding import Embedder
from askdocs.errors import GenerationError
from askdocs.index.protocol import Filters, VectorIndex
from askdocs.models import Answer, Hit, Source, Timings
from askdocs.qa.generate import I_DO_NOT_KNOW, Generator, Query, heading_of
from askdocs.qa.sanitize import sanitize_question
from askdocs.qa.select import ContextSelector
from askdocs.sparse import RetrievalMode, SparseEncoder

log = logging.getLogger(__name__)
SNIPPET_CHARS = 300


@dataclass(slots=True)
class AskResult:
    answer: Answer
    question: str  # as sanitised
    contexts: list[Hit]
    degraded: bool = False
    reason: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Asker:
    def __init__(
        self,
        embedder: Embedder,
        index: VectorIndex,
        selector: ContextSelector,
        generator: Generator,
        *,
        fallback: Generator | None = None,
        sparse: SparseEncoder | None = None,
        retrieval: RetrievalMode = "dense",
        top_k: int = 5,
        max_question_chars: int = 2000,
    ) -> None:
        self._embedder = embedder
        self._index = index
        self._selector = selector
        self._generator = generator
        self._fallback = fallback
        self._sparse = sparse
        self._retrieval = retrieval
        self._top_k = top_k
        self._max_chars = max_question_chars

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        filters: Filters | None = None,
        retrieval: RetrievalMode | None = None,
    ) -> AskResult:
        started = time.perf_counter()
        timings = Timings()
        text = sanitize_question(question, self._max_chars)
        k = top_k or self._top_k

        mark = time.perf_counter()
        query = Query(text, self._embedder.embed_query(text))
        timings.embed = _ms(mark)

        mark = time.perf_counter()
        how = retrieval or self._retrieval
        sparse = self._sparse.encode_query(text) if self._sparse and how != "dense" else None
        hits = self._index.search(query.vector, limit=max(k, 10), filters=filters, sparse=sparse, mode=how)
        timings.search = _ms(mark)

        contexts = self._selector.select(hits, k)
        mark = time.perf_counter()
        degraded, reason = False, ""
        usage = (0, 0)
        if not contexts:
            answer_text, mode, contexts = I_DO_NOT_KNOW, self._generator.mode, []
        else:
            try:
                generated = self._generator.generate(query, contexts)
            except GenerationError as exc:
                if self._fallback is None:
                    raise
                log.warning("LLM failed, answering extractively: %s", exc)
                degraded, reason = True, str(exc)
                generated = self._fallback.generate(query, contexts)
            answer_text, mode = generated.text or I_DO_NOT_KNOW, generated.mode
            usage = (generated.prompt_tokens, generated.completion_tokens)
        timings.generate = _ms(mark)
        if answer_text.strip().rstrip(".").lower() == I_DO_NOT_KNOW.rstrip(".").lower():
            answer_text, contexts = I_DO_NOT_KNOW, []
        timings.total = _ms(started)
        answer = Answer(answer_text, sources_for(contexts), mode, timings)
        return AskResult(answer, text, contexts, degraded, reason, *usage)


def sources_for(contexts: Sequence[Hit]) -> list[Source]:
    return [
        Source(
            n=n,
            title=str(hit.payload.get("title") or ""),
            url_or_path=str(hit.payload.get("source") or ""),
            page=hit.payload.get("page"),
            heading=heading_of(hit),
            score=round(hit.relevance, 4),
            snippet=_snippet(hit.text),
        )
        for n, hit in enumerate(contexts, start=1)
    ]


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
