"""An unreachable Qdrant server: the service recovers by itself once a server answers on its address again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from qdrant_client import QdrantClient

from app.container import Container
from app.main import create_app
from askdocs.components import make_pipeline
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.points import DENSE, payload_of
from askdocs.index.server import ServerIndex
from askdocs.settings import Settings
from tests.chunks import make_chunk
from tests.servers import free_port, serve


def _qdrant_stand_in(points: int, found: list[dict[str, Any]] | None = None) -> FastAPI:
    """The calls /ready and /ask make, answered as a Qdrant server does (REST): a collection of ``points`` whose
    searches all find ``found`` (scored points with payload and dense vector)."""
    api = FastAPI()

    @api.get("/collections/{name}")
    def info(name: str) -> dict[str, Any]:  # the fields qdrant-client requires; no model recorded in metadata
        config = {
            "params": {},
            "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000},
            "optimizer_config": {"default_segment_number": 0, "flush_interval_sec": 5},
        }
        result = {"status": "green", "optimizer_status": "ok", "segments_count": 1, "config": config}
        return {"result": result | {"payload_schema": {}}, "status": "ok", "time": 0.0}

    @api.post("/collections/{name}/points/query/batch")
    def query_batch(name: str, body: dict[str, Any]) -> dict[str, Any]:
        answers = [{"points": found or []} for _ in body["searches"]]
        return {"result": answers, "status": "ok", "time": 0.0}

    @api.get("/collections/{name}/exists")
    def exists(name: str) -> dict[str, Any]:
        return {"result": {"exists": True}, "status": "ok", "time": 0.0}

    @api.post("/collections/{name}/points/count")
    def count(name: str) -> dict[str, Any]:
        return {"result": {"count": points}, "status": "ok", "time": 0.0}

    return api


def test_ready_recovers_by_itself_when_the_qdrant_server_comes_back(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=tmp_path, qdrant={"url": url, "timeout_s": 2}, _env_file=None)  # type: ignore[call-arg]
    client = QdrantClient(url=url, timeout=2, check_compatibility=False)
    index = ServerIndex(client, "askdocs", where=f"Qdrant server {url}")
    container = Container(settings, embedder, index, make_pipeline(settings, embedder, index))
    with TestClient(create_app(container)) as http:
        assert http.get("/ready").status_code == 503
        with serve(_qdrant_stand_in(1234), port=port):
            back = http.get("/ready")
        assert back.status_code == 200 and back.json()["points"] == 1234
        assert http.get("/ready").status_code == 503  # and down again once it stops


def test_ask_is_503_while_qdrant_is_down_and_answers_once_it_is_back(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    text = "Hotel stays in Paris are reimbursed up to 180 euros per night."
    chunk = make_chunk("0b6c4f3e-6a2d-4c41-9a0e-5d7f0e1a2b3c", text=text, title="Travel policy", doc_id="travel")
    vector = embedder.embed_documents([text])[0].tolist()
    point = {"id": chunk.point_id, "version": 0, "score": 0.8, "payload": payload_of(chunk), "vector": {DENSE: vector}}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=tmp_path, qdrant={"url": url, "timeout_s": 2}, _env_file=None)  # type: ignore[call-arg]
    index = ServerIndex(QdrantClient(url=url, timeout=2, check_compatibility=False), "askdocs", where=f"Qdrant {url}")
    container = Container(settings, embedder, index, make_pipeline(settings, embedder, index))
    question = {"question": "How much is a hotel night in Paris reimbursed?"}
    with TestClient(create_app(container)) as http:
        down = http.post("/ask", json=question)
        assert down.status_code == 503 and f"Qdrant {url}" in down.json()["detail"], down.text
        with serve(_qdrant_stand_in(1, [point]), port=port):
            back = http.post("/ask", json=question)
        assert back.status_code == 200, back.text
        assert "180 euros" in back.json()["answer"] and back.json()["sources"][0]["title"] == "Travel policy"
        assert http.post("/ask", json=question).status_code == 503  # down again once it stops
