"""Re-embedding the index with a fine-tuned model: built beside the live collection while questions keep being
answered from it, switched only once complete, the old one kept and restorable; the model recorded, so a query
with another model is a clear error. Embedded engine (pointer file) and a real Qdrant server (aliases)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from qdrant_client import QdrantClient, models

from app.container import Container
from app.main import create_app
from askdocs.components import check_dimension, make_pipeline, open_checked_index
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import ModelMismatchError, VectorIndexError
from askdocs.index.aliases import alias_target
from askdocs.index.edge import EdgeIndex
from askdocs.index.factory import open_index
from askdocs.index.pointer import read_live
from askdocs.index.reembed import reembed_edge, reembed_server, restore_edge, restore_server
from askdocs.index.server import ServerIndex
from askdocs.qa.pipeline import AskOptions
from askdocs.settings import Settings
from tests.app.conftest import container_for
from tests.chunks import make_chunk
from tests.conftest import HANDBOOK, ingest_paths, make_ingestor
from tests.qdrant import QdrantNode, start_node

QUESTION = "How many vacation days do I get?"


def sources(body: dict[str, Any]) -> list[str]:
    return [s["url_or_path"] for s in body["sources"]]


@pytest.mark.store
def test_embedded_reembed_answers_throughout_switches_and_restores(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, finetuned_model: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    qdrant_dir = settings.data_dir / "qdrant"
    index = open_index(settings)
    assert not ingest_paths(make_ingestor(embedder, index), HANDBOOK).failed
    chunks = index.count()
    index.close()
    tuned = SentenceTransformerEmbedder(finetuned_model)

    container = container_for(settings, embedder)
    during: list[tuple[str, dict[str, Any]]] = []
    progress: list[tuple[int, int]] = []
    with TestClient(create_app(container)) as client:
        before = client.post("/ask", json={"question": QUESTION}).json()
        assert before["sources"] and "leave.html" in sources(before)[0]

        def ask_meanwhile(n: int, total: int) -> None:  # called after every batch written to the new shard
            progress.append((n, total))
            during.append((read_live(qdrant_dir, "askdocs").shard, client.post("/ask", json={"question": QUESTION})))

        done = reembed_edge(qdrant_dir, "askdocs", embedder.model_id, tuned, ask_meanwhile, source=container.index)
        still = client.post("/ask", json={"question": QUESTION}).json()  # this process keeps its open shard
    container.close()
    assert during and all(shard == "askdocs" for shard, _ in during)  # the live pointer moved only at the end
    assert all(r.status_code == 200 and sources(r.json()) == sources(before) for _, r in during)
    assert sources(still) == sources(before)
    assert done.chunks == chunks and done.previous == "askdocs" and done.model == tuned.model_id
    assert sum(n for n, _ in progress) == chunks and {total for _, total in progress} == {chunks}  # a bar with an end
    assert read_live(qdrant_dir, "askdocs").shard == done.live and (qdrant_dir / "askdocs").is_dir()

    # the old model cannot query the new vectors: a clear error naming both models and the way out
    with pytest.raises(ModelMismatchError, match=f"made with the embedding model '{tuned.model_id}'.*index restore"):
        open_checked_index(settings, embedder)
    # restarted with the fine-tuned model: answers from the new shard, every chunk in it
    tuned_settings = settings.model_copy(
        update={"embedding": settings.embedding.model_copy(update={"model_path": finetuned_model})}
    )
    container = container_for(tuned_settings, tuned)
    assert container.index.count() == chunks
    with TestClient(create_app(container)) as client:
        after = client.post("/ask", json={"question": QUESTION}).json()
    container.close()
    assert after["sources"] and "leave.html" in sources(after)[0]

    back = restore_edge(qdrant_dir, "askdocs")
    assert back.live == "askdocs" and back.previous == done.live and back.model == embedder.model_id
    index = open_checked_index(settings, embedder)  # the base model fits the restored shard again
    assert index.count() == chunks and index.stored_model() == embedder.model_id
    index.close()
    assert restore_edge(qdrant_dir, "askdocs").live == done.live  # and forth


def _client(node: QdrantNode) -> QdrantClient:
    return QdrantClient(url=node.url, timeout=30, check_compatibility=False)


def test_server_reembed_switches_the_alias_and_restores(
    tmp_path: Path,
    embedder: SentenceTransformerEmbedder,
    finetuned_model: Path,
    monkeypatch: pytest.MonkeyPatch,
    qdrant_server: QdrantNode,
    qdrant_collection: str,
) -> None:
    alias = qdrant_collection
    layout = {"shard_number": 2, "on_disk": True, "quantization": "int8"}
    qdrant = {"url": qdrant_server.url, "collection": alias} | layout
    settings = Settings(data_dir=tmp_path, qdrant=qdrant, _env_file=None)  # type: ignore[call-arg]
    client = _client(qdrant_server)
    index = open_index(settings)
    assert not ingest_paths(make_ingestor(embedder, index), HANDBOOK).failed
    running = open_index(settings)  # a running service's view
    running.watch_model(embedder.model_id)  # as open_checked_index does for the service
    first = alias_target(client, alias)
    assert first is not None and first.startswith(f"{alias}_")  # a new collection is made behind an alias
    chunks = index.count()
    pipeline = make_pipeline(settings, embedder, index)
    options = AskOptions(top_k=3)
    before = [h.point_id for h in pipeline.retrieve(QUESTION, options).hits]
    during: list[tuple[str | None, list[str]]] = []

    def ask_meanwhile(n: int, total: int) -> None:
        during.append((alias_target(client, alias), [h.point_id for h in pipeline.retrieve(QUESTION, options).hits]))

    tuned = SentenceTransformerEmbedder(finetuned_model)
    done = reembed_server(client, alias, embedder.model_id, tuned, ask_meanwhile)
    assert during and all(target == first and hits == before for target, hits in during)
    assert alias_target(client, alias) == done.live != first and client.collection_exists(first)
    assert done.chunks == index.count() == chunks and index.stored_model() == tuned.model_id
    assert _layout(client, done.live) == _layout(client, first) == (2, 1, True, models.ScalarType.INT8)
    with pytest.raises(ModelMismatchError, match="askdocs index reembed"):
        check_dimension(index, embedder)
    monkeypatch.setattr("askdocs.index.server.MODEL_RECHECK_S", 0.0)
    with pytest.raises(ModelMismatchError, match=f"made with the embedding model '{tuned.model_id}'"):
        make_pipeline(settings, embedder, running).retrieve(QUESTION, options)  # not the wrong passages, silently
    with TestClient(
        create_app(Container(settings, embedder, running, make_pipeline(settings, embedder, running)))
    ) as http:
        ready = http.get("/ready")
        assert ready.status_code == 503 and "askdocs index restore" in ready.json()["reason"]
        assert http.post("/ask", json={"question": QUESTION}).status_code == 503
    hits = make_pipeline(settings, tuned, index).retrieve(QUESTION, options).hits
    assert hits and hits[0].chunk.source.endswith("leave.html")

    back = restore_server(client, alias)
    assert back.live == first and alias_target(client, alias) == first
    assert index.stored_model() == embedder.model_id
    check_dimension(index, embedder)
    assert [h.point_id for h in pipeline.retrieve(QUESTION, options).hits] == before
    assert [h.point_id for h in make_pipeline(settings, embedder, running).retrieve(QUESTION, options).hits] == before
    assert restore_server(client, alias).live == done.live  # and forth
    index.close()
    client.close()


def _layout(client: QdrantClient, collection: str) -> tuple[Any, ...]:
    config = client.get_collection(collection).config
    assert isinstance(config.params.vectors, dict) and isinstance(config.quantization_config, models.ScalarQuantization)
    dense = config.params.vectors["dense"]
    quantization = config.quantization_config.scalar.type
    return config.params.shard_number, config.params.replication_factor, dense.on_disk, quantization


def test_what_cannot_be_reembedded_says_why(
    tmp_path: Path,
    embedder: SentenceTransformerEmbedder,
    finetuned_model: Path,
    qdrant_server: QdrantNode,
    qdrant_collection: str,
) -> None:
    client = _client(qdrant_server)
    tuned = SentenceTransformerEmbedder(finetuned_model)
    with pytest.raises(VectorIndexError, match=f"no collection '{qdrant_collection}'"):
        reembed_server(client, qdrant_collection, embedder.model_id, tuned)
    plain = ServerIndex(client, f"{qdrant_collection}_plain", physical=True)
    plain.ensure_collection(embedder.dimension)
    with pytest.raises(VectorIndexError, match="plain collection, made before"):
        reembed_server(client, f"{qdrant_collection}_plain", embedder.model_id, tuned)
    client.close()
    with pytest.raises(VectorIndexError, match="is empty: nothing to re-embed"):
        reembed_edge(tmp_path / "qdrant", "askdocs", embedder.model_id, tuned)
    with pytest.raises(VectorIndexError, match="records no previous shard"):
        restore_edge(tmp_path / "qdrant", "askdocs")
    (tmp_path / "qdrant").mkdir()
    (tmp_path / "qdrant" / "askdocs.live.json").write_text("{not json")
    with pytest.raises(VectorIndexError, match=r"pointer .* cannot be read"):
        read_live(tmp_path / "qdrant", "askdocs")


TEXTS = [f"Policy {i}: expense receipts are due within {i} days." for i in range(300)]


def test_a_failed_reembed_leaves_the_live_index_as_it_was(
    tmp_path: Path,
    embedder: SentenceTransformerEmbedder,
    finetuned_model: Path,
    qdrant_server: QdrantNode,
    qdrant_collection: str,
) -> None:
    qdrant_dir = tmp_path / "qdrant"
    live = EdgeIndex(qdrant_dir / "askdocs")
    vectors = embedder.embed_documents(TEXTS)
    live.ensure_collection(embedder.dimension)
    live.upsert([make_chunk(f"{i:032x}", text=t) for i, t in enumerate(TEXTS)], vectors)

    def interrupted(n: int, total: int) -> None:
        raise KeyboardInterrupt  # after the first batch: the new shard is half-built

    tuned = SentenceTransformerEmbedder(finetuned_model)
    with pytest.raises(KeyboardInterrupt):
        reembed_edge(qdrant_dir, "askdocs", embedder.model_id, tuned, interrupted, source=live)
    assert sorted(p.name for p in qdrant_dir.iterdir()) == ["askdocs"]  # no pointer, no half-built shard
    assert live.count() == 300
    live.close()

    client = _client(qdrant_server)
    index = ServerIndex(client, qdrant_collection)
    index.ensure_collection(embedder.dimension)
    index.upsert([make_chunk(f"{i:032x}", text=t) for i, t in enumerate(TEXTS)], vectors)
    first = alias_target(client, qdrant_collection)
    with pytest.raises(KeyboardInterrupt):
        reembed_server(client, qdrant_collection, embedder.model_id, tuned, interrupted)
    assert alias_target(client, qdrant_collection) == first
    assert [c.name for c in client.get_collections().collections if c.name.startswith(qdrant_collection)] == [first]
    client.close()


def test_a_reembed_cut_off_by_the_server_names_what_it_left_and_a_second_one_succeeds(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, finetuned_model: Path, qdrant_executable: Path
) -> None:
    """The server is killed (SIGKILL) after the first batch: the alias still points at the live collection, and
    the half-built one, which could not be dropped, is named in the error and left as it was."""
    node = start_node(qdrant_executable, tmp_path / "node")
    try:
        client = QdrantClient(url=node.url, timeout=10, check_compatibility=False)
        index = ServerIndex(client, "askdocs")
        index.ensure_collection(embedder.dimension)
        index.upsert([make_chunk(f"{i:032x}", text=t) for i, t in enumerate(TEXTS)], embedder.embed_documents(TEXTS))
        first = alias_target(client, "askdocs")
        tuned = SentenceTransformerEmbedder(finetuned_model)
        with pytest.raises(VectorIndexError) as cut_off:
            reembed_server(client, "askdocs", embedder.model_id, tuned, lambda n, total: node.kill())
        left = re.search(r"The unfinished collection '(askdocs_\w+)' is left on the server", str(cut_off.value))
        assert left and f"delete it once the server answers (DELETE /collections/{left[1]})" in str(cut_off.value)
        assert str(cut_off.value).startswith("Qdrant server failed: ")  # the error that stopped it comes first
        node.start()
        node.wait_ready()
        assert alias_target(client, "askdocs") == first and index.count() == len(TEXTS)
        assert client.count(left[1], exact=True).count == 256  # the first batch, as it was written
        done = reembed_server(client, "askdocs", embedder.model_id, tuned)
        assert done.chunks == len(TEXTS) and alias_target(client, "askdocs") == done.live != left[1]
        assert {c.name for c in client.get_collections().collections} == {first, left[1], done.live}
        client.close()
    finally:
        node.kill()
