"""``askdocs index migrate``: the handbook's embedded index moved into a real Qdrant node and a real 3-peer cluster,
checked point by point and question by question; an interrupted copy finished (after a failed request, and after
the process was killed); the targets it must not write to refused, with the flag or setting that would do."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import numpy as np
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from qdrant_client import QdrantClient
from qdrant_client.models import PointStruct

from app.main import create_app
from askdocs.components import make_pipeline
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import VectorIndexError
from askdocs.index.aliases import MODEL_KEY, alias_target, metadata_of
from askdocs.index.edge import EdgeIndex
from askdocs.index.factory import open_index
from askdocs.index.points import point_id_of
from askdocs.index.protocol import VectorIndex
from askdocs.index.server import ServerIndex
from askdocs.index.shard_reader import ShardReader
from askdocs.index.verify import check_sources
from askdocs.models import Hit, RetrievalMode
from askdocs.qa.pipeline import AskOptions
from askdocs.settings import QdrantSettings, Settings
from evals.handbook import load_questions
from tests.app.conftest import container_for
from tests.chunks import make_chunk
from tests.cli.runner import ASKDOCS, Ran, clean_env, run
from tests.qdrant import QdrantNode, free_ports
from tests.servers import serve
from tests.waiting import until

MODEL = "all-MiniLM-L6-v2"


@pytest.fixture
def data_dir(tmp_path: Path, handbook_dir: Path) -> Path:
    """A copy of the session's handbook index (46 points, 7 documents): the embedded index to move."""
    shutil.copytree(handbook_dir / "qdrant", tmp_path / "data" / "qdrant")
    return tmp_path / "data"


@pytest.fixture
def env(data_dir: Path) -> dict[str, str]:
    return clean_env(ASKDOCS_DATA_DIR=str(data_dir))


@pytest.fixture
def client(qdrant_server: QdrantNode) -> Iterator[QdrantClient]:
    c = QdrantClient(url=qdrant_server.url, timeout=30, check_compatibility=False)
    yield c
    c.close()


def migrate(env: dict[str, str], url: str, *args: str) -> Ran:
    return run(env, "index", "migrate", "--to", url, *args)


def printed_settings(ran: Ran) -> dict[str, str]:
    return dict(line.split("=", 1) for line in ran.stdout.splitlines() if line.startswith("ASKDOCS_QDRANT__"))


def source_points(data_dir: Path) -> dict[str, Any]:
    with ShardReader(data_dir / "qdrant" / "askdocs") as reader:
        return {point_id_of(r.id, r.payload): r for batch in reader.batches(100) for r in batch}


def passages(
    settings: Settings, embedder: SentenceTransformerEmbedder, index: VectorIndex, mode: RetrievalMode
) -> list[list[str]]:
    """Each handbook question's selected passages (point ids, best first), by the service's own retrieval."""
    pipeline = make_pipeline(settings, embedder, index)
    options = AskOptions(retrieval=mode)
    return [[h.chunk.point_id for h in pipeline.retrieve(q["question"], options).contexts] for q in load_questions()]


@pytest.mark.store  # the service built from the printed settings opens its state store
def test_the_index_moves_to_a_real_node_and_a_service_answers_from_it(
    env: dict[str, str],
    data_dir: Path,
    qdrant_server: QdrantNode,
    qdrant_collection: str,
    client: QdrantClient,
    embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    moved = migrate(env, qdrant_server.url, "--collection", qdrant_collection)
    assert moved.returncode == 0, moved.stderr
    assert "copied 46 points (7 documents)" in moved.stdout and "46 written now, 0 already there" in moved.stdout
    assert "sample questions find the same passages with dense and hybrid retrieval" in moved.stdout
    assert printed_settings(moved) == {
        "ASKDOCS_QDRANT__URL": qdrant_server.url,
        "ASKDOCS_QDRANT__COLLECTION": qdrant_collection,
    }
    live = alias_target(client, qdrant_collection) or ""
    assert live.startswith(f"{qdrant_collection}_") and metadata_of(client, live)[MODEL_KEY] == MODEL

    # Point by point: the same ids, vectors (dense and BM25) and payloads as the embedded shard.
    copied = {str(p.id): p for p in client.scroll(live, limit=100, with_payload=True, with_vectors=True)[0]}
    here = source_points(data_dir)
    assert set(copied) == set(here) and len(copied) == 46
    for point_id, record in here.items():
        there = copied[point_id]
        assert there.payload == record.payload
        assert np.array_equal(np.float32(there.vector["dense"]), np.float32(record.vector["dense"]))
        assert there.vector["sparse"].indices == list(record.vector["sparse"].indices)

    # Question by question: what the service would cite, dense and hybrid, from both indexes.
    for key, value in printed_settings(moved).items():
        monkeypatch.setenv(key, value)
    served = Settings(data_dir=tmp_path / "service", _env_file=None)  # type: ignore[call-arg]
    server = open_index(served)
    embedded = open_index(served.model_copy(update={"data_dir": data_dir, "qdrant": QdrantSettings()}))
    modes: list[RetrievalMode] = ["dense", "hybrid"]
    for mode in modes:
        assert passages(served, embedder, server, mode) == passages(served, embedder, embedded, mode), mode
    server.close()
    embedded.close()

    # The printed settings are all a service needs: it answers from the server (its own data dir is empty).
    container = container_for(served, embedder)
    with TestClient(create_app(container)) as http:
        answer = http.post("/ask", json={"question": "How many vacation days do I get?"}).json()
    container.close()
    assert "25" in answer["answer"] and answer["sources"][0]["url_or_path"].endswith("leave.html")
    assert not (tmp_path / "service" / "qdrant").exists()


def test_a_target_holding_points_is_refused_unless_forced_and_then_kept(
    env: dict[str, str], qdrant_server: QdrantNode, qdrant_collection: str, client: QdrantClient
) -> None:
    earlier = ServerIndex(client, qdrant_collection)  # a collection some service already fills
    earlier.ensure_collection(384)
    source = EdgeIndex(Path(env["ASKDOCS_DATA_DIR"]) / "qdrant" / "askdocs")
    chunk = next(source.iter_chunks(1))
    source.close()
    earlier.upsert(chunk, np.full((1, 384), 384**-0.5, dtype=np.float32))
    before = alias_target(client, qdrant_collection) or ""

    refused = migrate(env, qdrant_server.url, "--collection", qdrant_collection)
    assert refused.returncode == 2
    assert f"collection '{qdrant_collection}' on the Qdrant server {qdrant_server.url} already holds 1 points" in (
        refused.stderr
    )
    assert "Run again with --force to copy beside it" in refused.stderr
    nothing = migrate(env, qdrant_server.url, "--collection", qdrant_collection, "--resume")
    assert nothing.returncode == 2 and "no interrupted migration of" in nothing.stderr
    both = migrate(env, qdrant_server.url, "--collection", qdrant_collection, "--resume", "--force")
    assert both.returncode == 2 and "give --force (start over) or --resume (carry on), not both" in both.stderr
    assert alias_target(client, qdrant_collection) == before and client.count(before).count == 1

    forced = migrate(env, qdrant_server.url, "--collection", qdrant_collection, "--force")
    assert forced.returncode == 0, forced.stderr
    now = alias_target(client, qdrant_collection) or ""
    assert now != before and client.count(now).count == 46
    assert f"(was {before}: kept, `askdocs index restore` switches back)" in forced.stdout
    assert client.count(before).count == 1  # nothing already stored is lost
    back = run(env | printed_settings(forced), "index", "restore")
    assert back.returncode == 0, back.stderr
    assert alias_target(client, qdrant_collection) == before


def test_a_target_of_another_dimension_or_model_is_refused(
    env: dict[str, str], qdrant_server: QdrantNode, qdrant_collection: str, client: QdrantClient
) -> None:
    other_dimension = f"{qdrant_collection}-dim"
    ServerIndex(client, other_dimension).ensure_collection(8)
    refused = migrate(env, qdrant_server.url, "--collection", other_dimension)
    assert refused.returncode == 2
    assert "holds 8-dimensional vectors, the embedded index 384-dimensional ones" in refused.stderr
    assert "choose another name with --collection" in refused.stderr

    other_model = f"{qdrant_collection}-model"
    ServerIndex(client, other_model).ensure_collection(384)
    client.update_collection(alias_target(client, other_model) or "", metadata={MODEL_KEY: "e5-small"})
    refused = migrate(env, qdrant_server.url, "--collection", other_model)
    assert refused.returncode == 2
    assert f"holds vectors of the embedding model 'e5-small', the embedded index those of '{MODEL}'" in refused.stderr
    plain = f"{qdrant_collection}-plain"  # made before askdocs named its collections through an alias
    ServerIndex(client, plain, physical=True).ensure_collection(384)
    refused = migrate(env, qdrant_server.url, "--collection", plain)
    assert refused.returncode == 2 and "is a plain collection, not an alias askdocs can switch" in refused.stderr
    made = [c.name for c in client.get_collections().collections if c.name.startswith(qdrant_collection)]
    assert len(made) == 3  # the three made above, nothing more


def test_an_index_held_by_a_running_service_and_bad_options_are_refused(
    env: dict[str, str], data_dir: Path, qdrant_server: QdrantNode, qdrant_collection: str, client: QdrantClient
) -> None:
    held = EdgeIndex(data_dir / "qdrant" / "askdocs")  # as a running askdocs serve holds it
    assert held.count() == 46
    locked = migrate(env, qdrant_server.url, "--collection", qdrant_collection)
    held.close()
    assert locked.returncode == 2, locked.stderr
    assert "is held by a running askdocs serve or worker" in locked.stderr and "stop it, then run" in locked.stderr
    assert not [c for c in client.get_collections().collections if c.name.startswith(qdrant_collection)]

    not_url = migrate(env, "qdrant:6333")
    assert not_url.returncode == 2 and "--to 'qdrant:6333' is not a URL" in not_url.stderr
    bad_name = migrate(env, qdrant_server.url, "--collection", "hand book")
    assert bad_name.returncode == 2 and "--collection 'hand book'" in bad_name.stderr
    empty = migrate(clean_env(ASKDOCS_DATA_DIR=str(data_dir.parent / "none")), qdrant_server.url)
    assert empty.returncode == 2 and "there is no embedded index at" in empty.stderr


@dataclass
class Proxy:
    """A real HTTP hop in front of the Qdrant node that records the points of each upsert, and can fail one
    (``fail_at``: answered 503, not forwarded) or hold one (``hold_at``: forwarded, its answer held back)."""

    upstream: str
    fail_at: int = 0
    hold_at: int = 0
    upserts: list[list[str]] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        async def forward(path: str, request: Request) -> Response:
            body = await request.body()
            upsert = request.method == "PUT" and path.endswith("/points")
            if upsert:
                self.upserts.append([str(p["id"]) for p in json.loads(body)["points"]])
                if len(self.upserts) == self.fail_at:
                    return Response(b'{"status": {"error": "stand-in failure"}}', 503)
            async with httpx.AsyncClient(base_url=self.upstream) as upstream:
                answer = await upstream.request(
                    request.method, f"/{path}", params=request.query_params, content=body, headers=_json
                )
            if upsert and len(self.upserts) == self.hold_at:
                self.holding.set()
                while not self.release.is_set():
                    await asyncio.sleep(0.02)
            return Response(answer.content, answer.status_code, media_type="application/json")

        return api


_json = {"content-type": "application/json"}


def test_a_copy_that_failed_half_way_is_finished_by_resume(
    env: dict[str, str], data_dir: Path, qdrant_server: QdrantNode, qdrant_collection: str, client: QdrantClient
) -> None:
    proxy = Proxy(qdrant_server.url, fail_at=3)
    with serve(proxy.app()) as url:
        failed = migrate(env, url, "--collection", qdrant_collection, "--batch-size", "10")
        assert failed.returncode == 2
        assert "The copy stopped after 20 of 46 points" in failed.stderr and "with --resume" in failed.stderr
        assert alias_target(client, qdrant_collection) is None  # nothing live
        refused = migrate(env, url, "--collection", qdrant_collection)
        assert refused.returncode == 2
        assert "an interrupted migration left 20 points in collection" in refused.stderr
        assert "run again with --resume to finish it, or with --force to start over" in refused.stderr
        first = proxy.upserts[:2]
        proxy.upserts.clear()
        proxy.fail_at = 0
        resumed = migrate(env, url, "--collection", qdrant_collection, "--batch-size", "10", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "26 written now, 20 already there" in resumed.stdout
    written = [i for batch in proxy.upserts for i in batch]
    assert len(written) == 26 and not set(written) & {i for batch in first for i in batch}
    live = alias_target(client, qdrant_collection) or ""
    stored = [str(p.id) for p in client.scroll(live, limit=100)[0]]
    assert sorted(stored) == sorted(source_points(data_dir))


def test_a_copy_that_differs_from_the_index_is_not_switched_to(
    env: dict[str, str], data_dir: Path, qdrant_server: QdrantNode, qdrant_collection: str, client: QdrantClient
) -> None:
    with serve(Proxy(qdrant_server.url, fail_at=1).app()) as url:  # the collection made, then the copy fails
        assert migrate(env, url, "--collection", qdrant_collection).returncode == 2
    (left,) = [c.name for c in client.get_collections().collections if c.name.startswith(f"{qdrant_collection}_")]
    first_id, first = min(source_points(data_dir).items())  # the first point read: the first sample question's
    wrong = -np.asarray(first.vector["dense"], dtype=np.float32)
    client.upsert(left, [PointStruct(id=first_id, vector={"dense": wrong.tolist()}, payload=first.payload)])
    differs = migrate(env, qdrant_server.url, "--collection", qdrant_collection, "--resume")
    assert differs.returncode == 2
    assert "sample questions find other passages in the copy than in the embedded index with dense" in differs.stderr
    assert "nothing was switched: run again with --force" in differs.stderr
    assert alias_target(client, qdrant_collection) is None

    source = EdgeIndex(data_dir / "qdrant" / "askdocs")
    source.delete_document(first.payload["doc_id"])  # the index changes after the copy began
    source.close()
    changed = migrate(env, qdrant_server.url, "--collection", qdrant_collection, "--resume")
    assert changed.returncode == 2 and "the embedded index changed since the copy began" in changed.stderr
    assert alias_target(client, qdrant_collection) is None
    again = migrate(env, qdrant_server.url, "--collection", qdrant_collection, "--force")
    assert again.returncode == 0, again.stderr
    assert not client.collection_exists(left)  # the unverified copy, never live, replaced by a fresh one


@pytest.mark.slow  # a process killed for real; the same resume after a failed request runs in make check (above)
def test_a_copy_killed_half_way_is_finished_by_resume(
    env: dict[str, str], data_dir: Path, qdrant_server: QdrantNode, qdrant_collection: str, client: QdrantClient
) -> None:
    proxy = Proxy(qdrant_server.url, hold_at=3)  # the third batch written, the process killed before it hears so
    with serve(proxy.app()) as url:
        args = ["index", "migrate", "--to", url, "--collection", qdrant_collection, "--batch-size", "10"]
        process = subprocess.Popen([ASKDOCS, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            until(lambda: proxy.holding.is_set() or process.poll() is not None, "the third batch written")
            assert process.poll() is None, process.communicate()
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            process.kill()
            proxy.release.set()
    left = [c.name for c in client.get_collections().collections if c.name.startswith(f"{qdrant_collection}_")]
    assert len(left) == 1 and client.count(left[0]).count == 30 and alias_target(client, qdrant_collection) is None
    resumed = migrate(env, qdrant_server.url, "--collection", qdrant_collection, "--batch-size", "10", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "16 written now, 30 already there" in resumed.stdout
    assert alias_target(client, qdrant_collection) == left[0] and client.count(left[0]).count == 46


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")  # loopback: http on purpose
def test_a_server_with_an_api_key_takes_it_from_the_option_or_the_setting(
    env: dict[str, str], qdrant_executable: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QDRANT__SERVICE__API_KEY", "k3y")
    http_port, grpc_port = free_ports(2)
    node = QdrantNode(qdrant_executable, tmp_path / "keyed", http_port, grpc_port)
    node.start()
    try:
        node.wait_ready()
        anonymous = migrate(env, node.url)
        assert anonymous.returncode == 2
        assert "refused the request (401 Unauthorized): give its API key with --api-key or" in anonymous.stderr
        given = migrate(env, node.url, "--api-key", "k3y", "--collection", "given")
        assert given.returncode == 0, given.stderr
        assert "ASKDOCS_QDRANT__API_KEY=<the key given with --api-key>" in given.stdout and "k3y" not in given.stdout
        configured = migrate(env | {"ASKDOCS_QDRANT__API_KEY": "k3y"}, node.url, "--collection", "given")
        assert configured.returncode == 2 and "already holds 46 points" in configured.stderr  # let in, and refused
    finally:
        node.kill()


@pytest.mark.slow  # a 3-peer cluster of its own; the copy itself is checked on one node in make check
@pytest.mark.parametrize("asked", [1, 3])
def test_the_index_moves_to_a_real_three_peer_cluster(
    asked: int, env: dict[str, str], qdrant_cluster: list[QdrantNode], embedder: SentenceTransformerEmbedder
) -> None:
    """One shard on all three peers: dense and hybrid find what the embedded index finds. Three shards: dense does,
    and the command warns that hybrid may not (Qdrant's BM25 IDF is per shard). The collection is made by the
    server adapter, with the shards and copies the settings ask for."""
    name = f"handbook{asked}"
    cluster = {"ASKDOCS_QDRANT__SHARD_NUMBER": str(asked), "ASKDOCS_QDRANT__REPLICATION_FACTOR": str(4 - asked)}
    moved = migrate(env | cluster, qdrant_cluster[0].url, "--collection", name)
    assert moved.returncode == 0, moved.stderr
    assert "copied 46 points (7 documents)" in moved.stdout
    settings = Settings(data_dir=Path(env["ASKDOCS_DATA_DIR"]), _env_file=None)  # type: ignore[call-arg]
    embedded = open_index(settings)
    peers = [QdrantSettings(url=node.url, collection=name) for node in qdrant_cluster]
    every_peer = [open_index(settings.model_copy(update={"qdrant": peer})) for peer in peers]
    assert [peer.count() for peer in every_peer] == [46, 46, 46]  # one collection, seen from every peer
    here = passages(settings, embedder, embedded, "dense")
    assert all(passages(settings, embedder, peer, "dense") == here for peer in every_peer)
    client = QdrantClient(url=qdrant_cluster[0].url, check_compatibility=False)
    params = client.get_collection(alias_target(client, name) or "").config.params
    client.close()
    shards = params.shard_number
    assert (shards, params.replication_factor) == (asked, 4 - asked)
    if shards == 1:  # BM25's IDF over the whole index, as embedded
        here = passages(settings, embedder, embedded, "hybrid")
        assert all(passages(settings, embedder, peer, "hybrid") == here for peer in every_peer)
        assert "warning" not in moved.stderr
    else:  # whether hybrid ranks a sample question's passages otherwise depends on which shard each point lands on
        warned = f"the collection has {shards} shards and Qdrant weighs BM25 terms (IDF) per shard" in moved.stderr
        assert ("(hybrid: see the warning)" in moved.stdout) == warned
        assert warned or "dense and hybrid retrieval" in moved.stdout
    for index in [embedded, *every_peer]:
        index.close()


class _Side:
    """One side of a comparison: the passages its retrieval finds, by mode."""

    def __init__(self, dense: list[str], hybrid: list[str]) -> None:
        self.found = {"dense": dense, "hybrid": hybrid}

    def retrieve(self, question: str, mode: RetrievalMode) -> list[Hit]:
        return [Hit(make_chunk(p), 1.0) for p in self.found[mode]]


def test_hybrid_passages_that_differ_on_several_shards_warn_and_elsewhere_refuse() -> None:
    """Qdrant's BM25 weighs terms per shard, so a copy in a collection of several shards may rank hybrid passages
    otherwise: a warning naming the shards. Dense passages that differ, or hybrid ones on one shard, are refused."""
    here, there = _Side(["a", "b"], ["a", "b"]), _Side(["b", "a"], ["a", "c"])  # dense: the same set, reordered
    retriever = cast(Any, lambda side: side.retrieve)
    [warning] = check_sources(cast(Any, here), cast(Any, there), ["q1", "q2"], retriever, shards=3)
    assert warning.startswith("2 of 2 sample questions find other passages in the copy than in the embedded index")
    assert "the collection has 3 shards and Qdrant weighs BM25 terms (IDF) per shard" in warning
    with pytest.raises(VectorIndexError, match=r"with hybrid retrieval .*nothing was switched"):
        check_sources(cast(Any, here), cast(Any, there), ["q1"], retriever, shards=1)
    with pytest.raises(VectorIndexError, match="with dense retrieval"):
        check_sources(cast(Any, here), cast(Any, _Side(["c"], ["a", "b"])), ["q1"], retriever, shards=3)
    assert check_sources(cast(Any, here), cast(Any, here), ["q1"], retriever, shards=3) == []
