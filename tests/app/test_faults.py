"""Faults: the index unreachable, the state store down, a damaged or locked embedded index at start-up."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import IndexLockedError, VectorIndexError
from askdocs.index.edge import EdgeIndex
from askdocs.settings import Settings
from askdocs.store.engine import make_engine
from askdocs.store.sqllog import BackgroundLog, SqlInteractionLog
from tests.app.conftest import container_for
from tests.servers import free_port


@pytest.mark.store
def test_an_unreachable_qdrant_server_is_a_503_not_a_crash(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = Settings(data_dir=tmp_path, qdrant={"url": url, "timeout_s": 2}, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings=settings)) as client:  # the service starts all the same
        ready = client.get("/ready")
        assert ready.status_code == 503 and f"Qdrant server {url} failed" in ready.json()["reason"]
        asked = client.post("/ask", json={"question": "How many vacation days do I get?"})
        assert asked.status_code == 503 and asked.json()["detail"].startswith("the index is unavailable: ")
        assert client.get("/health").status_code == 200


@pytest.mark.store
def test_a_store_that_is_down_costs_the_log_entry_not_the_answer(
    handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    settings = Settings(data_dir=handbook_dir, admin_token="s3cret", _env_file=None)  # type: ignore[call-arg]
    container = container_for(settings, embedder)
    assert container.interactions is not None
    container.interactions.close()
    down = make_engine("postgresql+psycopg://askdocs@127.0.0.1:9/nowhere?connect_timeout=2")
    container.interactions = BackgroundLog(SqlInteractionLog(down))
    with TestClient(create_app(container)) as client:
        asked = client.post("/ask", json={"question": "How many vacation days do I get?"})
        assert asked.status_code == 200 and "25" in asked.json()["answer"]
        container.interactions.flush(30)
        assert container.interactions.failures == 1
        metrics = client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).text
        assert "askdocs_log_failures 1.0" in metrics
    container.close()


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        ("edge_config.json", r"is damaged \(edge_config.json cannot be read"),
        ("segment.json", "failed to load segment"),
    ],
)
@pytest.mark.store
def test_a_damaged_embedded_index_is_a_clear_start_up_error_and_nothing_is_deleted(
    handbook_dir: Path, tmp_path: Path, damage: str, said: str
) -> None:
    data_dir = tmp_path / "copy"
    shutil.copytree(handbook_dir / "qdrant", data_dir / "qdrant")
    shard = data_dir / "qdrant" / "askdocs"
    target = shard / damage if damage == "edge_config.json" else next(shard.glob("segments/*/segment.json"))
    target.write_text("{not json")
    before = snapshot(shard)
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(VectorIndexError, match=said) as raised, TestClient(create_app(settings=settings)):
        pass
    assert "nothing was changed" in str(raised.value) or "left as they are" in str(raised.value)
    assert snapshot(shard) == before


@pytest.mark.store
def test_a_locked_embedded_index_says_who_holds_it(handbook_dir: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "copy"
    shutil.copytree(handbook_dir / "qdrant", data_dir / "qdrant")
    holder = EdgeIndex(data_dir / "qdrant" / "askdocs")
    assert holder.count() > 0  # this process holds the shard now
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    try:
        with (
            pytest.raises(IndexLockedError, match="in use by another askdocs process"),
            TestClient(create_app(settings=settings)),
        ):
            pass
    finally:
        holder.close()
