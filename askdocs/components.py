"""Builds the configured parts from settings. Called in main() or the service lifespan, never at import."""

from __future__ import annotations

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.factory import open_index
from askdocs.index.protocol import VectorIndex
from askdocs.qa.extractive import ExtractiveGenerator
from askdocs.qa.generate import Generator
from askdocs.qa.pipeline import Asker
from askdocs.qa.select import ThresholdTopKSelector
from askdocs.settings import Settings
from askdocs.sparse import Bm25Encoder


def make_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    e = settings.embedding
    embedder = SentenceTransformerEmbedder(
        e.model_path,
        batch_size=e.batch_size,
        query_prefix=e.query_prefix,
        passage_prefix=e.passage_prefix,
        max_seq_length=e.max_seq_length,
    )
    embedder.warm_up()
    return embedder


def make_asker(settings: Settings, embedder: SentenceTransformerEmbedder, index: VectorIndex) -> Asker:
    extractive = ExtractiveGenerator(embedder)
    generator: Generator = extractive
    if settings.llm.enabled:
        from askdocs.qa.llm import OpenAIGenerator, make_client

        generator = OpenAIGenerator(
            make_client(settings.llm),
            settings.llm.model,
            temperature=settings.llm.temperature,
            max_tokens=settings.llm.max_tokens,
        )
    r = settings.retrieval
    return Asker(
        embedder,
        index,
        ThresholdTopKSelector(r.min_score, r.max_context_tokens, embedder.count_tokens),
        generator,
        fallback=extractive if generator is not extractive else None,
        sparse=Bm25Encoder(),
        retrieval=r.mode,
        top_k=r.top_k,
        max_question_chars=settings.service.max_question_chars,
    )


def open_checked_index(settings: Settings, embedder: SentenceTransformerEmbedder) -> VectorIndex:
    """Open the index and check its dimension against the model before anything is read or written."""
    index = open_index(settings)
    stored = getattr(index, "stored_dimension", lambda: None)()
    if stored is not None:
        index.ensure_collection(embedder.dimension)
    return index
