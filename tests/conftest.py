"""Shared fixtures: the real embedding model, the real Qdrant engine, real files. No network but loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.edge import EdgeIndex
from askdocs.runtime import apply_defaults
from askdocs.settings import ChunkingSettings, Settings
from evals.handbook import load_questions
from ingest.pipeline import Ingestor
from ingest.sources import Reader, expand
from tests.databases import TestDatabases
from tests.netblock import sitecustomize as netblock
from tests.qdrant import QdrantNode, QdrantUnavailable, cache_dir, qdrant_binary, start_cluster, start_node

apply_defaults()  # no import above loads torch; the subprocesses tests start inherit these too
# Which engine the state store of every test uses: sqlite (default) or postgresql (``make test`` runs both).
ENGINE = os.environ.get("ASKDOCS_TEST_DATABASE", "sqlite")
PG_REPORT: dict[str, Any] = {}  # what the PostgreSQL pass created and left, for the summary
ROOT = Path(__file__).resolve().parent.parent
HANDBOOK = ROOT / "examples" / "handbook"
FIXTURES = ROOT / "tests" / "fixtures"
BAD = FIXTURES / "bad"
ULTA_PDF = FIXTURES / "financebench" / "pdfs" / "ULTABEAUTY_2023Q4_EARNINGS.pdf"  # a real filing (its NOTICE.md)

NETBLOCK = ROOT / "tests" / "netblock"


@pytest.fixture(autouse=True, scope="session")
def _block_network() -> Iterator[None]:
    """Loopback only, here and in every Python subprocess (they import tests/netblock/sitecustomize.py)."""
    paths = [str(NETBLOCK), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(paths))
        netblock.block()
        yield
        netblock.unblock()


@pytest.fixture(autouse=True, scope="session")
def _one_query_export() -> Iterator[None]:
    """Every data dir the tests make, here and in subprocesses, shares one ONNX export of the query model, kept
    between runs (settings ``embedding.cache_dir``): not an export of ~2 s and ~90 MB per data dir."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASKDOCS_EMBEDDING__CACHE_DIR", str(cache_dir() / "models"))
        yield


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    model = SentenceTransformerEmbedder(cache_dir=cache_dir() / "models")  # the ONNX query export, kept between runs
    model.warm_up()
    return model


@pytest.fixture(scope="session")
def qdrant_executable() -> Path:
    """The pinned Qdrant binary (tests/qdrant.py). Without it the tests that need a server skip, saying why; with
    ASKDOCS_TEST_REQUIRE_QDRANT set (CI sets it) they fail instead."""
    try:
        return qdrant_binary()
    except QdrantUnavailable as exc:
        missing(str(exc), "ASKDOCS_TEST_REQUIRE_QDRANT")


def missing(reason: str, required_by: str) -> NoReturn:
    """Skip, saying why, for want of something the tests need from the machine; fail instead where the environment
    variable ``required_by`` is set (CI sets it where the thing must be there)."""
    if os.environ.get(required_by):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def qdrant_server(qdrant_executable: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[QdrantNode]:
    """One real Qdrant node for the session, on free loopback ports; tests keep apart by collection name
    (``qdrant_collection``)."""
    node = start_node(qdrant_executable, tmp_path_factory.mktemp("qdrant-node"))
    yield node
    node.stop()


@pytest.fixture
def qdrant_collection(qdrant_server: QdrantNode) -> Iterator[str]:
    """A collection name of this test's own on the session's node, and its collection (and aliases) gone after."""
    import uuid

    from qdrant_client import QdrantClient, models

    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    client = QdrantClient(url=qdrant_server.url, timeout=30, check_compatibility=False)
    mine = [a.alias_name for a in client.get_aliases().aliases if a.alias_name.startswith(name)]
    if mine:
        drop = [models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=a)) for a in mine]
        client.update_collection_aliases(change_aliases_operations=drop)
    for collection in client.get_collections().collections:
        if collection.name.startswith(name):
            client.delete_collection(collection.name)
    client.close()


@pytest.fixture(scope="module")
def qdrant_cluster(qdrant_executable: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[QdrantNode]]:
    """Three real Qdrant peers on loopback (a module's own: its tests kill and restart them)."""
    nodes = start_cluster(qdrant_executable, tmp_path_factory.mktemp("qdrant-cluster"), size=3)
    yield nodes
    for node in nodes:
        node.kill()


@pytest.fixture(scope="session")
def postgres() -> Iterator[TestDatabases]:
    """A real PostgreSQL 16 server for the session (the ``pgserver`` wheel; no root, no set-up), and the tests'
    databases on it. Its data lives outside pytest's temporary folders, which a concurrent pytest run may prune."""
    import shutil
    import tempfile

    import pgserver

    folder = tempfile.mkdtemp(prefix="askdocs-test-postgres-")
    server = pgserver.get_server(folder, cleanup_mode="stop")
    databases = TestDatabases(server.get_uri())
    try:
        yield databases
        PG_REPORT.update(created=databases.created, left=databases.leftovers())
    finally:
        databases.close()
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    assert not PG_REPORT["left"], f"test databases left on the server: {PG_REPORT['left']}"


@contextmanager
def store_url(request: pytest.FixtureRequest, folder: Path, *, empty: bool = False) -> Iterator[str]:
    """A state store on this run's engine: a SQLite file in ``folder``, or a database on the session's server
    (migrated, or ``empty``) dropped afterwards."""
    if ENGINE != "postgresql":
        yield f"sqlite:///{folder / 'store' / 'askdocs.sqlite'}"
        return
    databases: TestDatabases = request.getfixturevalue("postgres")
    url = databases.empty() if empty else databases.migrated()
    try:
        yield url
    finally:
        databases.drop(url)


@pytest.fixture(autouse=True)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every test's own state store, on the engine of this run (ASKDOCS_TEST_DATABASE), seen by Settings and by
    the subprocesses tests start. On SQLite (where no test is left out), a test that opened it must be marked
    ``store``, so that the PostgreSQL pass runs it too."""
    with store_url(request, tmp_path) as url:
        monkeypatch.setenv("ASKDOCS_DATABASE__URL", url)
        yield url
    if (tmp_path / "store" / "askdocs.sqlite").exists() and not request.node.get_closest_marker("store"):
        pytest.fail(f"{request.node.nodeid} opened the state store: mark it @pytest.mark.store", pytrace=False)


@pytest.fixture
def empty_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """For the store's own tests (migrations among them): an empty database on this run's engine, beside the
    test's ``database_url``."""
    with store_url(request, tmp_path / "empty", empty=True) as url:
        yield url


@pytest.fixture(scope="module")
def module_store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A state store for a module's shared service (see tests/app/conftest.py ``client``)."""
    with store_url(request, tmp_path_factory.mktemp("module-store")) as url:
        yield url


STORE_FIXTURES = {"postgres", "empty_store_url", "module_store_url"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that takes a store fixture is a store test: say so where it is written, or the PostgreSQL pass
    would leave it out."""
    unmarked = [
        f"{item.nodeid} (uses {', '.join(sorted(uses))})"
        for item in items
        if (uses := STORE_FIXTURES & set(getattr(item, "fixturenames", ()))) and not item.get_closest_marker("store")
    ]
    if unmarked:
        raise pytest.UsageError("mark these @pytest.mark.store:\n  " + "\n  ".join(unmarked))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if PG_REPORT:
        left = PG_REPORT["left"]
        terminalreporter.write_line(
            f"PostgreSQL: {PG_REPORT['created']} test databases created from the migrated template or empty, "
            f"{len(left)} left on the server at the end{': ' + ', '.join(left) if left else ''}"
        )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


def make_ingestor(
    embedder: SentenceTransformerEmbedder,
    index: Any,
    chunker: str = "structural",
    size: int = 200,
    overlap: int = 40,
) -> Ingestor:
    return Ingestor(embedder, index, ChunkingSettings(chunker=chunker, chunk_size=size, chunk_overlap=overlap))


def ingest_paths(ingestor: Ingestor, *paths: Path) -> Any:
    refs, missing = expand([str(p) for p in paths])
    assert not missing
    return ingestor.run(refs, Reader(50 * 2**20, 5.0, "askdocs-test"))


@pytest.fixture(scope="session")
def handbook_dir(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Path:
    """A data dir holding the ingested sample handbook (built once, opened per test)."""
    data_dir = tmp_path_factory.mktemp("handbook-data")
    index = EdgeIndex(data_dir / "qdrant" / "askdocs")
    report = ingest_paths(make_ingestor(embedder, index), HANDBOOK)
    index.close()
    assert not report.failed, report.failed
    return data_dir


@pytest.fixture(scope="session")
def handbook_questions() -> list[dict[str, Any]]:
    return load_questions()


def handbook_pairs(handbook_dir: Path, questions: list[dict[str, Any]]) -> list[Any]:
    """(question, passage) for each handbook question: the stored chunk of its page that holds its answer."""
    from finetune.embeddings import Pair

    index = EdgeIndex(handbook_dir / "qdrant" / "askdocs")
    chunks = [c for batch in index.iter_chunks() for c in batch]
    index.close()
    pairs = []
    for q in questions:
        found = [c for c in chunks if c.source.endswith(q["source"]) and q["answer_contains"] in c.text]
        if found:
            pairs.append(Pair(q["question"], found[0].embed_text))
    return pairs


@pytest.fixture(scope="session")
def finetuned_model(
    tmp_path_factory: pytest.TempPathFactory, handbook_dir: Path, handbook_questions: list[dict[str, Any]]
) -> Path:
    """The default model fine-tuned for real, one epoch on the handbook's questions (a few dozen pairs)."""
    from askdocs.embedding import default_model_path
    from finetune.embeddings import TrainPlan, train_embeddings

    out = tmp_path_factory.mktemp("finetuned") / "handbook-minilm"
    pairs = handbook_pairs(handbook_dir, handbook_questions)
    train_embeddings(default_model_path(), pairs, out, TrainPlan(epochs=1, batch_size=16, progress=False))
    return out
