"""Who may ask what: API keys and scopes, groups from identity (never from the request, but for a frontend key),
a restricted chunk that never reaches a caller without its group, limits, headers, metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.edge import EdgeIndex
from askdocs.models import Provenance
from askdocs.settings import Settings
from askdocs.store.keys import KeyStore
from askdocs.store.store import open_store
from ingest.loaders import RawSource
from tests.app.conftest import container_for
from tests.cli.runner import clean_env, run
from tests.conftest import HANDBOOK, make_ingestor
from tests.servers import serve

pytestmark = pytest.mark.store  # keys live in the store; every test here opens it

SECRET_TEXT = "The executive bonus pool for 2026 is 4.2 million euros, paid in March."
SECRET_MD = f"# Executive compensation\n\n## Bonus pool\n\n{SECRET_TEXT}\n".encode()
QUESTION = "How large is the executive bonus pool for 2026?"


@pytest.fixture(scope="module")
def restricted_dir(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Path:
    """The leave page for everyone, and an HR-only page on executive pay."""
    data_dir = tmp_path_factory.mktemp("restricted")
    index = EdgeIndex(data_dir / "qdrant" / "askdocs")
    ingestor = make_ingestor(embedder, index)
    public = RawSource(str(HANDBOOK / "leave.html"), (HANDBOOK / "leave.html").read_bytes())
    assert ingestor.ingest_raw(public).status.value == "new"
    secret = RawSource("/hr/executive-pay.md", SECRET_MD)
    assert ingestor.ingest_raw(secret, Provenance(origin="hr-share", acl=("hr",))).status.value == "new"
    index.close()
    return data_dir


def app_for(data_dir: Path, embedder: SentenceTransformerEmbedder, **settings: Any) -> Iterator[TestClient]:
    config = Settings(data_dir=data_dir, admin_token="s3cret", _env_file=None, **settings)  # type: ignore[arg-type]
    container = container_for(config, embedder)
    with TestClient(create_app(container)) as client:
        yield client
    container.close()


@pytest.fixture
def keys(restricted_dir: Path) -> dict[str, str]:
    store = KeyStore(open_store(Settings(data_dir=restricted_dir, _env_file=None)).engine)  # type: ignore[call-arg]
    made = {
        "ask": store.create("staff", "ask")[1],
        "hr": store.create("hr-team", "ask", ("hr",))[1],
        "frontend": store.create("slack-bot", "frontend")[1],
        "admin": store.create("ops", "admin")[1],
    }
    store.create("old", "ask")
    store.revoke("old")
    return made


@pytest.fixture
def client(restricted_dir: Path, embedder: SentenceTransformerEmbedder, keys: dict[str, str]) -> Iterator[TestClient]:
    yield from app_for(restricted_dir, embedder)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def everything_seen(client: TestClient, key: str, body: dict[str, Any]) -> str:
    """All a caller gets back for a question: the /ask JSON and the whole stream, as one text."""
    asked = client.post("/ask", json=body, headers=bearer(key))
    with client.stream("POST", "/ask/stream", json=body, headers=bearer(key)) as streamed:
        events = "".join(streamed.iter_text())
    return json.dumps(asked.json()) + events


def test_once_keys_exist_every_endpoint_but_health_needs_one(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/health").status_code == 200
    for method, path in (("POST", "/ask"), ("GET", "/documents"), ("POST", "/feedback"), ("GET", "/interactions")):
        response = client.request(method, path, json={"question": "x"})
        assert response.status_code == 401, path
        assert "needs an API key" in response.json()["detail"]
    wrong = client.post("/ask", json={"question": "leave?"}, headers=bearer("askd_nope"))
    assert wrong.status_code == 401 and "unknown API key" in wrong.json()["detail"]
    assert client.post("/ask", json={"question": "leave?"}, headers=bearer(keys["ask"])).status_code == 200


def test_scopes_admin_and_the_old_token(client: TestClient, keys: dict[str, str]) -> None:
    refused = client.get("/interactions", headers=bearer(keys["ask"]))
    assert refused.status_code == 403 and "needs an admin key; 'staff' has scope 'ask'" in refused.json()["detail"]
    assert client.get("/interactions", headers=bearer(keys["admin"])).status_code == 200
    assert client.get("/interactions", headers=bearer("s3cret")).status_code == 200  # ASKDOCS_ADMIN_TOKEN
    assert client.get("/ingest", headers=bearer(keys["frontend"])).status_code == 403


def test_a_revoked_key_is_refused_and_keys_are_stored_hashed(client: TestClient, restricted_dir: Path) -> None:
    store = open_store(Settings(data_dir=restricted_dir, _env_file=None))  # type: ignore[call-arg]
    with store.engine.connect() as db:
        rows = db.exec_driver_sql("SELECT name, prefix, key_hash FROM api_keys").all()
    assert {r[0] for r in rows} == {"staff", "hr-team", "slack-bot", "ops", "old"}
    assert all(len(r[2]) == 64 and r[1].startswith("askd_") and len(r[1]) == 12 for r in rows)
    new, secret = KeyStore(store.engine).create("temp", "ask")
    assert client.post("/ask", json={"question": "leave?"}, headers=bearer(secret)).status_code == 200
    KeyStore(store.engine).revoke("temp")
    gone = client.post("/ask", json={"question": "leave?"}, headers=bearer(secret))
    assert gone.status_code == 401 and gone.json()["detail"] == "the API key 'temp' was revoked"
    assert new.prefix == secret[:12]


def test_a_restricted_chunk_never_reaches_a_caller_without_its_group(client: TestClient, keys: dict[str, str]) -> None:
    docs = client.get("/documents", headers=bearer(keys["admin"])).json()  # the list is for admins
    hr = next(d for d in docs if d["source"] == "/hr/executive-pay.md")
    for body in (
        {"question": QUESTION},
        {"question": QUESTION, "filters": {"doc_id": hr["doc_id"]}},
        {"question": QUESTION, "filters": {"source": "/hr/executive-pay.md"}},
        {"question": QUESTION, "filters": {"origin": "hr-share"}, "retrieval": "sparse"},
    ):
        seen = everything_seen(client, keys["ask"], body)
        assert "4.2 million" not in seen and "executive-pay" not in seen, body
    allowed = everything_seen(client, keys["hr"], {"question": QUESTION})
    assert "4.2 million" in allowed and "/hr/executive-pay.md" in allowed
    # What the log kept of the refused caller's questions holds nothing of it either.
    logged = client.get("/interactions", params={"limit": 1000}, headers=bearer(keys["admin"])).json()
    staff = [i for i in logged if i["asked_by"] == "staff"]
    assert staff and not any("4.2 million" in json.dumps(i) or "executive-pay" in json.dumps(i) for i in staff)


def test_groups_come_from_identity_not_from_the_request(client: TestClient, keys: dict[str, str]) -> None:
    claimed = client.post("/ask", json={"question": QUESTION, "groups": ["hr"]}, headers=bearer(keys["ask"]))
    assert claimed.status_code == 403 and "only from a frontend key" in claimed.json()["detail"]
    vouched = client.post("/ask", json={"question": QUESTION, "groups": ["hr"]}, headers=bearer(keys["frontend"]))
    assert vouched.status_code == 200 and "4.2 million" in vouched.json()["answer"]
    public = client.post("/ask", json={"question": QUESTION}, headers=bearer(keys["frontend"]))
    assert "4.2 million" not in json.dumps(public.json())


def test_only_a_frontend_may_name_the_person_it_asks_and_rates_for(client: TestClient, keys: dict[str, str]) -> None:
    body = {"question": QUESTION, "asked_by": "slack:U042"}
    claimed = client.post("/ask", json=body, headers=bearer(keys["ask"]))
    assert claimed.status_code == 403 and "'asked_by' field is honoured only from a frontend" in claimed.text
    asked = client.post("/ask", json=body, headers=bearer(keys["frontend"])).json()
    rating = {"interaction_id": asked["interaction_id"], "rating": "helpful", "rated_by": "slack:U043"}
    assert client.post("/feedback", json=rating, headers=bearer(keys["ask"])).status_code == 403
    assert client.post("/feedback", json=rating, headers=bearer(keys["frontend"])).status_code == 200
    logged = client.get(f"/interactions/{asked['interaction_id']}", headers=bearer(keys["admin"])).json()
    assert logged["asked_by"] == "slack:U042" and logged["feedback"]["rated_by"] == "slack:U043"


def test_anonymous_callers_without_keys_cannot_claim_groups(
    restricted_dir: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "qdrant").symlink_to(restricted_dir / "qdrant")  # the same index, a store without keys
    for client in app_for(fresh, embedder):
        claimed = client.post("/ask", json={"question": QUESTION, "groups": ["hr"]})
        assert claimed.status_code == 403
        assert "4.2 million" not in json.dumps(client.post("/ask", json={"question": QUESTION}).json())


def test_rate_limit_headers_request_ids_and_the_access_log(
    restricted_dir: Path, embedder: SentenceTransformerEmbedder, keys: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    for client in app_for(restricted_dir, embedder, auth={"rate_limit": "3/minute", "max_body_kb": 1}):
        with caplog.at_level(logging.INFO, logger="askdocs.access"):
            asked = client.post("/ask", json={"question": QUESTION}, headers=bearer(keys["hr"]))
            too_large = client.post("/ask", content="x" * 2048, headers={"Content-Type": "application/json"})
        logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "askdocs.access"]
        assert [(e["route"], e["status"], e["caller"]) for e in logged] == [
            ("/ask", 200, "hr-team"),
            ("unmatched", 413, None),
        ]
        assert (
            logged[0]["request_id"] == asked.headers["X-Request-ID"] and too_large.headers["X-Frame-Options"] == "DENY"
        )
        ask = {"question": "How long is parental leave?"}
        codes = [client.post("/ask", json=ask, headers=bearer(keys["ask"])).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.post("/ask", json=ask, headers=bearer(keys["ask"]))
        # A sliding window: the 3 of this minute weigh in the next one until a third of it has passed.
        assert 0 < int(limited.headers["Retry-After"]) <= 80 and "rate limit of 3/minute for the key" in limited.text
        assert client.post("/ask", json=ask, headers=bearer(keys["hr"])).status_code == 200  # per key
        response = client.get("/health", headers={"X-Request-ID": "abc-123"})
        assert response.headers["X-Request-ID"] == "abc-123"
        assert response.headers["X-Content-Type-Options"] == "nosniff" and response.headers["X-Frame-Options"] == "DENY"
        assert (
            "access-control-allow-origin" not in client.get("/health", headers={"Origin": "https://x.example"}).headers
        )
        assert len(client.get("/health").headers["X-Request-ID"]) == 32
        metrics = client.get("/metrics", headers=bearer(keys["admin"]))
        assert metrics.status_code == 200 and "askdocs_rate_limited_total" in metrics.text
        assert client.get("/metrics", headers=bearer(keys["hr"])).status_code == 403


def test_metrics_count_answers_and_take_their_own_token(
    restricted_dir: Path, embedder: SentenceTransformerEmbedder, keys: dict[str, str]
) -> None:
    for client in app_for(restricted_dir, embedder, auth={"metrics_token": "scrape"}):
        client.post("/ask", json={"question": "How many vacation days do I get?"}, headers=bearer(keys["ask"]))
        text = client.get("/metrics", headers=bearer("scrape")).text
        assert 'askdocs_answers_total{mode="extractive"}' in text and "askdocs_stage_seconds_bucket" in text
        assert 'askdocs_request_seconds_count{method="POST",route="/ask",status="200"}' in text
        assert "askdocs_queue_depth 0.0" in text


def test_a_proxy_is_trusted_only_from_its_addresses(
    restricted_dir: Path, embedder: SentenceTransformerEmbedder, keys: dict[str, str]
) -> None:
    import httpx

    headers = {"X-Forwarded-User": "ada", "X-Forwarded-Groups": "hr, finance"}
    for networks, trusted in ((["127.0.0.0/8"], True), (["10.0.0.0/8"], False)):
        config = Settings(  # type: ignore[call-arg]
            data_dir=restricted_dir,
            _env_file=None,
            auth={"trust_proxy_headers": True, "proxy_addresses": networks},
        )
        container = container_for(config, embedder)
        with serve(create_app(container)) as url:
            response = httpx.post(f"{url}/ask", json={"question": QUESTION}, headers=headers, timeout=60)
        container.close()
        if trusted:
            assert response.status_code == 200 and "4.2 million" in response.json()["answer"]
        else:
            assert response.status_code == 401  # keys exist: an untrusted proxy's headers count for nothing


def test_keys_cli_prints_the_key_alone_on_its_last_line(tmp_path: Path, database_url: str) -> None:
    env = clean_env(ASKDOCS_DATA_DIR=str(tmp_path), ASKDOCS_DATABASE__URL=database_url)
    made = run(env, "keys", "create", "--name", "bot", "--scope", "frontend")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("askd_") and len(secret) > 40
    listed = run(env, "keys", "list")
    assert "bot" in listed.stdout and secret[:12] in listed.stdout and secret not in listed.stdout
    bad = run(env, "keys", "create", "--name", "x", "--scope", "root")
    assert bad.returncode == 2 and "unknown scope 'root'; available: ask, admin, frontend" in bad.stderr
    assert run(env, "keys", "revoke", "bot").returncode == 0
