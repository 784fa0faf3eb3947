"""Faults: an unreachable Qdrant server is a 503 with a clear message, not a 500 or a hang."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from qdrant_client import QdrantClient

from app.container import Container
from app.main import create_app
from askdocs.components import make_asker
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.server import ServerIndex
from askdocs.settings import Settings
from tests.servers import free_port, serve


def test_an_unreachable_qdrant_server_makes_ready_and_ask_503(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = Settings(data_dir=tmp_path, qdrant={"url": url, "timeout_s": 2}, _env_file=None)  # type: ignore[call-arg]
    client = QdrantClient(url=url, timeout=2, check_compatibility=False)  # no server to ask its version
    index = ServerIndex(client, "askdocs", where=f"Qdrant server {url}")
    container = Container(settings, embedder, index, make_asker(settings, embedder, index))
    with TestClient(create_app(container)) as http:
        ready = http.get("/ready")
        assert ready.status_code == 503 and f"Qdrant server {url} failed" in ready.json()["reason"]
        ask = http.post("/ask", json={"question": "How many vacation days do I get?"})
        assert ask.status_code == 503
        assert ask.json()["detail"].startswith(f"the index is unavailable: Qdrant server {url} failed")
        assert http.get("/health").status_code == 200  # the process itself is alive


def _qdrant_stand_in(points: int) -> FastAPI:
    """The two calls /ready makes, answered as a Qdrant server does (REST), for a collection of ``points``."""
    api = FastAPI()

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
    container = Container(settings, embedder, index, make_asker(settings, embedder, index))
    with TestClient(create_app(container)) as http:
        assert http.get("/ready").status_code == 503
        with serve(_qdrant_stand_in(1234), port=port):
            back = http.get("/ready")
        assert back.status_code == 200 and back.json()["points"] == 1234
        assert http.get("/ready").status_code == 503  # and down again once it stops
