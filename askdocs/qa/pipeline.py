"""The answering pipeline, assembled from small parts handed in by the caller.

``ask`` answers in one go. ``prepare`` then ``stream`` does the same in two steps, so that a caller can refuse
a bad question before it starts streaming, then send the answer piece by piece.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

from askdocs.embedding import Embedder
from askdocs.errors import GenerationError, InputError, UnknownNameError
from askdocs.index.protocol import Filters, VectorIndex
from askdocs.models import Answer, AnswerMode, Hit, LLMMode, Source, Timings
from askdocs.qa.citations import cite_sources, is_uncited, resolve_citations
from askdocs.qa.generate import I_DO_NOT_KNOW, Generated, Generator, Query, heading_of
from askdocs.qa.rewrite import QuestionRewriter
from askdocs.qa.sanitize import harden, injection_signals, sanitize_question
from askdocs.qa.select import ContextSelector
from askdocs.sparse import RetrievalMode, SparseEncoder

log = logging.getLogger(__name__)
SNIPPET_CHARS = 300


@dataclass(slots=True)
class AskResult:
    answer: Answer
    question: str  # as sanitised
    contexts: list[Hit]  # in the order of answer.sources
    degraded: bool = False
    reason: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    uncited: bool = False  # an LLM answer that cites none of the passages it was given


@dataclass(slots=True)
class Prepared:
    """A question searched for and ready to answer; ``contexts`` numbered from 1 as the generator sees them."""

    question: str
    query: Query
    contexts: list[Hit]
    generator: Generator
    timings: Timings
    started: float


class Asker:
    def __init__(
        self,
        embedder: Embedder,
        index: VectorIndex,
        selector: ContextSelector,
        generators: Mapping[AnswerMode, Generator],
        *,
        mode: AnswerMode = "extractive",
        sparse: SparseEncoder | None = None,
        retrieval: RetrievalMode = "dense",
        rewriter: QuestionRewriter | None = None,
        top_k: int = 5,
        max_question_chars: int = 2000,
    ) -> None:
        if "extractive" not in generators:
            raise ValueError("generators must include 'extractive', the fallback when an LLM fails")
        if mode not in generators:
            raise ValueError(f"default mode {mode!r} has no generator; available: {', '.join(sorted(generators))}")
        self._embedder = embedder
        self._index = index
        self._selector = selector
        self._generators = dict(generators)
        self._mode = mode
        self._sparse = sparse
        self._retrieval = retrieval
        self._rewriter = rewriter
        self._top_k = top_k
        self._max_chars = max_question_chars

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        filters: Filters | None = None,
        retrieval: RetrievalMode | None = None,
        mode: AnswerMode | None = None,
        groups: Sequence[str] | None = None,
    ) -> AskResult:
        prepared = self.prepare(question, top_k, filters, retrieval, mode, groups)
        mark = time.perf_counter()
        if not prepared.contexts:
            return self._finish(prepared, Generated(I_DO_NOT_KNOW, prepared.generator.mode), mark)
        try:
            generated = prepared.generator.generate(prepared.query, prepared.contexts)
        except GenerationError as exc:
            return self._finish(prepared, self._fallback(prepared, exc), mark, str(exc))
        return self._finish(prepared, generated, mark)

    def prepare(
        self,
        question: str,
        top_k: int | None = None,
        filters: Filters | None = None,
        retrieval: RetrievalMode | None = None,
        mode: AnswerMode | None = None,
        groups: Sequence[str] | None = None,
    ) -> Prepared:
        """Everything before generation; raises InputError for a bad question, filter or mode.
        ``groups``: the asker's groups (documents with an ACL are found only by members); None: no check."""
        started = time.perf_counter()
        timings = Timings()
        generator = self._generator(mode or self._mode)
        text = sanitize_question(question, self._max_chars)
        k = top_k or self._top_k
        signals = injection_signals(text)
        if signals:
            # Still answered, but the generator gets the question as quoted data with the rules restated.
            log.warning("possible prompt injection (%s): %r", ", ".join(signals), text[:200])
        search_text = self._rewriter.rewrite(text) if self._rewriter else text

        mark = time.perf_counter()
        query = Query(harden(text) if signals else text, self._embedder.embed_query(search_text))
        timings.embed = _ms(mark)

        mark = time.perf_counter()
        how = retrieval or self._retrieval
        sparse = self._sparse.encode_query(search_text) if self._sparse and how != "dense" else None
        hits = self._index.search(
            query.vector, limit=max(k, 10), filters=filters, sparse=sparse, mode=how, groups=groups
        )
        timings.search = _ms(mark)
        return Prepared(text, query, self._selector.select(hits, k), generator, timings, started)

    def stream(self, prepared: Prepared) -> Iterator[Generated | AskResult]:
        """The answer's pieces as they come, then the AskResult that ``ask`` would have given."""
        mark = time.perf_counter()
        if not prepared.contexts:
            generated = Generated(I_DO_NOT_KNOW, prepared.generator.mode)
            yield generated
            yield self._finish(prepared, generated, mark)
            return
        pieces: list[Generated] = []
        try:
            for piece in prepared.generator.stream(prepared.query, prepared.contexts):
                pieces.append(piece)
                if piece.text:
                    yield piece
        except GenerationError as exc:
            # Pieces already sent stay sent; the final result says it is degraded and holds the fallback.
            generated = self._fallback(prepared, exc)
            yield generated
            yield self._finish(prepared, generated, mark, str(exc))
            return
        yield self._finish(prepared, _joined(pieces, prepared.generator.mode), mark)

    def _generator(self, mode: AnswerMode) -> Generator:
        if mode in self._generators:
            return self._generators[mode]
        if mode in get_args(LLMMode):
            raise InputError(
                f"answer mode {mode!r} needs an LLM and none is configured: set ASKDOCS_LLM__BASE_URL on the "
                f"service, or ask with mode 'extractive'"
            )
        raise UnknownNameError("answer mode", mode, list(self._generators))

    def _fallback(self, prepared: Prepared, exc: GenerationError) -> Generated:
        extractive = self._generators["extractive"]
        if prepared.generator is extractive:
            raise exc
        log.warning("LLM failed, answering extractively: %s", exc)
        return extractive.generate(prepared.query, prepared.contexts)

    def _finish(self, prepared: Prepared, generated: Generated, mark: float, reason: str = "") -> AskResult:
        """Check the citations, order the sources cited first, and time it all."""
        prepared.timings.generate = _ms(mark)
        contexts = prepared.contexts
        citations = resolve_citations(generated.text, len(contexts))
        if _does_not_know(citations.text):
            contexts = []
            citations = resolve_citations(I_DO_NOT_KNOW, 0)
        sources = cite_sources(sources_for(contexts), citations)
        uncited = generated.mode != "extractive" and is_uncited(citations, len(contexts))
        prepared.timings.total = _ms(prepared.started)
        return AskResult(
            Answer(citations.text, sources, generated.mode, prepared.timings),
            prepared.question,
            [contexts[n - 1] for n in citations.order],
            bool(reason),
            reason,
            generated.prompt_tokens,
            generated.completion_tokens,
            uncited,
        )


def sources_for(contexts: Sequence[Hit]) -> list[Source]:
    """The passages as sources, numbered as the generator sees them, none cited yet."""
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


def _joined(pieces: Sequence[Generated], mode: AnswerMode) -> Generated:
    return Generated(
        "".join(p.text for p in pieces),
        mode,
        sum(p.prompt_tokens for p in pieces),
        sum(p.completion_tokens for p in pieces),
    )


def _does_not_know(text: str) -> bool:
    return not text or text.rstrip(".").lower() == I_DO_NOT_KNOW.rstrip(".").lower()


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
