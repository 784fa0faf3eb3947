"""Shared fixtures: the real embedding model, the real Qdrant engine, real files. No network but loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.edge import EdgeIndex
from askdocs.runtime import apply_defaults
from askdocs.settings import ChunkingSettings, Settings
from evals.handbook import load_questions
from ingest.pipeline import Ingestor
from ingest.sources import Reader, expand
from tests.netblock import sitecustomize as netblock

apply_defaults()  # no import above loads torch; the subprocesses tests start inherit these too
# Which engine the state store of every test uses: sqlite (default) or postgresql (``make test`` runs both).
ENGINE = os.environ.get("ASKDOCS_TEST_DATABASE", "sqlite")
ROOT = Path(__file__).resolve().parent.parent
HANDBOOK = ROOT / "examples" / "handbook"
FIXTURES = ROOT / "tests" / "fixtures"
BAD = FIXTURES / "bad"

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


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    model = SentenceTransformerEmbedder()
    model.warm_up()
    return model


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A real PostgreSQL 16 server for the session (the ``pgserver`` wheel; no root, no set-up). Its data lives
    outside pytest's temporary folders, which a concurrent pytest run may prune."""
    import shutil
    import tempfile

    import pgserver

    folder = tempfile.mkdtemp(prefix="askdocs-test-postgres-")
    server = pgserver.get_server(folder, cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server_uri: str) -> str:
    """A new, empty database on the server, as a SQLAlchemy URL."""
    import uuid

    import sqlalchemy as sa

    url = sa.make_url(server_uri).set(drivername="postgresql+psycopg")
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as db:
        db.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def store_url(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if engine == "postgresql":
        return fresh_database(request.getfixturevalue("postgres"))
    return f"sqlite:///{tmp_path / 'store' / 'askdocs.sqlite'}"


@pytest.fixture(autouse=True)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test's own state store, on the engine of this run (ASKDOCS_TEST_DATABASE), seen by Settings and by
    the subprocesses tests start."""
    url = store_url(ENGINE, request, tmp_path)
    monkeypatch.setenv("ASKDOCS_DATABASE__URL", url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """For the store's own tests: each runs on both engines, whatever the run's engine."""
    return store_url(str(request.param), request, tmp_path)


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
