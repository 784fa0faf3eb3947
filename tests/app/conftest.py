from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.container import Container
from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import Settings
from cli.serve_cmd import service_container


def container_for(settings: Settings, embedder: SentenceTransformerEmbedder) -> Container:
    """The service's parts as ``askdocs serve`` composes them (the test's own state store, see conftest), with
    the in-service worker thread, on the session's loaded model."""
    return service_container(settings, embedder=embedder)


@pytest.fixture
def handbook_settings(handbook_dir: Path) -> Settings:
    return Settings(data_dir=handbook_dir, admin_token="s3cret", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def client(handbook_settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    container = container_for(handbook_settings, embedder)
    with TestClient(create_app(container)) as test_client:
        yield test_client
    container.close()
