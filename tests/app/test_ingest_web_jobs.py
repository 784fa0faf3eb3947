"""Sitemaps and crawls queued over HTTP (POST /ingest, the admin page's form) and run by the service's worker
thread against the test site on 127.0.0.1 (tests/ingest/test_web_site.py): robots.txt, scope and page limits as
`askdocs ingest --sitemap/--crawl` apply them, one outcome per page, private addresses only when allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.container import Container
from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import Settings
from tests.app.conftest import container_for
from tests.ingest.test_web_site import Site, running

pytestmark = pytest.mark.store  # jobs live in the store

ADMIN = {"Authorization": "Bearer s3cret"}


def service(data_dir: Path, embedder: SentenceTransformerEmbedder, private: bool) -> tuple[TestClient, Container]:
    config = Settings(  # type: ignore[call-arg]
        data_dir=data_dir, admin_token="s3cret", ingest={"allow_private_network": private}, _env_file=None
    )
    container = container_for(config, embedder)
    return TestClient(create_app(container)), container


def test_a_sitemap_and_a_crawl_are_fetched_page_by_page(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    site = Site()
    client, container = service(tmp_path / "data", embedder, private=True)
    with running(site) as base, client:
        sent = client.post("/ingest", data={"sitemaps": [f"{base}/sitemap.xml"]}, params={"wait": 240}, headers=ADMIN)
        [job] = sent.json()["jobs"]
        assert (job["kind"], job["status"], job["target"], job["error"]) == (
            "sitemap",
            "done",
            f"{base}/sitemap.xml",
            None,
        )
        outcomes = {r["source"].removeprefix(base): (r["status"], r["error"]) for r in job["results"]}
        assert outcomes == {
            "/handbook/index.html": ("new", ""),
            "/handbook/leave.html": ("new", ""),
            "/handbook/travel.html": ("new", ""),
            "/handbook/expenses.html": ("new", ""),
            "/handbook/benefits": ("new", ""),
            "/handbook/missing.html": ("failed", "HTTP 404 Not Found"),
        }
        assert job["progress"] == 6 and sent.json()["failed"] == 1
        assert "/handbook/internal/salaries.html" not in site.paths()  # robots.txt

        form = {"crawls": [f"{base}/handbook/index.html"], "max_pages": "2", "max_depth": "1"}
        [crawled] = client.post("/ingest", data=form, params={"wait": 240}, headers=ADMIN).json()["jobs"]
        assert crawled["kind"] == "crawl" and crawled["status"] == "done" and len(crawled["results"]) == 2
        first = crawled["results"][0]
        assert (first["source"], first["status"]) == (f"{base}/handbook/index.html", "unchanged")  # from the sitemap
        bad = client.post("/ingest", data={"crawls": ["file:///etc/passwd"]}, headers=ADMIN)
        assert bad.status_code == 422 and "'file:///etc/passwd'" in bad.json()["detail"]
        limits = client.post("/ingest", data={"sitemaps": [base], "max_pages": "0"}, headers=ADMIN)
        assert limits.status_code == 422
    container.close()


def test_a_private_address_is_refused_unless_allowed(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    client, container = service(tmp_path / "data", embedder, private=False)
    with running(Site()) as base, client:
        [job] = client.post(
            "/ingest", data={"sitemaps": [f"{base}/sitemap.xml"]}, params={"wait": 60}, headers=ADMIN
        ).json()["jobs"]
        assert job["status"] == "failed" and "127.0.0.1 is a loopback address" in job["error"]
        assert job["error"].startswith(f"not one page could be ingested from {base}/sitemap.xml: ")
    container.close()
