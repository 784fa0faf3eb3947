"""Extractive answers from stored sentence vectors (issue 26 item 2): ingest pools each answer candidate's vector
from the chunk's own forward pass, both engines keep them with the chunk, and answering calls no model after the
question's vector. An index made before keeps answering the old way, says so once, and ``reembed`` adds them.

Real model, real documents, the embedded engine and a real Qdrant server; the only wrapper counts the real
embedder's calls."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import qdrant_edge as qe
from qdrant_client import QdrantClient

from askdocs.components import make_pipeline
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.edge import EdgeIndex
from askdocs.index.factory import open_index
from askdocs.index.points import DENSE, SENTENCES, SPARSE
from askdocs.index.protocol import VectorIndex
from askdocs.index.reembed import reembed_edge
from askdocs.index.server import ServerIndex
from askdocs.qa.candidates import candidate_spans, candidates, sentence_key
from askdocs.qa.extractive import ExtractiveGenerator
from askdocs.settings import Settings
from tests.conftest import HANDBOOK, ingest_paths, make_ingestor
from tests.qdrant import QdrantNode

QUESTION = "How many vacation days do I get?"
ANSWER = "25 vacation days"
LEAVE = HANDBOOK / "leave.html"


class Counting:
    """The real embedder, counting the texts it is asked to embed as documents (sentences, chunks)."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.texts = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.embed_documents(texts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def answered(index: VectorIndex, embedder: Any) -> tuple[str, str]:
    """The extractive answer from the stored vectors, and today's per-request answer on the same passages."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    result = make_pipeline(settings, embedder, index).ask(QUESTION)
    retrieved = result.retrieved
    per_request = ExtractiveGenerator(embedder.inner).generate(retrieved.query, retrieved.contexts)
    return result.answer.text, per_request.text


def test_candidates_are_found_in_the_text_they_come_from() -> None:
    text = "Leave\n\nEmployees get  25 vacation days a year.   Unused days expire on 31 March.\nSick pay | 100% | 80%\n"
    spans = candidate_spans(text)
    assert [x.key for x in spans] == [sentence_key(judged) for judged, _ in candidates(text)]
    assert [x.row for x in spans] == [False, False, True]
    assert [text[x.start : x.end] for x in spans] == [
        "Employees get  25 vacation days a year.",
        "Unused days expire on 31 March.",
        "Sick pay",  # a table row, judged by its label
    ]


def test_a_span_past_the_truncation_has_no_vector(embedder: SentenceTransformerEmbedder) -> None:
    text = "The pump is inspected every forty hours by the crew. " * 60  # far past 256 tokens
    spans = [(x.start, x.end) for x in candidate_spans(text)]
    vectors, pooled = embedder.embed_documents_and_spans([text], [spans])
    assert float(vectors[0] @ embedder.embed_documents([text])[0]) > 0.9999  # the chunk's vector, as before
    norms = np.linalg.norm(pooled[0], axis=1)
    assert np.allclose(norms[:10], 1.0, atol=1e-5) and np.all(norms[-10:] == 0.0)


def test_the_embedded_index_answers_from_stored_vectors(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    index = EdgeIndex(tmp_path / "shard")
    assert not ingest_paths(make_ingestor(embedder, index), HANDBOOK).failed
    counting = Counting(embedder)
    try:
        stored, per_request = answered(index, counting)
        hits = index.search(embedder.embed_query(QUESTION), 5, vectors=True)
    finally:
        index.close()
    assert counting.texts == 0  # no sentence was embedded to answer
    assert ANSWER in stored and stored == per_request
    assert all(set(h.vector.shape) == {384} for h in hits)  # searches bring the dense vector only


def test_a_small_to_big_parent_answers_from_stored_vectors(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """A small-to-big passage is the matched child's parent, which no forward pass sees: its candidates are embedded
    alone at ingest and kept with each child, so answering from it calls no model either."""
    index = EdgeIndex(tmp_path / "shard")
    assert not ingest_paths(make_ingestor(embedder, index, chunker="small-to-big"), LEAVE).failed
    counting = Counting(embedder)
    try:
        hits = index.search(embedder.embed_query(QUESTION), 3)
        stored, per_request = answered(index, counting)
    finally:
        index.close()
    assert all(h.chunk.context and h.chunk.context != h.chunk.text for h in hits)  # the passages are parents
    assert counting.texts == 0
    assert ANSWER in stored and stored == per_request


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (
            "How much extra do I get paid for a week of on-call duty?",
            "You receive 300 EUR for each on-call week, as primary or secondary, paid with the salary of the following "
            "month. [1]",
        ),
        (
            "Which password manager am I supposed to use?",
            "Using the company password manager, Vaultwarden, is mandatory. [1]",
        ),
    ],
)
def test_a_stored_vector_answer_is_the_sentence_that_answers(
    handbook_dir: Path, embedder: SentenceTransformerEmbedder, question: str, answer: str
) -> None:
    """The stored vectors of one chunk's sentences score closer together than sentences embedded alone: a second
    sentence joins within a share of the candidates' spread, not a fixed margin, and the question's words break
    near-ties (with a margin of 0.08, "Store all work credentials in Vaultwarden ..." joined, and the on-call
    answer led with "Being on call restricts your free time ... :")."""
    settings = Settings(data_dir=handbook_dir, _env_file=None)  # type: ignore[call-arg]
    index = open_index(settings)
    try:
        assert make_pipeline(settings, embedder, index).ask(question).answer.text == answer
    finally:
        index.close()


def test_a_qdrant_server_keeps_and_gives_the_stored_vectors(
    qdrant_server: QdrantNode, qdrant_collection: str, embedder: SentenceTransformerEmbedder
) -> None:
    index = ServerIndex(QdrantClient(url=qdrant_server.url, timeout=30, check_compatibility=False), qdrant_collection)
    assert not ingest_paths(make_ingestor(embedder, index), LEAVE).failed
    counting = Counting(embedder)
    stored, per_request = answered(index, counting)
    assert counting.texts == 0
    assert ANSWER in stored and stored == per_request
    ids = [c.point_id for batch in index.iter_chunks() for c in batch]
    found = index.sentence_vectors(ids)
    assert found and set(found) <= set(ids)
    some = next(iter(found.values()))
    assert some.vectors.shape == (len(some.keys), 384)
    assert np.allclose(np.linalg.norm(some.vectors, axis=1), 1.0, atol=2e-3)  # float16 on the server
    index.close()


def make_old_shard(path: Path, dimension: int) -> None:
    """A shard as askdocs made it before sentence vectors: a dense and a BM25 vector, nothing else."""
    config = qe.EdgeConfig(
        vectors={DENSE: qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine)},
        sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
    )
    path.mkdir(parents=True)
    qe.EdgeShard.create(str(path), config).close()


def test_an_index_made_before_answers_says_so_once_and_reembed_adds_the_vectors(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    qdrant_dir = settings.data_dir / "qdrant"
    make_old_shard(qdrant_dir / settings.qdrant.collection, embedder.dimension)
    index = open_index(settings)
    assert not ingest_paths(make_ingestor(embedder, index), LEAVE).failed
    assert index.sentence_vectors(["anything"]) is None
    counting = Counting(embedder)
    pipeline = make_pipeline(settings, counting, index)
    with caplog.at_level(logging.WARNING, logger="askdocs.qa.extractive"):
        first = pipeline.ask(QUESTION).answer.text
        assert pipeline.ask(QUESTION).answer.text == first
    assert ANSWER in first and counting.texts > 0  # the old way: sentences embedded per request
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "askdocs index reembed" in warnings[0]

    reembed_edge(qdrant_dir, settings.qdrant.collection, embedder.model_id, embedder, source=index)
    index.close()
    assert SENTENCES in (qdrant_dir / read_shard(settings) / "edge_config.json").read_text()
    index = open_index(settings)
    counting.texts = 0
    try:
        assert make_pipeline(settings, counting, index).ask(QUESTION).answer.text == first
    finally:
        index.close()
    assert counting.texts == 0


def read_shard(settings: Settings) -> str:
    from askdocs.index.pointer import read_live

    return read_live(settings.data_dir / "qdrant", settings.qdrant.collection).shard
