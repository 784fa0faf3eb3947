"""One contract, both adapters: the embedded engine and a real Qdrant server (the session's node, tests/qdrant.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from askdocs.errors import ConfigError, DimensionMismatchError, DiskSpaceError, InputError, VectorIndexError
from askdocs.index.edge import EdgeIndex
from askdocs.index.factory import open_index
from askdocs.index.protocol import hybrid_candidates, point_id_for
from askdocs.index.server import ServerIndex
from askdocs.models import Chunk, SentenceVectors
from askdocs.settings import Settings
from tests.qdrant import QdrantNode

DIM = 8


def chunk(doc: str, i: int, count: int, version: str = "v1", text: str = "") -> Chunk:
    return Chunk(
        point_id=point_id_for(doc, f"{version}:{i}"),
        doc_id=doc,
        source=f"/docs/{doc}.html",
        title=doc.upper(),
        text=text or f"{doc} chunk {i}",
        embed_text=text or f"{doc} chunk {i}",
        chunk_index=i,
        chunk_count=count,
        chunker="recursive",
        version=version,
        ingested_at="2026-01-01T00:00:00+00:00",
        heading_path=("H",),
    )


def vec(*values: float) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


@pytest.fixture(params=["edge", "server"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "edge":
        idx: Any = EdgeIndex(tmp_path / "shard")
    else:
        node: QdrantNode = request.getfixturevalue("qdrant_server")
        idx = ServerIndex.connect(node.url, None, request.getfixturevalue("qdrant_collection"), 10)
    yield idx
    idx.close()


def test_empty_index_answers_without_a_collection(index: Any) -> None:
    assert index.count() == 0
    assert index.documents() == []
    assert index.search(vec(1), 5) == []


def test_upsert_search_and_filters(index: Any) -> None:
    index.ensure_collection(DIM)
    a = [chunk("a", i, 2) for i in range(2)]
    b = [chunk("b", 0, 1)]
    index.upsert(a + b, np.stack([vec(1, 0), vec(1, 1), vec(0, 1)]))
    hits = index.search(vec(1, 0), 3)
    assert next(h.doc_id for h in hits) == "a"
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert hits[0].chunk.heading_path == ("H",)
    only_b = index.search(vec(1, 0), 3, filters={"doc_id": "b"})
    assert [h.doc_id for h in only_b] == ["b"]
    both = index.search(vec(1, 0), 3, filters={"source": ["/docs/a.html", "/docs/b.html"]})
    assert len(both) == 3
    with pytest.raises(InputError, match="cannot filter on 'text'"):
        index.search(vec(1), 3, filters={"text": "x"})


def test_a_new_embedded_index_keys_its_points_by_numbers_and_reads_back_the_chunks_ids(tmp_path: Path) -> None:
    index = EdgeIndex(tmp_path / "shard")
    index.ensure_collection(DIM)
    chunks = [chunk("a", i, 3) for i in range(3)]
    rows = [SentenceVectors((0, 1), np.stack([vec(1, i), vec(0, 1)])) for i in range(3)]
    index.upsert(chunks, np.stack([vec(1, i) for i in range(3)]), sentences=rows)
    index.upsert(chunks[:1], np.stack([vec(1, 0)]))  # the same id: the same key, so no second point
    ids = {c.point_id for c in chunks}
    assert all(isinstance(key, int) for key in _keys(index)) and index.count() == 3
    hits = index.search(vec(1, 1), 3)
    assert {h.point_id for h in hits} == ids
    assert set(index.sentence_vectors(sorted(ids)) or {}) == ids - {chunks[0].point_id}  # rewritten without rows
    assert {c.point_id for batch in index.iter_chunks() for c in batch} == ids
    assert {h.point_id for h in index.neighbours(hits[0], 2)} == ids
    with pytest.raises(VectorIndexError, match="'p1' is not a UUID"):
        index.sentence_vectors(["p1"])
    index.close()


def test_an_embedded_index_short_of_disk_refuses_to_write_or_open_and_loses_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The engine ends the process (SIGBUS) when a write meets a full disk: askdocs refuses before that. "Short"
    here is a margin above the disk's real free space, so the refusal is the one a full disk would meet."""
    import shutil

    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    index = open_index(settings)
    assert isinstance(index, EdgeIndex) and index.min_free_mb == settings.qdrant.min_free_mb > 0
    short = shutil.disk_usage(tmp_path).free // 2**20 + 1024
    index.min_free_mb = short
    with pytest.raises(DiskSpaceError, match=r"creating the index refused: .* MB free, under the \d+ MB"):
        index.ensure_collection(DIM)
    assert not index.path.exists()
    index.min_free_mb = settings.qdrant.min_free_mb
    index.ensure_collection(DIM)
    a = [chunk("a", i, 2) for i in range(2)]
    index.upsert(a, np.stack([vec(1, 0), vec(1, 1)]))

    index.min_free_mb = short
    with pytest.raises(DiskSpaceError, match=r"writing to the index refused: .*ASKDOCS_QDRANT__MIN_FREE_MB.*intact"):
        index.upsert([chunk("b", 0, 1)], np.stack([vec(0, 1)]))
    with pytest.raises(DiskSpaceError, match="writing to the index refused"):
        index.delete_document("a")
    assert index.count() == 2 and {h.doc_id for h in index.search(vec(1, 0), 5)} == {"a"}  # reads go on
    with caplog.at_level("WARNING", logger="askdocs.index"):
        index.close()  # the optimisation left out, said once
    assert [r.getMessage() for r in caplog.records if "optimising the index refused" in r.getMessage()]

    strict = settings.qdrant.model_copy(update={"min_free_mb": short})
    again = open_index(settings.model_copy(update={"qdrant": strict}))
    with pytest.raises(DiskSpaceError, match="opening the index refused"):
        again.count()
    again.close()
    reopened = open_index(settings)
    assert reopened.count() == 2 and {c.doc_id for batch in reopened.iter_chunks() for c in batch} == {"a"}
    reopened.close()


def test_an_embedded_index_keyed_by_uuids_as_before_keeps_its_keys_and_answers(tmp_path: Path) -> None:
    import qdrant_edge as qe

    from askdocs.index.points import POINT_ID, payload_of

    made = EdgeIndex(tmp_path / "shard")
    made.ensure_collection(DIM)
    old, *new = [chunk("a", i, 3) for i in range(3)]
    before = {k: v for k, v in payload_of(old).items() if k != POINT_ID}  # as versions before the key wrote it
    made._shard.update(qe.UpdateOperation.upsert_points([qe.Point(old.point_id, {"dense": vec(1).tolist()}, before)]))
    made.close()
    index = EdgeIndex(tmp_path / "shard")  # opened again, as a service opens an index made before
    index.ensure_collection(DIM)
    index.upsert(new, np.stack([vec(1, 1), vec(1, 2)]))
    index.upsert([old], np.stack([vec(1)]))
    assert {str(key) for key in _keys(index)} == {c.point_id for c in (old, *new)} and index.count() == 3
    assert {h.point_id for h in index.search(vec(1), 3)} == {c.point_id for c in (old, *new)}
    index.delete_document("a")
    assert index.count() == 0
    index.close()


def _keys(index: EdgeIndex) -> list[Any]:
    import qdrant_edge as qe

    records, _ = index._shard.scroll(qe.ScrollRequest(limit=100, with_payload=False))
    return [r.id for r in records]


def test_versions_documents_and_deletion(index: Any) -> None:
    index.ensure_collection(DIM)
    index.upsert([chunk("a", i, 3) for i in range(3)], np.stack([vec(1, i) for i in range(3)]))
    assert index.stored_version("a", "v1").complete
    assert not index.stored_version("a", "v2").complete
    index.upsert([chunk("a", i, 2, "v2") for i in range(2)], np.stack([vec(1, i) for i in range(2)]))
    assert not index.stored_version("a", "v2").complete  # old version still there
    index.delete_document("a", except_version="v2")
    assert index.stored_version("a", "v2").complete
    assert index.count() == 2
    [info] = index.documents()
    assert (info.doc_id, info.chunks, info.title, info.version) == ("a", 2, "A", "v2")
    index.delete_document("a")
    assert index.count() == 0


def test_groups_see_public_documents_and_those_shared_with_them(index: Any) -> None:
    from dataclasses import replace

    index.ensure_collection(DIM)
    public = chunk("handbook", 0, 1)
    hr = replace(chunk("salaries", 0, 1), acl=("hr",), origin="hr-share")
    both = replace(chunk("reviews", 0, 1), acl=("hr", "leads"), origin="hr-share")
    index.upsert([public, hr, both], np.stack([vec(1, 0), vec(1, 0.1), vec(1, 0.2)]))
    sources = sorted(["handbook", "reviews", "salaries"])

    def seen(groups: Any) -> list[str]:
        return sorted(h.doc_id for h in index.search(vec(1, 0), 5, groups=groups))

    assert seen(None) == sources  # no access check: evaluation and admin tools
    assert seen([]) == ["handbook"]  # nobody in particular: public documents only
    assert seen(["engineering"]) == ["handbook"]
    assert seen(["leads"]) == ["handbook", "reviews"]
    assert seen(["hr", "engineering"]) == sources
    hybrid = index.search(vec(1, 0), 5, groups=["leads"], sparse=_empty_sparse(), mode="hybrid")
    assert sorted(h.doc_id for h in hybrid) == ["handbook", "reviews"]
    filtered = index.search(vec(1, 0), 5, filters={"origin": "hr-share"}, groups=["hr"])
    assert sorted(h.doc_id for h in filtered) == ["reviews", "salaries"]


def _empty_sparse() -> Any:
    from askdocs.sparse import SparseVec

    return SparseVec([1], [1.0])


def test_a_different_dimension_is_refused_naming_both(index: Any) -> None:
    index.ensure_collection(DIM)
    index.ensure_collection(DIM)  # idempotent
    with pytest.raises(DimensionMismatchError, match=r"holds 8-dimensional vectors .* makes 384-dimensional"):
        index.ensure_collection(384)


def test_a_second_process_gets_a_clear_lock_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    first = EdgeIndex(tmp_path / "shard")
    first.ensure_collection(DIM)
    code = (
        "import sys; from pathlib import Path; from askdocs.index.edge import EdgeIndex\n"
        "from askdocs.errors import IndexLockedError\n"
        f"try:\n    EdgeIndex(Path({str(tmp_path / 'shard')!r})).count()\n"
        "except IndexLockedError as exc:\n    print(exc); sys.exit(3)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    first.close()
    assert result.returncode == 3, result.stderr
    assert "in use by another askdocs process" in result.stdout  # exit 3: the child caught IndexLockedError


def test_sparse_and_hybrid_search(index: Any) -> None:
    from askdocs.sparse import Bm25Encoder

    encoder = Bm25Encoder()
    texts = ["vacation days per calendar year", "password manager and MFA", "hotel limit per night in Paris"]
    chunks = [chunk(f"d{i}", 0, 1, text=t) for i, t in enumerate(texts)]
    index.ensure_collection(DIM)
    # Dense vectors point the "wrong" way for the first text, so only the lexical side can find it.
    index.upsert(chunks, np.stack([vec(0, 0, 1), vec(1, 0), vec(0, 1)]), encoder.encode_documents(texts))
    query = encoder.encode_query("how many vacation days")
    scores: dict[str, list[float]] = {}
    sparse_hits = index.search(vec(1, 0), 3, sparse=query, mode="sparse")
    assert [h.doc_id for h in sparse_hits] == ["d0"]  # BM25 only matches documents sharing a term
    assert sparse_hits[0].dense_score == pytest.approx(0.0, abs=1e-5)  # cosine of the dense side, for thresholds
    for fusion in ("dbsf", "rrf"):
        index.fusion = fusion
        hybrid = index.search(vec(1, 0), 3, sparse=query, mode="hybrid")
        assert {h.doc_id for h in hybrid[:2]} == {"d0", "d1"}, fusion  # top of each list, fused
        assert next(h for h in hybrid if h.doc_id == "d1").relevance == pytest.approx(1.0, abs=1e-4)
        scores[fusion] = [round(h.score, 4) for h in hybrid]
    assert all(s < 0.04 for s in scores["rrf"])  # 1 / (60 + rank): not cosines
    assert max(scores["dbsf"]) > 0.1  # normalised scores summed
    with pytest.raises(InputError, match="needs the query's sparse vector"):
        index.search(vec(1, 0), 3, mode="hybrid")


def test_every_hybrid_hit_has_its_cosine_whether_or_not_the_dense_search_found_it(index: Any) -> None:
    from askdocs.sparse import Bm25Encoder

    encoder = Bm25Encoder()
    fillers = [chunk("f", i, 60, text=f"filler text {i}") for i in range(60)]
    lexical = chunk("lex", 0, 1, text="vacation days per calendar year")
    vectors = np.stack([vec(1, 0.01 * i) for i in range(60)] + [vec(-1, 0.5)])
    index.ensure_collection(DIM)
    index.upsert([*fillers, lexical], vectors, encoder.encode_documents([c.text for c in [*fillers, lexical]]))
    index.dense_weight = 0.1  # BM25's one match first, though the dense search (40 candidates of 61) misses it
    query = encoder.encode_query("vacation days")
    hits = index.search(vec(1, 0), 12, sparse=query, mode="hybrid")
    with_vectors = index.search(vec(1, 0), 12, sparse=query, mode="hybrid", vectors=True)
    assert hits[0].doc_id == "lex" and hits[0].dense_score == pytest.approx(float(vec(1, 0) @ vec(-1, 0.5)), abs=1e-5)
    assert [h.point_id for h in hits] == [h.point_id for h in with_vectors]
    assert [h.dense_score for h in hits] == pytest.approx([h.dense_score for h in with_vectors], abs=1e-5)
    assert all(h.vector is not None for h in with_vectors)


def test_the_hybrid_factor_setting_reaches_both_adapters_and_names_the_lists_length(
    qdrant_server: QdrantNode, qdrant_collection: str, tmp_path: Path
) -> None:
    for settings in (
        Settings(data_dir=tmp_path, retrieval={"hybrid_factor": 2}, _env_file=None),  # type: ignore[call-arg]
        _server_settings(qdrant_server, qdrant_collection, tmp_path).model_copy(
            update={"retrieval": Settings(retrieval={"hybrid_factor": 2}, _env_file=None).retrieval}  # type: ignore[call-arg]
        ),
    ):
        index = open_index(settings)
        assert index.hybrid_factor == 2  # type: ignore[attr-defined]
        index.close()
    assert [hybrid_candidates(100, 4), hybrid_candidates(100, 2), hybrid_candidates(5, 2)] == [400, 200, 40]
    with pytest.raises(ValueError, match="hybrid_factor"):
        Settings(retrieval={"hybrid_factor": 0}, _env_file=None)  # type: ignore[call-arg]


def test_hits_carry_vectors_and_neighbours_come_from_the_same_version(index: Any) -> None:
    index.ensure_collection(DIM)
    index.upsert([chunk("a", i, 5) for i in range(5)], np.stack([vec(1, i) for i in range(5)]))
    index.upsert([chunk("a", i, 5, "old") for i in range(5)], np.stack([vec(1, i) for i in range(5)]))
    found = index.search(vec(1, 2), 10)
    assert all(h.vector is None and h.dense_score == pytest.approx(h.score, abs=1e-5) for h in found)
    with_vectors = index.search(vec(1, 2), 10, vectors=True)
    hit = next(h for h in with_vectors if h.chunk.version == "v1" and h.chunk.chunk_index == 2)
    assert hit.vector is not None and hit.vector.shape == (DIM,)
    assert hit.dense_score == pytest.approx(hit.score, abs=1e-5)
    around = index.neighbours(hit, 1)
    assert [(h.chunk.chunk_index, h.chunk.version) for h in around] == [(1, "v1"), (2, "v1"), (3, "v1")]
    assert index.neighbours(hit, 0) == []


def _server_settings(node: QdrantNode, collection: str, tmp_path: Path, **qdrant: Any) -> Settings:
    qdrant |= {"url": node.url, "collection": collection}
    return Settings(data_dir=tmp_path, qdrant=qdrant, _env_file=None)  # type: ignore[call-arg]


def test_a_collection_made_on_a_server_is_laid_out_as_the_settings_say(
    qdrant_server: QdrantNode, qdrant_collection: str, tmp_path: Path
) -> None:
    from qdrant_client import QdrantClient, models

    settings = _server_settings(
        qdrant_server, qdrant_collection, tmp_path, shard_number=2, on_disk=True, quantization="int8"
    )
    index = open_index(settings)
    index.ensure_collection(DIM)
    index.upsert([chunk("a", i, 3) for i in range(3)], np.stack([vec(1, i) for i in range(3)]))
    client = QdrantClient(url=qdrant_server.url, check_compatibility=False)
    config = client.get_collection(qdrant_collection).config  # through the alias
    client.close()
    assert (config.params.shard_number, config.params.replication_factor) == (2, 1)
    assert isinstance(config.params.vectors, dict) and config.params.vectors["dense"].on_disk
    quantization = config.quantization_config
    assert isinstance(quantization, models.ScalarQuantization)
    assert quantization.scalar.type == models.ScalarType.INT8 and quantization.scalar.always_ram
    [hit, *_] = index.search(vec(1, 1), 3)  # found through the int8 copies; the cosine comes from the original
    assert hit.chunk.chunk_index == 1 and hit.dense_score == pytest.approx(1.0, abs=1e-5)
    index.close()


def test_more_copies_than_the_server_has_peers_are_refused_before_anything_is_made(
    qdrant_server: QdrantNode, qdrant_collection: str, tmp_path: Path
) -> None:
    from qdrant_client import QdrantClient

    index = open_index(
        _server_settings(qdrant_server, qdrant_collection, tmp_path, replication_factor=2, write_consistency_factor=2)
    )
    with pytest.raises(ConfigError) as refused:
        index.ensure_collection(DIM)
    assert str(refused.value).startswith(
        "ASKDOCS_QDRANT__REPLICATION_FACTOR=2 needs 2 Qdrant peers, one for each copy of a shard, but the Qdrant "
        f"server {qdrant_server.url} has 1 peer (cluster mode off): nothing was created. Lower "
        "ASKDOCS_QDRANT__REPLICATION_FACTOR to at most 1"
    )
    client = QdrantClient(url=qdrant_server.url, check_compatibility=False)
    made = [c.name for c in client.get_collections().collections] + [a.alias_name for a in client.get_aliases().aliases]
    client.close()
    assert not [name for name in made if name.startswith(qdrant_collection)]
    assert index.count() == 0
    index.close()


def test_two_processes_making_the_first_collection_at_once_make_one(
    qdrant_server: QdrantNode, qdrant_collection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers' first ingest into an empty server: both find no collection, both make it. One collection is
    made and the alias points at it, so what each writes is found (two, and the alias would keep the last)."""
    from qdrant_client import QdrantClient

    first, second = (ServerIndex.connect(qdrant_server.url, None, qdrant_collection, 10) for _ in range(2))
    seen = second.stored_dimension
    stale = [None]  # what the second saw just before the first made the collection
    monkeypatch.setattr(second, "stored_dimension", lambda: stale.pop() if stale else seen())
    first.ensure_collection(DIM)
    first.upsert([chunk("a", 0, 1)], np.stack([vec(1, 0)]))
    second.ensure_collection(DIM)
    assert not stale  # it did decide to make the collection
    second.upsert([chunk("b", 0, 1)], np.stack([vec(0, 1)]))
    assert first.count() == second.count() == 2
    client = QdrantClient(url=qdrant_server.url, check_compatibility=False)
    made = [c.name for c in client.get_collections().collections if c.name.startswith(qdrant_collection)]
    client.close()
    assert made == [f"{qdrant_collection}_initial"]
    first.close()
    second.close()
