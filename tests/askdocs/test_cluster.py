"""askdocs on a real 3-peer Qdrant cluster (tests/qdrant.py), 3 shards with 2 copies each, while peers are killed
(SIGKILL) and restarted: questions keep their answers, an ingest under way loses and doubles nothing, a restarted
peer catches up, a re-embed cut off by a dead peer leaves the live alias alone.

The corpus: the sample handbook (the questions' answers) and generated maintenance manuals (a few hundred chunks
over all shards, on topics no handbook question is about). Slow (a cluster, a few hundred chunks embedded a few
times): ``make test`` runs it; test_index.py, test_reembed.py and app/test_qdrant_recovery.py run the same code on
one node in ``make check``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from qdrant_client import QdrantClient

from app.container import Container
from app.main import create_app
from askdocs.components import make_pipeline, open_checked_index
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import ConfigError, VectorIndexError
from askdocs.index.aliases import alias_target
from askdocs.index.factory import open_index
from askdocs.index.reembed import reembed_server
from askdocs.models import DocumentStatus
from askdocs.settings import ChunkingSettings, Settings
from ingest.pipeline import Ingestor
from tests.conftest import HANDBOOK, ingest_paths
from tests.qdrant import QdrantNode, peers
from tests.waiting import until

pytestmark = pytest.mark.slow
COLLECTION = "cluster_handbook"
STRICT = "cluster_strict"  # every write acknowledged by both copies of its shard
LAYOUT = {"shard_number": 3, "replication_factor": 2, "write_consistency_factor": 1}
PARTS = ["valve", "pump", "gasket", "bearing", "impeller", "rotor", "seal", "flange", "sensor", "coupling", "filter"]


def ingestor(embedder: SentenceTransformerEmbedder, index: Any, window: int = 256) -> Ingestor:
    """askdocs's ingest, in small chunks (48 tokens): a few hundred of them, quick to embed."""
    return Ingestor(embedder, index, ChunkingSettings(chunk_size=48, chunk_overlap=8), window=window)


def settings_for(node: QdrantNode, tmp: Path, **qdrant: Any) -> Settings:
    """Dense retrieval: a passage's score is its cosine alone, the same in every copy and collection of the same
    points. Hybrid adds BM25, whose statistics Qdrant keeps with each shard's storage: after a re-embed or a
    peer's catch-up, passages of near-equal fused score at the tail of a question's sources were seen to trade
    places (in 3 of 4 runs of the whole suite, a 4th or 5th source). The hybrid search on a cluster is checked
    by test_migrate.py's three-peer move."""
    qdrant = {"url": node.url, "collection": COLLECTION, "timeout_s": 30} | LAYOUT | qdrant
    retrieval = {"mode": "dense"}
    return Settings(data_dir=tmp, qdrant=qdrant, retrieval=retrieval, _env_file=None)  # type: ignore[call-arg]


def write_manuals(folder: Path, first: int, count: int) -> Path:
    """``count`` generated maintenance manuals of five short procedures each: a chunk each, short to embed."""
    folder.mkdir(parents=True)
    for i in range(first, first + count):
        lines = [f"# Maintenance manual {i}: pumping station {i % 7}", ""]
        for p in range(5):
            part, other = PARTS[(i + p) % len(PARTS)], PARTS[(i * 3 + p) % len(PARTS)]
            lines += [
                f"## Procedure {i}.{p}",
                "",
                f"Inspect the {part} on line {i}-{p} and log a pressure of {(i * 7 + p * 3) % 90 + 10} bar "
                f"before the {other} is reset.",
                "",
            ]
        (folder / f"manual-{i:03d}.md").write_text("\n".join(lines))
    return folder


@pytest.fixture(scope="module")
def cluster(qdrant_cluster: list[QdrantNode]) -> list[QdrantNode]:
    return qdrant_cluster


@pytest.fixture(scope="module")
def ingested(
    cluster: list[QdrantNode], embedder: SentenceTransformerEmbedder, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, Path]:
    """The handbook and 60 manuals (some 360 chunks) in the cluster, through askdocs's ingest, every peer up; the
    settings, and the manuals' folder."""
    tmp = tmp_path_factory.mktemp("cluster")
    settings, manuals = settings_for(cluster[0], tmp), write_manuals(tmp / "manuals", 0, 60)
    index = open_index(settings)
    report = ingest_paths(ingestor(embedder, index), HANDBOOK, manuals)
    index.close()
    strict = open_index(settings_for(cluster[0], tmp, collection=STRICT, write_consistency_factor=2))
    strict.ensure_collection(embedder.dimension)  # made while every peer is up
    strict.close()
    assert not report.failed and report.chunks > 256, report.failed  # more than one re-embed batch
    return settings, manuals


@pytest.fixture(autouse=True)
def every_peer_up(cluster: list[QdrantNode]) -> None:
    """Each test starts with the three peers running and every replica active (a failed one may have left one
    down)."""
    bring_up(cluster)


def bring_up(cluster: list[QdrantNode]) -> None:
    """Start the peers that are down; wait until all count three peers and every replica is active again."""
    for node in cluster:
        if node.process is None or node.process.poll() is not None:
            node.start()
            node.wait_ready()
    until(lambda: all(peers(node) == 3 for node in cluster), "three peers")
    for name in collections(cluster[0]):
        until(lambda name=name: replicas(cluster[0], name) == {"Active"}, f"every replica of {name} active", 120)


def collections(node: QdrantNode) -> list[str]:
    return [c["name"] for c in httpx.get(f"{node.url}/collections", timeout=10).json()["result"]["collections"]]


def shard_states(node: QdrantNode, collection: str) -> list[tuple[int, int, str]]:
    """(shard, peer, state) of every replica of ``collection``, as ``node`` sees the cluster."""
    info = httpx.get(f"{node.url}/collections/{collection}/cluster", timeout=10).json()["result"]
    local = [(s["shard_id"], info["peer_id"], s["state"]) for s in info["local_shards"]]
    return sorted(local + [(s["shard_id"], s["peer_id"], s["state"]) for s in info["remote_shards"]])


def replicas(node: QdrantNode, collection: str) -> set[str]:
    return {state for _, _, state in shard_states(node, collection)}


def local_counts(node: QdrantNode, collection: str) -> dict[int, int]:
    """Points in each shard replica ``node`` holds."""
    info = httpx.get(f"{node.url}/collections/{collection}/cluster", timeout=10).json()["result"]
    return {s["shard_id"]: s["points_count"] for s in info["local_shards"]}


@pytest.fixture(scope="module")
def questions(handbook_questions: list[dict[str, Any]]) -> list[str]:
    return [q["question"] for q in handbook_questions[::4]]  # one in four: every handbook page


@contextmanager
def service(settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    """The HTTP app answering from the index as ``askdocs serve`` opens it (no state store: it plays no part here,
    and this module is not run a second time on PostgreSQL for it)."""
    index = open_checked_index(settings, embedder, tolerate_unreachable=True)
    container = Container(settings, embedder, index, make_pipeline(settings, embedder, index))
    with TestClient(create_app(container)) as http:
        yield http
    container.close()


def answers(http: TestClient, questions: list[str]) -> dict[str, list[str]]:
    """Each question's sources, sorted (passages of equal score may come back in either order); every answer a
    200."""
    found = {}
    for question in questions:
        response = http.post("/ask", json={"question": question})
        assert response.status_code == 200, response.text
        found[question] = sorted(s["url_or_path"] for s in response.json()["sources"])
    assert any(found.values())
    return found


class KillAfter:
    """The index the ingest writes to, which kills a peer once ``at`` writes are done and calls ``meanwhile``
    after every later write."""

    def __init__(self, index: Any, at: int, kill: Callable[[], None], meanwhile: Callable[[], None]) -> None:
        self._index, self.at, self._kill, self._meanwhile, self.writes = index, at, kill, meanwhile, 0

    def upsert(self, *args: Any, **kwargs: Any) -> None:
        self._index.upsert(*args, **kwargs)
        self.writes += 1
        if self.writes == self.at:
            self._kill()
        elif self.writes > self.at:
            self._meanwhile()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)


def stored_documents(client: QdrantClient, collection: str) -> dict[str, list[tuple[str, int, str, int]]]:
    """doc id -> (point id, chunk index, version, chunk count) of each of its points, as stored."""
    fields = ["doc_id", "chunk_index", "content_hash", "chunk_count"]
    found: dict[str, list[tuple[str, int, str, int]]] = {}
    offset: Any = None
    while True:
        records, offset = client.scroll(collection, limit=1000, offset=offset, with_payload=fields)
        for r in records:
            p = r.payload or {}
            found.setdefault(p["doc_id"], []).append((str(r.id), p["chunk_index"], p["content_hash"], p["chunk_count"]))
        if offset is None:
            return found


def assert_whole(documents: dict[str, list[tuple[str, int, str, int]]]) -> None:
    """Each document: one version, its chunks 0..n-1 each once, under distinct point ids."""
    for doc, points in documents.items():
        assert len({version for _, _, version, _ in points}) == 1, doc
        assert len({point for point, _, _, _ in points}) == len(points), doc
        assert sorted(index for _, index, _, _ in points) == list(range(points[0][3])), doc


def test_a_killed_peer_costs_no_answer_and_no_write_and_catches_up_when_back(
    cluster: list[QdrantNode],
    ingested: tuple[Settings, Path],
    embedder: SentenceTransformerEmbedder,
    questions: list[str],
    tmp_path: Path,
) -> None:
    (settings, manuals), (entry, _, victim) = ingested, cluster
    after = ingest_while_a_peer_dies(settings, manuals, embedder, questions, victim, tmp_path)
    made_meanwhile = open_index(settings_for(entry, tmp_path, collection=f"{COLLECTION}_made_meanwhile", timeout_s=10))
    made_meanwhile.ensure_collection(8)  # Qdrant answers after its 10 s wait for the dead peer: a retry finds it made
    assert replicas(entry, f"{COLLECTION}_made_meanwhile_initial") != {"Active"}
    made_meanwhile.close()
    strict = open_index(settings_for(entry, tmp_path, collection=STRICT))
    [refused] = ingest_paths(ingestor(embedder, strict), write_manuals(tmp_path / "strict", 200, 1)).outcomes
    strict.close()  # its completeness check reads every copy (write consistency factor 2): not while one is down
    assert refused.status is DocumentStatus.FAILED and "Unexpected Response: 500" in refused.error, refused

    victim.start()  # the same storage and ports
    victim.wait_ready()
    assert peers(victim) == 3
    for name in (COLLECTION, f"{COLLECTION}_made_meanwhile_initial"):
        until(lambda name=name: replicas(entry, name) == {"Active"}, f"the restarted peer's {name}", 120)
        assert_copies_agree(cluster, name)
    with service(settings_for(victim, tmp_path), embedder) as http:  # the restarted peer answers alike
        assert answers(http, questions) == after


def test_a_write_refused_for_want_of_copies_is_written_again_by_the_next_run(
    cluster: list[QdrantNode], ingested: tuple[Settings, Path], embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    """Write consistency factor 2: a peer killed between the ingest's check and its write, which Qdrant refuses
    (500) but keeps on the copies that took it, without marking the others out of date. Once the peer is back, the
    next run finds the version incomplete on some copy, and writes it again: every copy agrees."""
    entry, _, victim = cluster
    strict = open_index(settings_for(entry, tmp_path, collection=STRICT))
    note = write_manuals(tmp_path / "note", 300, 3)
    cut = KillAfter(strict, 0, lambda: None, lambda: None)
    cut.upsert = lambda *args, **kwargs: (victim.kill(), strict.upsert(*args, **kwargs))  # type: ignore[method-assign]
    with pytest.raises(VectorIndexError, match=r"Qdrant server \S+ failed: Unexpected Response: 500"):
        ingest_paths(ingestor(embedder, cut), note)
    bring_up(cluster)
    again = ingest_paths(ingestor(embedder, strict), note)
    strict.close()
    # Points go to shards by id: a manual whose chunks all sit on the shard the dead peer holds no copy of was
    # written whole (both copies) and is rightly left alone; the others are written again.
    assert not again.failed and again.count(DocumentStatus.UPDATED) >= 1, again.outcomes
    assert again.count(DocumentStatus.UPDATED) + again.count(DocumentStatus.UNCHANGED) == 3, again.outcomes
    assert_copies_agree(cluster, f"{STRICT}_initial")
    client = QdrantClient(url=entry.url, timeout=30, check_compatibility=False)
    assert_whole(stored_documents(client, STRICT))
    client.close()


def ingest_while_a_peer_dies(
    settings: Settings,
    manuals: Path,
    embedder: SentenceTransformerEmbedder,
    questions: list[str],
    victim: QdrantNode,
    tmp_path: Path,
) -> dict[str, list[str]]:
    """5 manuals changed (new points, then the old ones deleted) and 20 new ones, 8 chunks a write; ``victim``
    killed after the second write: the questions asked just before and just after the kill (the same points stored)
    find the same sources, and every question asked after each later write is answered. The answers at the end,
    the peer still dead.

    Answers are compared only over the same stored points: new documents change BM25's term weights (per shard),
    which may reorder a question's last sources whatever the peers do."""
    for changed in sorted(manuals.iterdir())[:5]:
        changed.write_text(changed.read_text() + "\n## Addendum\n\nThe flange torque is now 40 Nm.\n")
    around_kill: list[dict[str, list[str]]] = []
    asked: list[dict[str, list[str]]] = []
    with service(settings, embedder) as http:

        def kill() -> None:
            around_kill.append(answers(http, questions))
            victim.kill()
            around_kill.append(answers(http, questions))

        index = open_index(settings)
        writer = KillAfter(index, 2, kill, lambda: asked.append(answers(http, questions[len(asked) % 3 :][:3])))
        report = ingest_paths(ingestor(embedder, writer, window=8), manuals, write_manuals(tmp_path / "more", 100, 20))
        index.close()
        after = answers(http, questions)
    assert victim.process is not None and victim.process.poll() is not None and len(asked) >= 5
    assert len(around_kill) == 2 and around_kill[0] == around_kill[1]  # the peer's death changed no answer
    assert not report.failed
    assert (report.count(DocumentStatus.UPDATED), report.count(DocumentStatus.NEW)) == (5, 20)
    client = QdrantClient(url=settings.qdrant.url or "", timeout=30, check_compatibility=False)
    stored = stored_documents(client, COLLECTION)
    assert_whole(stored)  # the changed manuals too: their old version deleted
    assert all(len(stored[o.doc_id]) == o.chunks for o in report.outcomes if o.chunks)  # as the ingest reported
    assert client.count(COLLECTION, exact=True).count == sum(len(p) for p in stored.values())
    client.close()
    return after


def assert_copies_agree(cluster: list[QdrantNode], collection: str) -> None:
    """Each shard has its two copies, holding as many points each."""
    holders: dict[int, list[int]] = {}
    for node in cluster:
        for shard, points in local_counts(node, collection).items():
            holders.setdefault(shard, []).append(points)
    assert len(holders) == 3 and all(len(c) == 2 and c[0] == c[1] for c in holders.values()), (collection, holders)


def test_more_copies_than_peers_are_refused_naming_the_peer_count(cluster: list[QdrantNode], tmp_path: Path) -> None:
    index = open_index(settings_for(cluster[0], tmp_path, collection="cluster_four_copies", replication_factor=4))
    with pytest.raises(ConfigError, match=r"REPLICATION_FACTOR=4 needs 4 Qdrant peers.* has 3 peers: nothing was"):
        index.ensure_collection(8)
    assert not [c for c in collections(cluster[0]) if c.startswith("cluster_four_copies")]
    index.close()


def layout_of(client: QdrantClient, collection: str) -> tuple[int, int, int]:
    params = client.get_collection(collection).config.params
    return params.shard_number, params.replication_factor or 0, params.write_consistency_factor or 0


def test_a_reembed_outlives_a_dead_peer_and_one_cut_off_leaves_the_live_alias_answering(
    cluster: list[QdrantNode],
    ingested: tuple[Settings, Path],
    embedder: SentenceTransformerEmbedder,
    questions: list[str],
    tmp_path: Path,
) -> None:
    """Re-embedded (with the same model: the answers must not change) through the first peer. A peer killed after
    the first batch: it completes. Then the first peer itself killed after the first batch: it fails, the alias
    stays, the service answers through another peer; once the peer is back, a second re-embed succeeds."""
    entry, other, victim = cluster
    client = QdrantClient(url=entry.url, timeout=30, check_compatibility=False)
    live, chunks = alias_target(client, COLLECTION), client.count(COLLECTION, exact=True).count
    asked: list[dict[str, list[str]]] = []
    with service(settings_for(other, tmp_path), embedder) as http:
        before = answers(http, questions)

        def kill_then_ask(n: int, total: int) -> None:
            victim.kill()
            asked.append(answers(http, questions[:3]))

        done = reembed_server(client, COLLECTION, embedder.model_id, embedder, kill_then_ask)
        assert len(asked) >= 2 and all(a == {q: before[q] for q in a} for a in asked)
        assert (done.previous, done.chunks) == (live, chunks) and alias_target(client, COLLECTION) == done.live
        assert layout_of(client, done.live) == (3, 2, 1)  # laid out as the collection it replaced
        assert answers(http, questions) == before
        bring_up(cluster)

        with pytest.raises(VectorIndexError) as cut_off:
            reembed_server(client, COLLECTION, embedder.model_id, embedder, lambda n, total: entry.kill())
        left = re.search(rf"The unfinished collection '({COLLECTION}_\w+)' is left on the server", str(cut_off.value))
        assert left, cut_off.value
        assert answers(http, questions) == before  # from the live alias, through another peer
        bring_up(cluster)
        assert alias_target(client, COLLECTION) == done.live
        assert client.count(left[1], exact=True).count == 256  # the first batch, as written; nothing refers to it
        again = reembed_server(client, COLLECTION, embedder.model_id, embedder)
        assert again.chunks == chunks and alias_target(client, COLLECTION) == again.live
        assert answers(http, questions) == before
    client.close()
