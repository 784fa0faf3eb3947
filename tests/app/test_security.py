"""Keys, scopes, groups from identity; the leak check: a restricted chunk never reaches a caller outside its group."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.edge import EdgeIndex
from askdocs.keys import SqliteKeyStore
from askdocs.models import Provenance
from askdocs.settings import Settings
from ingest.sources import Reader, expand
from tests.app.conftest import container_for
from tests.conftest import HANDBOOK, make_ingestor

SECRET = "ZEBRAQUARTZ"  # only in the HR document
HR_PAGE = f"""<html><head><title>Salary bands 2026</title></head><body>
<h1>Salary bands 2026</h1>
<p>The salary band for a senior engineer is 95,000 to 120,000 euros. The salary review code word is {SECRET}.</p>
<p>Salary bands are reviewed every March by the compensation committee; the code word {SECRET} opens the sheet.</p>
</body></html>"""
QUESTION = "What is the salary band for a senior engineer and the salary review code word?"


@pytest.fixture(scope="module")
def restricted_dir(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Path:
    """The handbook (no ACL) and one HR page (acl: hr), ingested as a sources.yaml source would."""
    data_dir = tmp_path_factory.mktemp("restricted-data")
    page = data_dir.parent / "salary-bands.html"
    page.write_text(HR_PAGE)
    index = EdgeIndex(data_dir / "qdrant" / "askdocs")
    ingestor = make_ingestor(embedder, index)
    reader = Reader(2**20, 5.0, "askdocs-test")
    refs, _ = expand([str(HANDBOOK)])
    ingestor.run(refs, reader)
    [ref], _ = expand([str(page)])
    ingestor.ingest_raw(reader.read(ref), Provenance("hr-share", ("hr",)))
    index.close()
    return data_dir


@pytest.fixture
def keyed(tmp_path: Path, restricted_dir: Path, embedder: SentenceTransformerEmbedder) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path / "data"
    shutil.copytree(restricted_dir, data_dir)
    store = SqliteKeyStore(data_dir / "keys.sqlite")
    keys = {
        "plain": store.create("plain", "ask")[1],
        "hr": store.create("hr-reader", "ask", ["hr"])[1],
        "frontend": store.create("slack", "frontend")[1],
        "admin": store.create("ops", "admin")[1],
    }
    revoked, secret = store.create("gone", "ask", ["hr"])
    store.revoke(revoked.prefix)
    keys["revoked"] = secret
    store.close()
    settings = Settings(  # type: ignore[call-arg]
        data_dir=data_dir,
        admin_token="legacy-token",
        auth={"metrics_token": "m"},
        limits={"rate": None},
        _env_file=None,
    )
    container = container_for(settings, embedder)
    with TestClient(create_app(container)) as client:
        yield {"client": client, "keys": keys}
    container.close()


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _hr_doc(client: TestClient, admin: str) -> dict[str, Any]:
    docs = client.get("/documents", headers=_as(admin)).json()
    return next(d for d in docs if "salary" in d["source"])


def test_keys_are_needed_once_one_exists_and_the_errors_say_why(keyed: dict[str, Any]) -> None:
    client, keys = keyed["client"], keyed["keys"]
    assert client.get("/health").status_code == 200
    missing = client.post("/ask", json={"question": "vacation days?"})
    assert missing.status_code == 401 and "needs an API key" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = client.post("/ask", json={"question": "vacation days?"}, headers=_as("ak_nope"))
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.json()["detail"]
    assert client.post("/ask", json={"question": "vacation?"}, headers=_as(keys["revoked"])).status_code == 401
    assert client.get("/ready", headers=_as(keys["plain"])).status_code == 200
    assert client.post("/ask", json={"question": "vacation days?"}, headers=_as(keys["plain"])).status_code == 200


def test_admin_endpoints_need_the_admin_scope_or_the_legacy_token(keyed: dict[str, Any]) -> None:
    client, keys = keyed["client"], keyed["keys"]
    refused = client.get("/ingest", headers=_as(keys["plain"]))
    assert refused.status_code == 403 and "needs an admin key" in refused.json()["detail"]
    assert "scope 'ask'" in refused.json()["detail"]
    assert client.get("/documents", headers=_as(keys["frontend"])).status_code == 403
    assert client.get("/ingest", headers=_as(keys["admin"])).status_code == 200
    assert client.get("/ingest", headers=_as("legacy-token")).status_code == 200
    assert client.get("/ingest", headers={"X-Admin-Token": "legacy-token"}).status_code == 200


def test_groups_come_from_the_key_and_the_field_is_refused_from_an_ask_key(keyed: dict[str, Any]) -> None:
    client, keys = keyed["client"], keyed["keys"]
    sent = client.post("/ask", json={"question": QUESTION, "groups": ["hr"]}, headers=_as(keys["plain"]))
    assert sent.status_code == 403 and "accepted only from a frontend key" in sent.json()["detail"]
    assert (
        client.post("/ask", json={"question": QUESTION, "groups": ["hr"]}, headers=_as(keys["hr"])).status_code == 403
    )
    member = client.post("/ask", json={"question": QUESTION}, headers=_as(keys["hr"]))
    assert SECRET in member.text  # the key's own group finds it
    vouched = client.post("/ask", json={"question": QUESTION, "groups": ["hr"]}, headers=_as(keys["frontend"]))
    assert SECRET in vouched.text  # a front end vouches for its user's groups
    assert SECRET not in client.post("/ask", json={"question": QUESTION}, headers=_as(keys["frontend"])).text


def test_a_restricted_chunk_never_reaches_a_caller_without_its_group(keyed: dict[str, Any]) -> None:
    client, keys = keyed["client"], keyed["keys"]
    doc = _hr_doc(client, keys["admin"])
    outsiders = [keys["plain"], keys["frontend"], keys["admin"]]
    bodies: list[dict[str, Any]] = [
        {"question": QUESTION},
        {"question": QUESTION, "mode": "extractive", "top_k": 50},
        {"question": QUESTION, "retrieval": "sparse"},
        {"question": QUESTION, "retrieval": "dense"},
        {"question": QUESTION, "filters": {"doc_id": doc["doc_id"]}},
        {"question": QUESTION, "filters": {"source": doc["source"]}},
        {"question": SECRET, "filters": {"origin": "hr-share"}},
    ]
    for key in outsiders:
        for body in bodies:
            for path in ("/ask", "/ask/stream"):
                response = client.post(path, json=body, headers=_as(key))
                assert response.status_code == 200, response.text
                assert SECRET not in response.text and "Salary bands" not in response.text, (path, body)
                assert "salary-bands" not in response.text
    # the same filters with the group do reach it: the check above is not vacuous
    hit = client.post("/ask", json=bodies[4], headers=_as(keys["hr"]))
    assert SECRET in hit.text and json.loads(hit.text)["sources"][0]["url_or_path"] == doc["source"]


def test_an_authenticating_proxy_is_believed_only_from_its_address(
    tmp_path: Path, restricted_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(restricted_dir, data_dir)
    settings = Settings(  # type: ignore[call-arg]
        data_dir=data_dir,
        auth={"required": True, "trust_proxy_headers": True, "trusted_proxies": ["10.0.0.0/24"]},
        _env_file=None,
    )
    headers = {"X-Forwarded-User": "ann", "X-Forwarded-Groups": "staff, hr"}
    container = container_for(settings, embedder)
    app = create_app(container)
    with TestClient(app, client=("10.0.0.7", 5000)) as proxy, TestClient(app, client=("10.0.1.7", 5000)) as other:
        assert SECRET in proxy.post("/ask", json={"question": QUESTION}, headers=headers).text
        stranger = other.post("/ask", json={"question": QUESTION}, headers=headers)
        assert stranger.status_code == 401  # required, and headers from elsewhere are not an identity
        assert proxy.post("/ask", json={"question": QUESTION}).status_code == 401
    container.close()


def test_a_revoked_key_stops_at_once(keyed: dict[str, Any]) -> None:
    client, keys = keyed["client"], keyed["keys"]
    store = SqliteKeyStore(Path(client.app.state.guard.settings.keys_path))  # type: ignore[attr-defined]
    assert client.post("/ask", json={"question": "vacation?"}, headers=_as(keys["plain"])).status_code == 200
    store.revoke(next(k.key_id for k in store.list() if k.name == "plain"))
    store.close()
    assert client.post("/ask", json={"question": "vacation?"}, headers=_as(keys["plain"])).status_code == 401
