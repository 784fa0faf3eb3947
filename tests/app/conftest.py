from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.container import Container
from app.limits import RateLimit
from app.main import create_app
from askdocs.components import make_asker
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.factory import open_index
from askdocs.settings import Settings
from askdocs.store.keys import KeyStore
from askdocs.store.sqllog import BackgroundLog
from askdocs.store.store import open_store
from ingest.worker import start_background_worker


def container_for(settings: Settings, embedder: SentenceTransformerEmbedder) -> Container:
    """The service's parts as ``askdocs serve`` composes them (the test's own state store, see conftest), with
    the in-service worker thread."""
    index = open_index(settings)
    store = open_store(settings)
    log = BackgroundLog(store.log) if settings.log.enabled else None
    asker = make_asker(settings, embedder, index)
    container = Container(settings, embedder, index, asker, store.queue, log, store)
    container.keys = KeyStore(store.engine)
    container.rate_limit = RateLimit(settings.auth.rate_limit)
    container.background = start_background_worker(settings, embedder, index, store.queue, None)
    return container


@pytest.fixture
def handbook_settings(handbook_dir: Path) -> Settings:
    return Settings(data_dir=handbook_dir, admin_token="s3cret", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def client(handbook_settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    container = container_for(handbook_settings, embedder)
    with TestClient(create_app(container)) as test_client:
        yield test_client
    container.close()
