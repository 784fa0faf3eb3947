"""An unreachable Qdrant server: the service recovers by itself once a server answers on its address again."""

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
