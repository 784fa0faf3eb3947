from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.container import Container
from app.main import create_app
from tests.servers import serve

pytestmark = pytest.mark.store  # the module's service logs every answer


@pytest.mark.parametrize(("retrieval", "most_wrong_first"), [("dense", 3), ("hybrid", 1)])
def test_handbook_questions_find_their_source_first(
    client: TestClient, handbook_questions: list[dict[str, Any]], retrieval: str, most_wrong_first: int
) -> None:
    misses, absent = [], []
    for q in handbook_questions:
        body = client.post("/ask", json={"question": q["question"], "retrieval": retrieval}).json()
        found = [(Path(s["url_or_path"]).name, s["page"]) for s in body["sources"]]
        wanted = [f for f in found if f[0] == q["source"] and (q["page"] is None or f[1] == q["page"])]
        if not wanted:
            absent.append((q["question"], found))
        elif found[0] != wanted[0]:
            misses.append((q["question"], found[0]))
    # Measured with the default structural chunker: the right source is among the sources for all 34 questions
    # in both modes, and first for 33 (hybrid) or 31 (dense).
    assert not absent, absent
    assert len(misses) <= most_wrong_first, misses


def test_vacation_answer_cites_the_leave_page(client: TestClient) -> None:
    response = client.post("/ask", json={"question": "How many vacation days do I get?"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"answer", "sources", "mode", "timings_ms"}
    assert body["mode"] == "extractive"
    assert "25" in body["answer"] and "[1]" in body["answer"]
    first = body["sources"][0]
    assert first["n"] == 1 and first["url_or_path"].endswith("leave.html") and first["snippet"]
    assert "Annual leave" in first["heading"]
    assert set(body["timings_ms"]) == {"embed", "search", "generate", "total"}
    assert body["timings_ms"]["total"] >= body["timings_ms"]["embed"] > 0


def test_a_pdf_answer_cites_its_page(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "How far ahead must business trips be booked?"}).json()
    first = body["sources"][0]
    assert first["url_or_path"].endswith("benefits-and-travel.pdf") and first["page"] == 4
    assert "14 days" in body["answer"]


def test_off_topic_questions_get_i_do_not_know(client: TestClient) -> None:
    # Not the questions the threshold was chosen on.
    for question in (
        "What year did the Roman empire fall?",
        "Who is the president of France?",
        "How many legs does a spider have?",
        "What is the speed of light?",
    ):
        body = client.post("/ask", json={"question": question}).json()
        assert body["answer"] == "I do not know.", (question, body)
        assert body["sources"] == []


def test_filters_restrict_the_search(client: TestClient) -> None:
    docs = client.get("/documents").json()
    pdf = next(d for d in docs if d["source"].endswith(".pdf"))
    body = client.post(
        "/ask", json={"question": "How many vacation days do I get?", "filters": {"doc_id": pdf["doc_id"]}}
    ).json()
    assert all(s["url_or_path"] == pdf["source"] for s in body["sources"])
    bad = client.post("/ask", json={"question": "hi there", "filters": {"title": "x"}})
    assert bad.status_code == 422 and "cannot filter on 'title'" in bad.json()["detail"]


def test_bad_questions_get_a_clear_422(client: TestClient) -> None:
    empty = client.post("/ask", json={"question": " \t\n\x00 "})
    assert empty.status_code == 422 and empty.json()["detail"] == "question is empty"
    long = client.post("/ask", json={"question": "why " * 2_600})  # 10 KiB: over the question limit
    assert long.status_code == 422 and "the limit is 2000" in long.json()["detail"]
    huge = client.post("/ask", json={"question": "why " * 262_144})  # 1 MiB: refused before it is read
    assert huge.status_code == 413 and "over the 262144 byte limit (ASKDOCS_AUTH__MAX_BODY_KB)" in huge.json()["detail"]
    assert client.post("/ask", json={"question": "vacation?", "top_k": 0}).status_code == 422
    assert client.post("/ask", content=b"not json", headers={"content-type": "application/json"}).status_code == 422


def test_control_characters_and_spacing_are_cleaned(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "  How many\x07 vacation\n\n days   do I get?  "}).json()
    assert body["sources"][0]["url_or_path"].endswith("leave.html")


def test_health_ready_and_openapi(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready" and ready["dimension"] == 384 and ready["points"] > 0
    assert ready["precision"] in ("fp32", "bf16") and ready["index_precisions"] == [ready["precision"]], ready
    assert client.get("/docs").status_code == 200
    assert "/ask" in client.get("/openapi.json").json()["paths"]


def test_ask_over_real_http(handbook_service: tuple[TestClient, Container]) -> None:
    _, container = handbook_service
    with serve(create_app(container)) as url:  # the module's service, under uvicorn
        body = httpx.post(f"{url}/ask", json={"question": "What is the minimum password length?"}, timeout=30).json()
    assert "14" in body["answer"]
    assert body["sources"][0]["url_or_path"].endswith("security.html")
