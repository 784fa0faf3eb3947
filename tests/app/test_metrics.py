"""/metrics counts what the service did, ingestion included (its worker thread runs the jobs POST /ingest queues)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import Settings
from tests.app.conftest import container_for
from tests.conftest import BAD, HANDBOOK

pytestmark = pytest.mark.store  # every test here builds the service, which opens the store

ADMIN = {"Authorization": "Bearer s3cret"}


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by name and labels."""
    text = client.get("/metrics", headers=ADMIN).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_ingesting_through_the_api_moves_the_ingest_counters(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    settings = Settings(data_dir=tmp_path / "data", admin_token="s3cret", _env_file=None)  # type: ignore[call-arg]
    container = container_for(settings, embedder)
    files = [
        ("files", ("leave.html", (HANDBOOK / "leave.html").read_bytes(), "text/html")),
        ("files", ("corrupt.pdf", (BAD / "corrupt.pdf").read_bytes(), "application/pdf")),
    ]
    with TestClient(create_app(container)) as client:
        before = samples(client)
        body = client.post("/ingest", params={"wait": 120}, headers=ADMIN, files=files).json()
        after = samples(client)
    container.close()
    results = {r["source"].rsplit("/", 1)[-1]: r for job in body["jobs"] for r in job["results"]}
    assert results["leave.html"]["status"] == "new" and results["corrupt.pdf"]["status"] == "failed"

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert moved("askdocs_ingest_documents_total", status="new") == 1
    assert moved("askdocs_ingest_documents_total", status="failed") == 1
    assert moved("askdocs_ingest_chunks_total") == results["leave.html"]["chunks"] > 0
