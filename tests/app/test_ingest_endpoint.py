from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import Settings
from tests.app.conftest import container_for
from tests.conftest import BAD, HANDBOOK
from tests.servers import serve

ADMIN = {"Authorization": "Bearer s3cret"}


@pytest.fixture
def empty_client(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        admin_token="s3cret",
        _env_file=None,  # type: ignore[call-arg]
        service={"max_upload_mb": 1},
    )
    container = container_for(settings, embedder)
    with TestClient(create_app(container)) as client:
        yield client
    container.close()


def test_ingest_needs_the_admin_token(empty_client: TestClient) -> None:
    files = {"files": ("leave.html", (HANDBOOK / "leave.html").read_bytes(), "text/html")}
    assert empty_client.post("/ingest", files=files).status_code == 401
    assert empty_client.post("/ingest", files=files, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert empty_client.get("/documents").json() == []


def test_uploads_are_ingested_and_bad_ones_reported(empty_client: TestClient) -> None:
    files = [
        ("files", ("leave.html", (HANDBOOK / "leave.html").read_bytes(), "text/html")),
        ("files", ("corrupt.pdf", (BAD / "corrupt.pdf").read_bytes(), "application/pdf")),
    ]
    body = empty_client.post("/ingest", files=files, headers=ADMIN).json()
    statuses = {Path(r["source"]).name: r["status"] for r in body["results"]}
    assert statuses == {"leave.html": "new", "corrupt.pdf": "failed"} and body["failed"] == 1
    answer = empty_client.post("/ask", json={"question": "How many vacation days do I get?"}).json()
    assert answer["sources"][0]["url_or_path"] == "upload://leave.html"
    again = empty_client.post("/ingest", files=files[:1], headers=ADMIN).json()
    assert again["results"][0]["status"] == "unchanged"


def test_an_oversized_upload_is_refused(empty_client: TestClient) -> None:
    big = b"<html><body><p>" + b"x" * (2 * 2**20) + b"</p></body></html>"
    response = empty_client.post("/ingest", files={"files": ("big.html", big, "text/html")}, headers=ADMIN)
    assert response.status_code == 413 and "1 MiB upload limit" in response.json()["detail"]
    assert empty_client.get("/documents").json() == []


def test_urls_are_fetched_and_a_404_reported(empty_client: TestClient, tmp_path: Path) -> None:
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    site = tmp_path / "site"
    shutil.copytree(HANDBOOK, site)
    web = FastAPI()
    web.mount("/", StaticFiles(directory=site))
    with serve(web) as url:
        body = empty_client.post(
            "/ingest", data={"urls": [f"{url}/oncall.html", f"{url}/missing.html"]}, headers=ADMIN
        ).json()
    results = {r["source"]: r for r in body["results"]}
    assert results[f"{url}/oncall.html"]["status"] == "new"
    assert results[f"{url}/missing.html"]["error"] == "HTTP 404 Not Found"


def test_admin_delete_removes_a_document(empty_client: TestClient) -> None:
    files = {"files": ("security.html", (HANDBOOK / "security.html").read_bytes(), "text/html")}
    doc_id = empty_client.post("/ingest", files=files, headers=ADMIN).json()["results"][0]["doc_id"]
    assert empty_client.delete(f"/documents/{doc_id}").status_code == 401
    assert empty_client.delete(f"/documents/{doc_id}", headers=ADMIN).json() == {"deleted": doc_id}
    assert empty_client.get("/documents").json() == []
    assert empty_client.delete(f"/documents/{doc_id}", headers=ADMIN).status_code == 404
