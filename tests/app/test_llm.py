"""The prompted path through the real ``openai`` client against a stand-in server on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import ConfigError
from askdocs.settings import Settings, load_settings
from tests.app.conftest import container_for
from tests.servers import FakeOpenAI, serve


@pytest.fixture
def fake_llm() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    with serve(fake.app()) as url:
        yield fake, f"{url}/v1"


def llm_client(
    handbook_dir: Path, embedder: SentenceTransformerEmbedder, base_url: str, **llm: object
) -> tuple[TestClient, object]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=handbook_dir,
        _env_file=None,
        llm={
            "base_url": base_url,
            "api_key": "sk-test",
            "model": "stand-in-model",
            "max_retries": 1,
            "timeout_s": 5,
            **llm,
        },
    )
    container = container_for(settings, embedder)
    return TestClient(create_app(container)), container


def test_prompt_holds_numbered_context_and_citations_map_to_sources(
    fake_llm: tuple[FakeOpenAI, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, url = fake_llm
    fake.replies = ["You get 25 vacation days per calendar year [2]."]
    client, container = llm_client(handbook_dir, embedder, url)
    with client:
        body = client.post("/ask", json={"question": "How many vacation days do I get?"}).json()
    container.close()  # type: ignore[attr-defined]

    [request] = fake.requests
    assert request["model"] == "stand-in-model"
    assert fake.headers[0]["authorization"] == "Bearer sk-test"
    system, user = request["messages"]
    assert system["role"] == "system" and "If you do not know the answer" not in system["content"]
    assert "I do not know." in system["content"] and "expert on this company's documents" in system["content"]
    blocks = re.findall(r"^\[(\d+)\] (.+)$", user["content"], flags=re.M)
    assert [int(n) for n, _ in blocks] == list(range(1, len(body["sources"]) + 1))
    assert user["content"].rstrip().endswith("Question: How many vacation days do I get?")
    # Block [2] as the model saw it is source n=2 in the response.
    second_label = dict(blocks)["2"]
    source_2 = body["sources"][1]
    assert source_2["n"] == 2 and source_2["title"] in second_label
    assert source_2["snippet"][:40] in user["content"].replace("\n", " ").replace("  ", " ")
    assert body["mode"] == "prompted" and body["answer"].endswith("[2].")


def test_model_saying_it_does_not_know_drops_the_sources(
    fake_llm: tuple[FakeOpenAI, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, url = fake_llm
    fake.replies = ["I do not know."]
    client, container = llm_client(handbook_dir, embedder, url)
    with client:
        body = client.post("/ask", json={"question": "How many vacation days do I get?"}).json()
    container.close()  # type: ignore[attr-defined]
    assert body == body | {"answer": "I do not know.", "sources": [], "mode": "prompted"}


def test_no_passage_above_the_threshold_never_calls_the_model(
    fake_llm: tuple[FakeOpenAI, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, url = fake_llm
    client, container = llm_client(handbook_dir, embedder, url)
    with client:
        body = client.post("/ask", json={"question": "Who is the president of France?"}).json()
    container.close()  # type: ignore[attr-defined]
    assert body["answer"] == "I do not know." and body["sources"] == []
    assert fake.requests == []


def test_llm_failure_is_retried_then_answered_extractively(
    fake_llm: tuple[FakeOpenAI, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, url = fake_llm
    fake.replies = [503, 503, 503]
    client, container = llm_client(handbook_dir, embedder, url)
    with client:
        response = client.post("/ask", json={"question": "How many vacation days do I get?"})
    container.close()  # type: ignore[attr-defined]
    body = response.json()
    assert response.status_code == 200
    assert len(fake.requests) == 2  # one try and one retry (max_retries=1)
    assert body["mode"] == "extractive" and body["degraded"] is True
    assert "HTTP 503" in body["reason"] and "25" in body["answer"]


def test_openai_without_a_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASKDOCS_LLM__BASE_URL", "https://api.openai.com/v1")
    monkeypatch.delenv("ASKDOCS_LLM__API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ASKDOCS_LLM__API_KEY is required"):
        load_settings(_env_file=None)
