"""Builds the configured parts from settings. Called in main() or the service lifespan, never at import."""

from __future__ import annotations

import logging

from askdocs.embedding import Embedder, SentenceTransformerEmbedder
from askdocs.errors import (
    ConfigError,
    DimensionMismatchError,
    IndexLockedError,
    ModelMismatchError,
    UnknownNameError,
    VectorIndexError,
)
from askdocs.index.factory import open_index
from askdocs.index.protocol import VectorIndex, check_model
from askdocs.models import AnswerMode
from askdocs.qa.abstain import LogisticCheck
from askdocs.qa.extractive import ExtractiveGenerator
from askdocs.qa.generate import Generator
from askdocs.qa.pipeline import AnswerPipeline
from askdocs.qa.rerank import PeriodBoost, RerankChain, Reranker, SamePage
from askdocs.qa.select import SelectionParams, SelectorChain
from askdocs.settings import LLMSettings, Settings
from askdocs.sparse import Bm25Encoder

log = logging.getLogger(__name__)


def make_embedder(settings: Settings, *, warm: bool = True) -> SentenceTransformerEmbedder:
    """The configured embedder; ``warm=False`` leaves the model to load on first use."""
    e = settings.embedding
    embedder = SentenceTransformerEmbedder(
        e.model_path,
        batch_size=e.batch_size,
        query_prefix=e.query_prefix,
        passage_prefix=e.passage_prefix,
        max_seq_length=e.max_seq_length,
        precision=e.precision,
        device=e.device,
        query_runtime=e.query_runtime,
        query_threads=e.query_threads,
        cache_dir=settings.cache_path,
    )
    if warm:
        embedder.warm_up()
    return embedder


def make_pipeline(settings: Settings, embedder: Embedder, index: VectorIndex) -> AnswerPipeline:
    extractive = ExtractiveGenerator(embedder, check=make_check(settings), stored=index.sentence_vectors)
    generators: dict[AnswerMode, Generator] = {"extractive": extractive}
    rewriter = None
    if settings.llm.enabled:
        generators.update(make_llm_generators(settings.llm))
        if settings.retrieval.rewrite:
            from askdocs.qa.llm import make_client
            from askdocs.qa.rewrite import LLMRewriter

            rewriter = LLMRewriter(make_client(settings.llm), settings.llm.model)
    return AnswerPipeline(
        embedder,
        index,
        make_selector(settings, embedder, index),
        generators,
        mode=settings.llm.mode if settings.llm.enabled else "extractive",
        sparse=Bm25Encoder(),
        retrieval=settings.retrieval.mode,
        rewriter=rewriter,
        reranker=make_reranker(settings),
        candidates=settings.retrieval.candidates,
        top_k=settings.retrieval.top_k,
        max_question_chars=settings.service.max_question_chars,
    )


def make_reranker(settings: Settings) -> Reranker | None:
    """The re-ranking steps the retrieval settings turn on, in order (none: the search's own ranking)."""
    r = settings.retrieval
    steps: list[Reranker] = [PeriodBoost(r.period_boost)] if r.period_boost else []
    steps += [SamePage()] if r.merge_pages else []
    return RerankChain(steps) if steps else None


def make_check(settings: Settings) -> LogisticCheck | None:
    """The extractive answer check (ASKDOCS_EXTRACTIVE__*), or None when it is turned off."""
    x = settings.extractive
    if not x.check:
        return None
    check = LogisticCheck.load(x.check_file)
    return check if x.check_threshold is None else check.with_threshold(x.check_threshold)


def make_selector(settings: Settings, embedder: Embedder, index: VectorIndex) -> SelectorChain:
    """The context selection chain named by ASKDOCS_RETRIEVAL__SELECTORS; a bad name is a ConfigError."""
    r = settings.retrieval
    names = [n.strip() for n in r.selectors.split(",") if n.strip()]
    try:
        params = SelectionParams(r.min_score, r.max_context_tokens, r.mmr_lambda, r.max_per_doc, r.neighbour_window)
        return SelectorChain(names, params, embedder.count_tokens, index.neighbours)
    except (ValueError, UnknownNameError) as exc:
        raise ConfigError(f"ASKDOCS_RETRIEVAL__SELECTORS: {exc}") from exc


def make_llm_generators(llm: LLMSettings) -> dict[AnswerMode, Generator]:
    """The LLM modes, sharing one client. A bad few-shot file is a ConfigError here, at startup."""
    from askdocs.qa.llm import FinetunedGenerator, PromptedGenerator, load_few_shot, make_client

    client = make_client(llm)
    few_shot = load_few_shot(llm.few_shot_file) if llm.few_shot_file else []
    return {
        "prompted": PromptedGenerator(
            client, llm.model, few_shot=few_shot, temperature=llm.temperature, max_tokens=llm.max_tokens
        ),
        "finetuned": FinetunedGenerator(
            client, llm.finetuned_model or llm.model, temperature=llm.temperature, max_tokens=llm.max_tokens
        ),
    }


def open_checked_index(settings: Settings, embedder: Embedder, *, tolerate_unreachable: bool = False) -> VectorIndex:
    """Open the index and check its dimension against the model before anything is read or written.
    ``tolerate_unreachable``: a Qdrant server that does not answer yet is not fatal (the service starts, says
    503 until it answers, and checks the dimension again as it writes); a damaged, locked or mismatched embedded
    index always is."""
    index = open_index(settings)
    index.watch_model(embedder.model_id)
    try:
        check_dimension(index, embedder)
    except (DimensionMismatchError, IndexLockedError, ModelMismatchError):
        raise
    except VectorIndexError as exc:
        if not (tolerate_unreachable and settings.qdrant.url):
            raise
        log.warning("Qdrant is not reachable yet (%s); /ready answers 503 until it is", exc)
    return index


def check_dimension(index: VectorIndex, embedder: Embedder) -> None:
    """An existing collection must match the model (DimensionMismatchError names both); this also surfaces
    a locked embedded index (IndexLockedError) before any work."""
    if index.stored_dimension() is not None:
        index.ensure_collection(embedder.dimension)
        check_model(index.stored_model(), embedder.model_id)
