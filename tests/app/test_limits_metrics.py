"""Rate limits, size and type limits, security headers, CORS, request ids, JSON logs and /metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.observe import JsonFormatter, access_log
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.keys import SqliteKeyStore
from askdocs.settings import Settings
from tests.app.conftest import container_for


@pytest.fixture
def limited(tmp_path: Path, handbook_dir: Path, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=handbook_dir,
        admin_token="s3cret",
        auth={"metrics_token": "scrape-me", "keys_path": tmp_path / "keys.sqlite"},
        limits={"rate": "3/minute"},
        _env_file=None,
    )
    container = container_for(settings, embedder)
    with TestClient(create_app(container)) as client:
        yield client
    container.close()


def test_a_key_over_its_rate_gets_429_with_retry_after_and_others_are_not_slowed(limited: TestClient) -> None:
    store = SqliteKeyStore(limited.app.state.guard.settings.keys_path)  # type: ignore[attr-defined]
    first, second = store.create("a", "ask")[1], store.create("b", "ask")[1]
    store.close()
    ask = {"question": "How many vacation days do I get?"}
    codes = [limited.post("/ask", json=ask, headers={"Authorization": f"Bearer {first}"}) for _ in range(4)]
    assert [c.status_code for c in codes] == [200, 200, 200, 429]
    assert 1 <= int(codes[3].headers["retry-after"]) <= 61 and "rate limit of 3/minute" in codes[3].json()["detail"]
    assert limited.post("/ask", json=ask, headers={"Authorization": f"Bearer {second}"}).status_code == 200
    scraped = limited.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).text
    assert "askdocs_rate_limited_total 1.0" in scraped


def test_metrics_need_their_token_and_count_answers_stages_and_routes(limited: TestClient) -> None:
    assert limited.get("/metrics").status_code == 401
    assert limited.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    limited.post("/ask", json={"question": "How many vacation days do I get?"})
    limited.post("/ask", json={"question": "What year did the Roman empire fall?"})
    text = limited.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).text
    assert 'askdocs_answers_total{mode="extractive"} 2.0' in text
    assert 'askdocs_stage_seconds_count{stage="search"} 2.0' in text
    assert 'askdocs_request_seconds_count{method="POST",route="/ask"} 2.0' in text
    assert "askdocs_i_do_not_know_total" in text and "askdocs_degraded_answers_total 0.0" in text
    assert 'askdocs_ingest_queue_depth{status="queued"}' in text


def test_every_response_has_a_request_id_and_security_headers_and_no_cors(limited: TestClient) -> None:
    mine = limited.get("/health", headers={"X-Request-ID": "trace-42", "Origin": "https://evil.example"})
    assert mine.headers["x-request-id"] == "trace-42"
    assert "access-control-allow-origin" not in mine.headers
    for name in ("x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy"):
        assert name in mine.headers
    made = limited.post("/ask", json={"question": "vacation?"}, headers={"X-Request-ID": "bad id\n"})
    assert len(made.headers["x-request-id"]) == 32 and made.headers["x-request-id"] != "bad id"
    assert limited.get("/nope").headers["x-content-type-options"] == "nosniff"


def test_one_json_log_line_per_request(limited: TestClient) -> None:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter().format(record))

    handler = Keep()
    access_log.addHandler(handler)
    try:
        response = limited.post("/ask", json={"question": "vacation?"}, headers={"X-Request-ID": "r-1"})
    finally:
        access_log.removeHandler(handler)
    [line] = lines
    entry = json.loads(line)
    assert entry["request_id"] == response.headers["x-request-id"] == "r-1"
    assert (entry["path"], entry["status"], entry["method"]) == ("/ask", 200, "POST") and entry["ms"] > 0


def test_body_and_upload_limits(limited: TestClient) -> None:
    big = limited.post("/ask", json={"question": "x" * 70_000})
    assert big.status_code == 413 and "64 KiB" in big.json()["detail"]
    admin = {"Authorization": "Bearer s3cret"}
    exe = limited.post(
        "/ingest", files={"files": ("tool.exe", b"MZ\x90\x00", "application/octet-stream")}, headers=admin
    )
    assert exe.status_code == 415 and "tool.exe: not an accepted file type" in exe.json()["detail"]


def test_cors_is_on_only_for_configured_origins(handbook_dir: Path, embedder: SentenceTransformerEmbedder) -> None:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=handbook_dir, limits={"cors_origins": ["https://intranet.example"]}, _env_file=None
    )
    container = container_for(settings, embedder)
    with TestClient(create_app(container)) as client:
        ok = client.get("/health", headers={"Origin": "https://intranet.example"})
        other = client.get("/health", headers={"Origin": "https://evil.example"})
    container.close()
    assert ok.headers["access-control-allow-origin"] == "https://intranet.example"
    assert "access-control-allow-origin" not in other.headers
