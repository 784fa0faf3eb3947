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
from askdocs.models import I_DO_NOT_KNOW, Answer, AnswerMode, Hit, LLMMode, RetrievalMode, Source, Timings, says_idk
from askdocs.qa.citations import cite_sources, is_uncited, resolve_citations
from askdocs.qa.generate import Generated, Generator, Query, heading_of, numbered_blocks
from askdocs.qa.rerank import Reranker
from askdocs.qa.rewrite import QuestionRewriter
from askdocs.qa.sanitize import harden, injection_signals, sanitize_question
from askdocs.qa.select import ContextSelector
from askdocs.sparse import SparseEncoder

log = logging.getLogger(__name__)
SNIPPET_CHARS = 300


@dataclass(frozen=True, slots=True)
class AskOptions:
    """What a caller may choose per question; None = the service's default."""

    top_k: int | None = None
    filters: Filters | None = None
    retrieval: RetrievalMode | None = None
    mode: AnswerMode | None = None
    groups: Sequence[str] | None = None  # the asker's groups (ACL'd documents found only by members); None: no check


@dataclass(slots=True)
class Retrieved:
    """A question searched for, as the service does it: sanitised, hardened when flagged, searched, selected."""

    question: str  # as sanitised
    query: Query  # the text the generator sees (quoted with the rules restated when flagged) and its vector
    signals: tuple[str, ...]  # prompt-injection signals found in the question
    retrieval: RetrievalMode
    hits: list[Hit]  # everything the search returned, best first (rank = position + 1)
    contexts: list[Hit]  # the selected passages, numbered from 1 as the generator sees them
    timings: Timings
    started: float


@dataclass(slots=True)
class Prepared:
    """A question retrieved for and ready to answer in one mode."""

    retrieved: Retrieved
    generator: Generator

    @property
    def contexts(self) -> list[Hit]:
        return self.retrieved.contexts


@dataclass(slots=True)
class AskResult:
    """An answer and everything that led to it (what the interaction log keeps)."""

    answer: Answer
    retrieved: Retrieved
    contexts: list[Hit]  # in the order of answer.sources
    degraded: bool = False
    reason: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    uncited: bool = False  # an LLM answer that cites none of the passages it was given
    model: str = ""  # "" for extractive answers
    prompt: str = ""  # the exact text sent to the model; for extractive answers, the numbered passages
    context: str = ""  # the passages as the model saw them, numbered (what a fine-tuning example is built from)

    @property
    def question(self) -> str:
        return self.retrieved.question


class AnswerPipeline:
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
        reranker: Reranker | None = None,
        candidates: int = 10,
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
        self._reranker = reranker
        self._candidates = candidates  # searched for (at least top_k), then re-ranked
        self._top_k = top_k
        self._max_chars = max_question_chars

    def ask(self, question: str, options: AskOptions = AskOptions()) -> AskResult:
        prepared = self.prepare(question, options)
        mark = time.perf_counter()
        if not prepared.contexts:
            return self._finish(prepared, Generated(I_DO_NOT_KNOW, prepared.generator.mode), mark)
        try:
            generated = prepared.generator.generate(prepared.retrieved.query, prepared.contexts)
        except GenerationError as exc:
            return self._finish(prepared, self._fallback(prepared, exc), mark, str(exc))
        return self._finish(prepared, generated, mark)

    def prepare(self, question: str, options: AskOptions = AskOptions()) -> Prepared:
        """Everything before generation; raises InputError for a bad question, filter or mode."""
        generator = self._generator(options.mode or self._mode)
        return Prepared(self.retrieve(question, options), generator)

    def retrieve(self, question: str, options: AskOptions = AskOptions()) -> Retrieved:
        """The service's retrieval: every evaluation measures this, not a copy of it."""
        started = time.perf_counter()
        timings = Timings()
        text = sanitize_question(question, self._max_chars)
        k = options.top_k or self._top_k
        signals = tuple(injection_signals(text))
        if signals:
            # Still answered, but the generator gets the question as quoted data with the rules restated.
            log.warning("possible prompt injection (%s): %r", ", ".join(signals), text[:200])
        search_text = self._rewriter.rewrite(text) if self._rewriter else text

        mark = time.perf_counter()
        query = Query(harden(text) if signals else text, self._embedder.embed_query(search_text))
        timings.embed = _ms(mark)

        mark = time.perf_counter()
        how = options.retrieval or self._retrieval
        sparse = self._sparse.encode_query(search_text) if self._sparse and how != "dense" else None
        hits = self._index.search(
            query.vector,
            limit=max(k, self._candidates),
            filters=options.filters,
            sparse=sparse,
            mode=how,
            groups=options.groups,
            vectors=self._selector.needs_vectors,
        )
        if self._reranker:
            hits = self._reranker.rerank(text, hits)
        timings.search = _ms(mark)
        contexts = self._selector.select(hits, k)
        return Retrieved(text, query, signals, how, hits, contexts, timings, started)

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
            for piece in prepared.generator.stream(prepared.retrieved.query, prepared.contexts):
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
        return extractive.generate(prepared.retrieved.query, prepared.contexts)

    def _finish(self, prepared: Prepared, generated: Generated, mark: float, reason: str = "") -> AskResult:
        """Check the citations, order the sources cited first, and time it all."""
        retrieved = prepared.retrieved
        retrieved.timings.generate = _ms(mark)
        contexts = retrieved.contexts
        citations = resolve_citations(generated.text, len(contexts))
        if not citations.text or says_idk(citations.text):
            contexts = []
            citations = resolve_citations(I_DO_NOT_KNOW, 0)
        sources = cite_sources(sources_for(contexts), citations)
        uncited = generated.mode != "extractive" and is_uncited(citations, len(contexts))
        retrieved.timings.total = _ms(retrieved.started)
        return AskResult(
            Answer(citations.text, sources, generated.mode, retrieved.timings),
            retrieved,
            [contexts[n - 1] for n in citations.order],
            degraded=bool(reason),
            reason=reason,
            prompt_tokens=generated.prompt_tokens,
            completion_tokens=generated.completion_tokens,
            uncited=uncited,
            model=generated.model,
            prompt=generated.prompt or numbered_blocks(retrieved.contexts),
            context=numbered_blocks(retrieved.contexts),
        )


def sources_for(contexts: Sequence[Hit]) -> list[Source]:
    """The passages as sources, numbered as the generator sees them, none cited yet."""
    return [
        Source(
            n=n,
            title=hit.chunk.title,
            url_or_path=hit.chunk.source,
            page=hit.chunk.page,
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
        next((p.model for p in pieces if p.model), ""),
        next((p.prompt for p in pieces if p.prompt), ""),
    )


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
