from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import Settings
from tests.app.conftest import container_for
from tests.conftest import BAD, HANDBOOK
from tests.servers import serve

pytestmark = pytest.mark.store  # every test here builds the service, which opens the store

ADMIN = {"Authorization": "Bearer s3cret"}


@pytest.fixture
def empty_client(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        admin_token="s3cret",
        _env_file=None,  # type: ignore[call-arg]
        service={"max_upload_mb": 1},
        ingest={"allow_private_network": True},  # the test site below is on 127.0.0.1
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


def ingest(client: TestClient, **kwargs: Any) -> dict[str, Any]:
    response = client.post("/ingest", params={"wait": 120}, headers=ADMIN, **kwargs)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert body["pending"] == 0
    return body


def results(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for job in body["jobs"] for r in job["results"]]


def test_uploads_are_queued_run_and_bad_ones_reported(empty_client: TestClient) -> None:
    files = [
        ("files", ("leave.html", (HANDBOOK / "leave.html").read_bytes(), "text/html")),
        ("files", ("corrupt.pdf", (BAD / "corrupt.pdf").read_bytes(), "application/pdf")),
    ]
    body = ingest(empty_client, files=files)
    statuses = {Path(r["source"]).name: r["status"] for r in results(body)}
    assert statuses == {"leave.html": "new", "corrupt.pdf": "failed"} and body["failed"] == 1
    leave, corrupt = body["jobs"]
    assert leave["status"] == "done" and leave["kind"] == "upload" and leave["target"] == "leave.html"
    assert corrupt["status"] == "failed" and "PDF" in corrupt["error"]
    shown = empty_client.get(f"/ingest/{corrupt['job_id']}", headers=ADMIN).json()
    assert shown == corrupt
    answer = empty_client.post("/ask", json={"question": "How many vacation days do I get?"}).json()
    assert answer["sources"][0]["url_or_path"] == "upload://leave.html"
    again = ingest(empty_client, files=files[:1])
    assert results(again)[0]["status"] == "unchanged"
    recent = empty_client.get("/ingest", headers=ADMIN).json()
    assert [j["job_id"] for j in recent] == [again["jobs"][0]["job_id"], corrupt["job_id"], leave["job_id"]]


def test_a_job_can_be_followed_without_waiting(empty_client: TestClient) -> None:
    files = {"files": ("oncall.html", (HANDBOOK / "oncall.html").read_bytes(), "text/html")}
    response = empty_client.post("/ingest", files=files, headers=ADMIN)
    assert response.status_code == 202
    job = response.json()["jobs"][0]
    assert job["status"] in ("queued", "running", "done")
    deadline = time.monotonic() + 120
    while job["status"] != "done":
        assert time.monotonic() < deadline and job["status"] != "failed", job
        time.sleep(0.1)
        job = empty_client.get(f"/ingest/{job['job_id']}", headers=ADMIN).json()
    assert job["results"][0]["status"] == "new" and job["finished_at"] >= job["started_at"]


def test_unknown_jobs_and_bad_requests(empty_client: TestClient) -> None:
    assert empty_client.get("/ingest/nope", headers=ADMIN).status_code == 404
    assert empty_client.get("/ingest/nope").status_code == 401
    assert empty_client.post("/ingest", headers=ADMIN).status_code == 422
    refused = empty_client.post("/ingest", data={"urls": ["file:///etc/passwd"]}, headers=ADMIN)
    assert refused.status_code == 422 and "only http:// and https://" in refused.json()["detail"]


def test_an_oversized_upload_is_refused(empty_client: TestClient) -> None:
    big = b"<html><body><p>" + b"x" * (2 * 2**20) + b"</p></body></html>"
    response = empty_client.post("/ingest", files={"files": ("big.html", big, "text/html")}, headers=ADMIN)
    assert response.status_code == 413 and "1 MiB upload limit" in response.json()["detail"]
    assert empty_client.get("/documents").json() == []


def test_an_upload_is_taken_by_its_suffix_or_its_content_type_and_refused_naming_what_askdocs_reads(
    empty_client: TestClient,
) -> None:
    markdown = (BAD / "good.md").read_bytes()
    body = ingest(empty_client, files={"files": ("notes", markdown, "text/x-markdown")})  # no suffix to go by
    [result] = results(body)
    assert result["status"] == "new" and result["title"] == "Project Aurora Launch Plan"  # read as Markdown
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    refused = empty_client.post("/ingest", files={"files": ("plan.docx", b"PK\x03\x04", docx)}, headers=ADMIN)
    detail = refused.json()["detail"]
    assert refused.status_code == 415 and detail.startswith(f"plan.docx: not a file type askdocs reads ({docx})")
    assert ".md" in detail and ".pdf" in detail and "text/x-markdown" in detail and "application/pdf" in detail
    assert len(empty_client.get("/ingest", headers=ADMIN).json()) == 1  # the refused file was never queued


def test_urls_are_fetched_and_a_404_reported(empty_client: TestClient, tmp_path: Path) -> None:
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    site = tmp_path / "site"
    shutil.copytree(HANDBOOK, site)
    web = FastAPI()
    web.mount("/", StaticFiles(directory=site))
    with serve(web) as url:
        body = ingest(empty_client, data={"urls": [f"{url}/oncall.html", f"{url}/missing.html"]})
    by_source = {r["source"]: r for r in results(body)}
    assert by_source[f"{url}/oncall.html"]["status"] == "new"
    assert "404" in by_source[f"{url}/missing.html"]["error"]
    assert [j["status"] for j in body["jobs"]] == ["done", "failed"]


def test_admin_delete_removes_a_document(empty_client: TestClient) -> None:
    files = {"files": ("security.html", (HANDBOOK / "security.html").read_bytes(), "text/html")}
    doc_id = results(ingest(empty_client, files=files))[0]["doc_id"]
    assert empty_client.delete(f"/documents/{doc_id}").status_code == 401
    index = empty_client.app.state.container.index  # type: ignore[attr-defined]
    kept, index.min_free_mb = index.min_free_mb, shutil.disk_usage(index.path).free // 2**20 + 1024
    try:  # the disk short of room (tests/askdocs/test_index.py): refused with the reason, nothing changed
        refused = empty_client.delete(f"/documents/{doc_id}", headers=ADMIN)
        assert refused.status_code == 503 and "writing to the index refused" in refused.json()["detail"]
        files = {"files": ("leave.html", (HANDBOOK / "leave.html").read_bytes(), "text/html")}
        (job,) = ingest(empty_client, files=files)["jobs"]
        assert job["status"] == "failed" and "writing to the index refused" in job["error"], job
        assert [d["doc_id"] for d in empty_client.get("/documents").json()] == [doc_id]
    finally:
        index.min_free_mb = kept
    assert empty_client.delete(f"/documents/{doc_id}", headers=ADMIN).json() == {"deleted": doc_id}
    assert empty_client.get("/documents").json() == []
    assert empty_client.delete(f"/documents/{doc_id}", headers=ADMIN).status_code == 404
