"""The service on a real Qdrant server that is not there yet, comes, dies (SIGKILL) and comes back on the same
storage: 503 with a clear reason while it is away, answers again by itself once it is back, never restarted."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.factory import open_index
from askdocs.settings import Settings
from tests.app.conftest import container_for
from tests.conftest import ingest_paths, make_ingestor
from tests.qdrant import QdrantNode, free_ports

QUESTION = {"question": "How much is a hotel night in Paris reimbursed?"}
TRAVEL = "# Travel policy\n\nHotel stays in Paris are reimbursed up to 180 euros per night.\n"


@pytest.mark.store
def test_the_service_answers_503_while_qdrant_is_away_and_again_once_it_is_back(
    tmp_path: Path,
    embedder: SentenceTransformerEmbedder,
    qdrant_executable: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    node = QdrantNode(qdrant_executable, tmp_path / "qdrant", *free_ports(2))  # its address, nothing listening yet
    parts = {"qdrant": {"url": node.url, "timeout_s": 2}, "worker": {"in_service": False}}
    settings = Settings(data_dir=tmp_path, **parts, _env_file=None)  # type: ignore[call-arg]
    (tmp_path / "travel.md").write_text(TRAVEL)
    container = container_for(settings, embedder)  # starts although Qdrant does not answer
    try:
        with TestClient(create_app(container)) as http:
            assert_away(http, node)
            node.start()
            node.wait_ready()
            assert http.get("/ready").json()["points"] == 0  # up, and nothing ingested yet
            writer = open_index(settings)  # a worker beside the service
            assert not ingest_paths(make_ingestor(embedder, writer), tmp_path / "travel.md").failed
            writer.close()
            first = http.post("/ask", json=QUESTION)
            assert first.status_code == 200 and "180 euros" in first.json()["answer"], first.text
            points = http.get("/ready").json()["points"]

            node.kill()
            caplog.clear()
            assert_away(http, node)
            assert any("index error: Qdrant server" in r.getMessage() for r in caplog.records)  # logged, one line
            assert not [r for r in caplog.records if r.exc_info], "a trace was logged for an unreachable server"

            node.start()  # the same storage and ports
            node.wait_ready()
            back = http.post("/ask", json=QUESTION)
            assert back.status_code == 200, back.text
            assert back.json()["sources"] == first.json()["sources"] and back.json()["answer"] == first.json()["answer"]
            assert http.get("/ready").json()["points"] == points
    finally:
        container.close()
        node.kill()


def assert_away(http: TestClient, node: QdrantNode) -> None:
    """503 on /ask and /ready, naming the server and what happened, without a trace."""
    down = http.post("/ask", json=QUESTION)
    assert down.status_code == 503, down.text
    detail = down.json()["detail"]
    assert detail.startswith(f"the index is unavailable: Qdrant server {node.url} failed: "), detail
    assert "Connection refused" in detail and "Traceback" not in down.text
    ready = http.get("/ready")
    assert ready.status_code == 503 and ready.json()["reason"].startswith(f"Qdrant server {node.url} failed")
