from __future__ import annotations

import shutil
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


@pytest.fixture(scope="module")
def handbook_service(
    handbook_dir: Path,
    embedder: SentenceTransformerEmbedder,
    module_store_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, Container]]:
    """The service on the handbook, built once for a module whose tests only ask questions (and read what they
    are answered): their answers go to the module's own store, which no test reads back. It holds a copy of the
    handbook's index, so that the module's other tests may open the session's."""
    data_dir = tmp_path_factory.mktemp("handbook-served")
    shutil.copytree(handbook_dir / "qdrant", data_dir / "qdrant")
    settings = Settings(  # type: ignore[call-arg]
        data_dir=data_dir, admin_token="s3cret", database={"url": module_store_url}, _env_file=None
    )
    container = container_for(settings, embedder)
    with TestClient(create_app(container)) as test_client:
        yield test_client, container
    container.close()


@pytest.fixture
def client(handbook_service: tuple[TestClient, Container]) -> TestClient:
    """The module's shared handbook service (tests that only ask)."""
    return handbook_service[0]


@pytest.fixture
def own_client(handbook_settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    """A handbook service of the test's own, on the test's own store: for tests that write to it (feedback) or
    read back what was logged."""
    container = container_for(handbook_settings, embedder)
    with TestClient(create_app(container)) as test_client:
        yield test_client
    container.close()
