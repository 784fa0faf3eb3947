"""Streams embed chunks of consecutive documents together and prepare the next documents in a background thread;
none of that may change what is stored, lose a document, or drop an old version before the new one is written."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import qdrant_edge as qe

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.edge import EdgeIndex
from askdocs.models import Chunk, DocumentStatus, Provenance, SentenceVectors
from askdocs.settings import ChunkingSettings
from askdocs.sparse import SparseVec
from ingest.loaders import RawSource
from ingest.pipeline import Ingestor
from tests.conftest import BAD

CHUNKING = ChunkingSettings(chunker="structural", chunk_size=64, chunk_overlap=8)


def page(n: int, paragraphs: int) -> RawSource:
    """A small Markdown page; its paragraphs say different things, so its chunks differ."""
    body = "\n\n".join(
        f"Rule {n}.{i}: the office on floor {n} opens at {7 + i % 4} and team {i * 3 % 7} keeps key {n * i}. "
        + "Visitors sign in at the front desk and wear a badge. " * (1 + i % 3)
        for i in range(paragraphs)
    )
    return RawSource(f"/docs/page-{n:02d}.md", f"# Page {n}\n\n{body}".encode())


def corpus() -> list[RawSource]:
    return [page(n, paragraphs=1 + n % 5) for n in range(12)]


def points(index: EdgeIndex) -> dict[str, tuple[dict[str, Any], np.ndarray]]:
    """Every stored point: id -> (payload without the ingestion time, dense vector)."""
    shard = index._open()
    records, _ = shard.scroll(qe.ScrollRequest(limit=10_000, with_payload=True, with_vector=True))
    return {
        str(r.id): ({k: v for k, v in r.payload.items() if k != "ingested_at"}, np.asarray(r.vector["dense"]))
        for r in records
    }


def test_many_small_documents_make_the_same_points_as_one_by_one(
    embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    one_by_one = EdgeIndex(tmp_path / "one")
    single = Ingestor(embedder, one_by_one, CHUNKING)
    expected = [single.ingest_raw(raw) for raw in corpus()]
    # A window of 5 chunks: windows span documents, and larger documents span windows.
    batched = EdgeIndex(tmp_path / "batched")
    outcomes = list(
        Ingestor(embedder, batched, CHUNKING, window=5).ingest_stream((raw, Provenance()) for raw in corpus())
    )
    assert outcomes == expected
    assert all(o.status is DocumentStatus.NEW for o in outcomes) and sum(o.chunks for o in outcomes) > 20
    want, got = points(one_by_one), points(batched)
    assert got.keys() == want.keys()
    ids = sorted(want)
    assert [got[i][0] for i in ids] == [want[i][0] for i in ids]
    # The same vectors, up to the model's arithmetic: in bf16 (ASKDOCS_EMBEDDING__PRECISION=auto on a CPU with it) a
    # text's vector moves in the 4th digit with the batch it is embedded in. Each is its own chunk's, no other's.
    similar = np.stack([got[i][1] for i in ids]) @ np.stack([want[i][1] for i in ids]).T
    assert np.diag(similar).min() > 0.9999
    assert np.all(np.diag(similar) >= similar.max(axis=1) - 1e-6)


def test_a_failing_document_in_the_middle_does_not_lose_the_others(
    embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    index = EdgeIndex(tmp_path / "shard")
    good = corpus()[:4]
    corrupt = RawSource(str(BAD / "corrupt.pdf"), (BAD / "corrupt.pdf").read_bytes())
    empty = RawSource(str(BAD / "empty.html"), (BAD / "empty.html").read_bytes())
    items = [(raw, Provenance()) for raw in (good[0], good[1], corrupt, good[2], empty, good[3])]
    outcomes = list(Ingestor(embedder, index, CHUNKING, window=7).ingest_stream(items))
    assert [Path(o.source).name for o in outcomes] == [Path(raw.source).name for raw, _ in items]
    assert [o.status for o in outcomes] == [DocumentStatus.NEW] * 2 + [
        DocumentStatus.FAILED,
        DocumentStatus.NEW,
        DocumentStatus.FAILED,
        DocumentStatus.NEW,
    ]
    assert "corrupt" in outcomes[2].error
    assert {d.source for d in index.documents()} == {raw.source for raw in good}
    assert index.count() == sum(o.chunks for o in outcomes)


class RecordingIndex(EdgeIndex):
    """The real embedded index, noting each write: ("upsert", {(doc_id, version)}) or ("delete", doc_id, kept)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: list[tuple[Any, ...]] = []

    def upsert(
        self,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        sparse: Sequence[SparseVec] | None = None,
        sentences: Sequence[SentenceVectors | None] | None = None,
    ) -> None:
        super().upsert(chunks, vectors, sparse, sentences)
        self.writes.append(("upsert", {(c.doc_id, c.version) for c in chunks}))

    def delete_document(self, doc_id: str, *, except_version: str | None = None) -> None:
        self.writes.append(("delete", doc_id, except_version))
        super().delete_document(doc_id, except_version=except_version)


def test_the_old_version_is_dropped_only_after_the_new_one_is_stored(
    embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    index = RecordingIndex(tmp_path / "shard")
    ingestor = Ingestor(embedder, index, CHUNKING, window=6)
    list(ingestor.ingest_stream((raw, Provenance()) for raw in corpus()))
    assert not any(w[0] == "delete" for w in index.writes)  # nothing older to drop on a first ingest
    index.writes.clear()
    edited = [RawSource(raw.source, raw.data + b"\n\nEdited: the desk moved to the lobby.") for raw in corpus()]
    outcomes = list(ingestor.ingest_stream((raw, Provenance()) for raw in edited))
    assert all(o.status is DocumentStatus.UPDATED for o in outcomes)
    deletes = [(i, w) for i, w in enumerate(index.writes) if w[0] == "delete"]
    assert len(deletes) == len(edited)
    for i, (_, doc_id, kept) in deletes:
        assert any(w[0] == "upsert" and (doc_id, kept) in w[1] for w in index.writes[:i]), (doc_id, index.writes)
    assert index.count() == sum(o.chunks for o in outcomes)


def test_a_document_met_twice_in_one_stream_is_decided_as_one_by_one(
    embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    index = EdgeIndex(tmp_path / "shard")
    first, other = corpus()[3], corpus()[4]
    second = RawSource(first.source, first.data + b"\n\nA second edition of this page.")
    items = [first, other, first, second]
    outcomes = list(Ingestor(embedder, index, CHUNKING, window=50).ingest_stream((r, Provenance()) for r in items))
    assert [o.status for o in outcomes] == [
        DocumentStatus.NEW,
        DocumentStatus.NEW,
        DocumentStatus.UNCHANGED,
        DocumentStatus.UPDATED,
    ]
    assert index.count() == outcomes[1].chunks + outcomes[3].chunks  # the first edition is gone


def test_items_are_drawn_lazily_and_outcomes_come_as_documents_are_stored(
    embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    drawn: list[str] = []

    def items() -> Iterator[tuple[RawSource, Provenance]]:
        for raw in corpus():
            drawn.append(raw.source)
            yield raw, Provenance(origin="handbook", acl=("staff",))

    index = EdgeIndex(tmp_path / "shard")
    stream = Ingestor(embedder, index, CHUNKING, window=4).ingest_stream(items())
    first = next(stream)
    assert first.status is DocumentStatus.NEW and len(drawn) < len(corpus())
    assert [first, *stream][-1].source == corpus()[-1].source and len(drawn) == len(corpus())
    assert {(d.origin, d.chunks > 0) for d in index.documents()} == {("handbook", True)}


def test_the_window_is_checked(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    index = EdgeIndex(tmp_path / "shard")
    with pytest.raises(ValueError, match=r"window must be at least 1 chunk, got 0"):
        Ingestor(embedder, index, CHUNKING, window=0)


def test_tokens_are_counted_whole_while_another_thread_embeds(embedder: SentenceTransformerEmbedder) -> None:
    """The service answers in several threads: one counts tokens (the context budget) while another embeds, and
    embedding tokenizes with truncation
    (``model.tokenize``, as ``encode`` does). The model's tokenizer keeps that as state: counting with it here
    came out truncated to 256 in about one call of twenty."""
    long_text = "The office opens at nine and closes at five on weekdays. " * 120
    [whole] = embedder.count_tokens([long_text])
    assert whole > 2 * embedder.max_tokens
    stop = threading.Event()

    def tokenize_for_embedding() -> None:
        while not stop.is_set():
            embedder.model.tokenize([long_text] * 2)

    worker = threading.Thread(target=tokenize_for_embedding)
    worker.start()
    try:
        counts = [embedder.count_tokens([long_text, "short"])[0] for _ in range(500)]
    finally:
        stop.set()
        worker.join()
    assert set(counts) == {whole}
