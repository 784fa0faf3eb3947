"""``GET /me`` and ``/me/questions`` (what the ask page shows of its caller), ``/keys`` for admins, and the nearest
passages an "I do not know" offers (within the caller's groups)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import Settings
from askdocs.store.keys import KeyStore
from tests.app.conftest import container_for
from tests.web.site import SECRET_QUESTION, restricted_copy

pytestmark = pytest.mark.store  # keys and the log live in the store


@pytest.fixture(scope="module")
def restricted(
    handbook_dir: Path, embedder: SentenceTransformerEmbedder, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    data_dir = tmp_path_factory.mktemp("me")
    restricted_copy(handbook_dir, embedder, data_dir)
    return data_dir


def service(data_dir: Path, embedder: SentenceTransformerEmbedder, **settings: object) -> Iterator[TestClient]:
    config = Settings(data_dir=data_dir, _env_file=None, **settings)  # type: ignore[arg-type]
    container = container_for(config, embedder)
    with TestClient(create_app(container), client=("127.0.0.1", 50000)) as client:
        yield client
    container.close()


@pytest.fixture
def keyed(restricted: Path, embedder: SentenceTransformerEmbedder) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The restricted index with keys (on the test's own store)."""
    for client in service(
        restricted, embedder, auth={"trust_proxy_headers": True, "proxy_addresses": ["127.0.0.1/32"]}
    ):
        keys = client.app.state.container.keys  # type: ignore[attr-defined]
        made = {
            "admin": keys.create("ops", "admin")[1],
            "staff": keys.create("staff", "ask")[1],
            "hr": keys.create("hr-team", "ask", ("hr", "staff"))[1],
        }
        yield client, {k: f"Bearer {v}" for k, v in made.items()}


def test_me_says_who_the_caller_is(keyed: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = keyed
    assert client.get("/me", headers={"Authorization": keys["hr"]}).json() == {
        "name": "hr-team",
        "scope": "ask",
        "groups": ["hr", "staff"],
        "admin": False,
    }
    assert client.get("/me", headers={"Authorization": keys["admin"]}).json()["admin"] is True
    missing = client.get("/me")
    assert missing.status_code == 401 and "needs an API key" in missing.json()["detail"]


def test_me_without_keys_is_anonymous_and_has_no_questions(
    restricted: Path, embedder: SentenceTransformerEmbedder
) -> None:
    for client in service(restricted, embedder):
        client.post("/ask", json={"question": "How many vacation days do I get?"})
        assert client.get("/me").json() == {"name": None, "scope": "anonymous", "groups": [], "admin": False}
        assert client.get("/me/questions").json() == []  # nothing tells one anonymous asker from another


def test_my_questions_are_mine_only_newest_first_with_their_rating(keyed: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = keyed
    asked = []
    for question in ("How many vacation days do I get?", "How long is parental leave?"):
        asked.append(client.post("/ask", json={"question": question}, headers={"Authorization": keys["staff"]}).json())
    client.post("/ask", json={"question": "Who pays for travel?"}, headers={"Authorization": keys["hr"]})
    rating = {"interaction_id": asked[0]["interaction_id"], "rating": "helpful"}
    assert client.post("/feedback", json=rating, headers={"Authorization": keys["staff"]}).status_code == 200
    mine = client.get("/me/questions", headers={"Authorization": keys["staff"]}).json()
    assert [(q["question"], q["rating"]) for q in mine] == [
        ("How long is parental leave?", None),
        ("How many vacation days do I get?", "helpful"),
    ]
    proxied = {"X-Forwarded-User": "alice", "X-Forwarded-Groups": "staff"}
    client.post("/ask", json={"question": "Can I work abroad?"}, headers=proxied)
    assert [q["question"] for q in client.get("/me/questions", headers=proxied).json()] == ["Can I work abroad?"]
    assert client.get("/me/questions", params={"limit": 1}, headers={"Authorization": keys["staff"]}).json()[0][
        "question"
    ] == ("How long is parental leave?")
    assert client.get("/me/questions", params={"limit": 0}, headers={"Authorization": keys["staff"]}).status_code == 422
    logged = client.get("/interactions", params={"asked_by": "alice"}, headers={"Authorization": keys["admin"]})
    assert [i["question"] for i in logged.json()] == ["Can I work abroad?"]


def test_a_key_a_proxys_user_and_a_vouched_person_of_one_name_are_three_askers(
    keyed: tuple[TestClient, dict[str, str]],
) -> None:
    """The log's name alone is "staff" for all three: /me/questions goes by who asked, kind and name."""
    client, keys = keyed
    admin = {"Authorization": keys["admin"]}
    bot = client.post("/keys", json={"name": "bot", "scope": "frontend"}, headers=admin).json()["secret"]
    as_key, as_user = {"Authorization": keys["staff"]}, {"X-Forwarded-User": "staff", "X-Forwarded-Groups": "staff"}
    client.post("/ask", json={"question": "How many vacation days do I get?"}, headers=as_key)
    client.post("/ask", json={"question": "Can I work abroad?"}, headers=as_user)
    vouched = {"question": "Who pays for travel?", "asked_by": "staff"}
    assert client.post("/ask", json=vouched, headers={"Authorization": f"Bearer {bot}"}).status_code == 200
    assert [q["question"] for q in client.get("/me/questions", headers=as_key).json()] == [
        "How many vacation days do I get?"
    ]
    assert [q["question"] for q in client.get("/me/questions", headers=as_user).json()] == ["Can I work abroad?"]
    assert client.get("/me/questions", headers={"Authorization": f"Bearer {bot}"}).json() == []  # its own: none
    logged = client.get("/interactions", params={"asked_by": "staff"}, headers=admin).json()
    assert sorted(i["asker"] for i in logged) == ["key:staff", "person:bot:staff", "user:staff"]


def test_keys_are_made_listed_and_revoked_by_admins(keyed: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = keyed
    admin = {"Authorization": keys["admin"]}
    made = client.post("/keys", json={"name": "bot", "scope": "frontend", "groups": [" a ", "", "b"]}, headers=admin)
    assert made.status_code == 201
    body = made.json()
    assert body["secret"].startswith("askd_") and body["prefix"] == body["secret"][:12] and body["groups"] == ["a", "b"]
    assert client.get("/me", headers={"Authorization": f"Bearer {body['secret']}"}).json()["scope"] == "frontend"
    listed = client.get("/keys", headers=admin).json()
    assert [k["name"] for k in listed] == ["ops", "staff", "hr-team", "bot"]
    assert all("secret" not in k for k in listed)
    again = client.post("/keys", json={"name": "bot", "scope": "ask"}, headers=admin)
    assert again.status_code == 422 and "exists already" in again.json()["detail"]
    bad = client.post("/keys", json={"name": "no spaces", "scope": "ask"}, headers=admin)
    assert bad.status_code == 422 and "use letters, digits" in bad.json()["detail"]
    assert client.post("/keys", json={"name": "x", "scope": "root"}, headers=admin).status_code == 422
    assert client.delete("/keys/bot", headers=admin).json() == {"revoked": "bot"}
    assert client.get("/me", headers={"Authorization": f"Bearer {body['secret']}"}).status_code == 401
    twice = client.delete("/keys/bot", headers=admin)
    assert twice.status_code == 404 and "no active key named 'bot'" in twice.json()["detail"]
    for method, path in (("GET", "/keys"), ("POST", "/keys"), ("DELETE", "/keys/ops")):
        refused = client.request(
            method, path, json={"name": "y", "scope": "admin"}, headers={"Authorization": keys["staff"]}
        )
        assert refused.status_code == 403, path
    assert KeyStore(client.app.state.container.store.engine).keys()[-1].revoked_at is not None  # type: ignore[attr-defined]


def test_i_do_not_know_offers_the_closest_passages_the_caller_may_see(keyed: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = keyed
    off_topic = {"question": "What is the airspeed velocity of an unladen swallow?"}
    answer = client.post("/ask", json=off_topic, headers={"Authorization": keys["staff"]}).json()
    assert answer["idk"] is True and answer["sources"] == []
    assert 1 <= len(answer["closest"]) <= 3 and [s["n"] for s in answer["closest"]] == list(
        range(1, len(answer["closest"]) + 1)
    )
    assert all(s["snippet"] and s["url_or_path"] for s in answer["closest"])
    answered = client.post(
        "/ask", json={"question": "How many vacation days do I get?"}, headers={"Authorization": keys["staff"]}
    )
    assert answered.json()["idk"] is False and answered.json()["closest"] == []
    # The HR page is the nearest passage to its question, but only for its group.
    for key, member in (("staff", False), ("hr", True)):
        body = client.post("/ask", json={"question": SECRET_QUESTION}, headers={"Authorization": keys[key]}).json()
        assert ("executive-pay" in json.dumps(body)) is member, key
