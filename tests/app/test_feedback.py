"""Every answer is logged and can be rated: /ask and /ask/stream give an interaction_id that POST /feedback takes;
admins read the log, filtered, and its statistics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import Settings
from tests.app.conftest import container_for

pytestmark = pytest.mark.store  # every test here builds the service, which opens the store

ADMIN = {"Authorization": "Bearer s3cret"}


def test_an_answer_is_logged_and_its_feedback_recorded(own_client: TestClient) -> None:
    asked = own_client.post("/ask", json={"question": "How many vacation days do I get?"}).json()
    interaction_id = asked["interaction_id"]
    assert isinstance(interaction_id, str) and len(interaction_id) == 32
    first = own_client.post("/feedback", json={"interaction_id": interaction_id, "rating": "helpful"})
    assert first.status_code == 200 and first.json()["replaced"] is False
    second = own_client.post(
        "/feedback",
        json={"interaction_id": interaction_id, "rating": "not_helpful", "corrected_answer": "25 days [1]."},
    )
    assert second.status_code == 200
    assert second.json() == {
        "interaction_id": interaction_id,
        "rating": "not_helpful",
        "replaced": True,
        "detail": "replaced the earlier rating",
    }
    logged = own_client.get(f"/interactions/{interaction_id}", headers=ADMIN).json()
    assert logged["question"] == "How many vacation days do I get?" and logged["channel"] == "api"
    assert logged["answer"] == asked["answer"] and logged["mode"] == "extractive"
    assert logged["feedback"]["rating"] == "not_helpful" and logged["feedback"]["corrected_answer"] == "25 days [1]."
    assert [h["rank"] for h in logged["hits"]] == list(range(1, len(logged["hits"]) + 1))
    assert logged["cited"] and set(logged["cited"]) <= {h["point_id"] for h in logged["hits"]}


def test_unknown_ids_and_bad_ratings(own_client: TestClient) -> None:
    missing = own_client.post("/feedback", json={"interaction_id": "0" * 32, "rating": "helpful"})
    assert missing.status_code == 404 and "no interaction" in missing.json()["detail"]
    assert own_client.post("/feedback", json={"interaction_id": "x", "rating": "great"}).status_code == 422
    assert own_client.get("/interactions/" + "0" * 32, headers=ADMIN).status_code == 404


def test_streamed_answers_are_logged_too(own_client: TestClient) -> None:
    with own_client.stream("POST", "/ask/stream", json={"question": "Who do I call when production is down?"}) as r:
        text = "".join(r.iter_text())
    done = json.loads(text.split("event: done\ndata: ")[1].split("\n\n")[0])
    logged = own_client.get(f"/interactions/{done['interaction_id']}", headers=ADMIN).json()
    assert logged["channel"] == "stream" and logged["answer"] == done["answer"]


def test_admins_list_filter_and_count(own_client: TestClient) -> None:
    for question in ("How many vacation days do I get?", "What is the airspeed of an unladen swallow?"):
        own_client.post("/ask", json={"question": question})
    assert own_client.get("/interactions").status_code in (401, 403)
    everything = own_client.get("/interactions", headers=ADMIN).json()
    assert len(everything) >= 2
    unanswered = own_client.get("/interactions", params={"idk": "true"}, headers=ADMIN).json()
    assert unanswered and all(i["idk"] for i in unanswered)
    assert any(i["question"] == "What is the airspeed of an unladen swallow?" for i in unanswered)
    figures = own_client.get("/interactions/stats", params={"since": "1d"}, headers=ADMIN).json()
    assert figures["questions"] == len(everything) and 0 < figures["idk_share"] < 1
    assert figures["latency_ms"]["extractive"]["n"] == len(everything)
    assert own_client.get("/interactions", params={"since": "soon"}, headers=ADMIN).status_code == 422


@pytest.fixture
def unlogged(handbook_dir: Path, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    settings = Settings(data_dir=handbook_dir, log={"enabled": False}, _env_file=None)  # type: ignore[call-arg]
    container = container_for(settings, embedder)
    with TestClient(create_app(container)) as client:
        yield client
    container.close()


def test_with_the_log_off_nothing_is_kept(unlogged: TestClient) -> None:
    asked = unlogged.post("/ask", json={"question": "How many vacation days do I get?"}).json()
    assert asked["interaction_id"] is None
    refused = unlogged.post("/feedback", json={"interaction_id": "x" * 32, "rating": "helpful"})
    assert refused.status_code == 503 and "ASKDOCS_LOG__ENABLED=false" in refused.json()["detail"]
