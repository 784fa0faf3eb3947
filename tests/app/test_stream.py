"""POST /ask/stream: Server-Sent Events through the app, the LLM modes through the real ``openai`` client."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.container import Container
from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import VectorIndexError
from askdocs.index.factory import open_index
from askdocs.models import AnswerMode, Hit
from askdocs.qa.generate import Generated, Query
from askdocs.qa.pipeline import AnswerPipeline
from askdocs.settings import Settings
from tests.app.conftest import container_for
from tests.app.test_llm import llm_client
from tests.servers import FakeOpenAI, pieces, serve

VACATION = {"question": "How many vacation days do I get?"}


def events(text: str) -> list[tuple[str, Any]]:
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        assert set(fields) == {"event", "data"}, block
        out.append((fields["event"], json.loads(fields["data"])))
    return out


def without_timings(body: dict[str, Any]) -> dict[str, Any]:
    """The answer without what differs between two askings: timings and the interaction logged."""
    assert set(body["timings_ms"]) == {"embed", "search", "generate", "total"}
    assert len(body["interaction_id"]) == 32
    return {k: v for k, v in body.items() if k not in ("timings_ms", "interaction_id")}


def ask_both(client: TestClient, body: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """/ask then /ask/stream for the same question."""
    answer = client.post("/ask", json=body)
    stream = client.post("/ask/stream", json=body)
    assert answer.status_code == stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    return answer.json(), events(stream.text)


@pytest.fixture
def fake_llm() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    with serve(fake.app()) as url:
        yield fake, f"{url}/v1"


@pytest.mark.store
def test_llm_stream_sends_sources_then_tokens_then_what_ask_answers(
    fake_llm: tuple[FakeOpenAI, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, url = fake_llm
    reply = "You get 25 vacation days per calendar year [2]. Unused days expire [9]."
    fake.replies = [reply, reply]
    client, container = llm_client(handbook_dir, embedder, url)
    with client:
        asked, streamed = ask_both(client, VACATION)
    container.close()  # type: ignore[attr-defined]

    names = [name for name, _ in streamed]
    assert names == ["sources"] + ["token"] * (len(names) - 2) + ["done"] and len(names) > 3
    tokens = [data["text"] for name, data in streamed if name == "token"]
    assert tokens == pieces(reply) and "".join(tokens) == reply

    sources, done = streamed[0][1], streamed[-1][1]
    assert without_timings(done) == without_timings(asked)
    assert done["answer"] == "You get 25 vacation days per calendar year [1]. Unused days expire."
    assert done["mode"] == "prompted" and done["degraded"] is False and done["uncited"] is False
    # The sources event numbers the passages as the model saw them; done puts the cited block [2] first.
    assert [s["n"] for s in sources] == list(range(1, len(sources) + 1)) and not any(s["cited"] for s in sources)
    assert done["sources"][0] == sources[1] | {"n": 1, "cited": True}
    assert sorted(s["snippet"] for s in done["sources"]) == sorted(s["snippet"] for s in sources)

    plain, stream = fake.requests
    assert "stream" not in plain
    assert stream["stream"] is True and stream["stream_options"] == {"include_usage": True}
    assert stream["messages"] == plain["messages"]


@pytest.mark.store
def test_extractive_stream_is_one_token_and_the_ask_answer(client: TestClient) -> None:
    asked, streamed = ask_both(client, VACATION)
    assert [name for name, _ in streamed] == ["sources", "token", "done"]
    (_, sources), (_, token), (_, done) = streamed
    assert without_timings(done) == without_timings(asked)
    assert token == {"text": done["answer"]} and "25" in done["answer"] and done["mode"] == "extractive"
    assert done["uncited"] is False and done["sources"][0]["cited"] is True
    assert len(sources) == len(done["sources"])


@pytest.mark.store
def test_a_question_with_no_passages_streams_i_do_not_know(client: TestClient) -> None:
    asked, streamed = ask_both(client, {"question": "Who is the president of France?"})
    assert streamed[:2] == [("sources", []), ("token", {"text": "I do not know."})]
    assert without_timings(streamed[2][1]) == without_timings(asked)


@pytest.mark.store
def test_llm_failing_before_the_first_token_streams_the_extractive_answer(
    fake_llm: tuple[FakeOpenAI, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, url = fake_llm
    fake.replies = [503, 503, 503, 503]
    client, container = llm_client(handbook_dir, embedder, url)
    with client:
        asked, streamed = ask_both(client, VACATION)
    container.close()  # type: ignore[attr-defined]

    assert len(fake.requests) == 4  # each tried once and retried once
    assert [name for name, _ in streamed] == ["sources", "token", "done"]
    done = streamed[-1][1]
    assert without_timings(done) == without_timings(asked)
    assert done["degraded"] is True and done["mode"] == "extractive" and "HTTP 503" in done["reason"]
    assert streamed[1][1]["text"] == done["answer"] and "25" in done["answer"]


@pytest.mark.store
def test_llm_breaking_off_mid_answer_ends_with_the_degraded_extractive_answer(
    fake_llm: tuple[FakeOpenAI, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, url = fake_llm
    fake.replies = [("You get 25 vacation", 503)]
    client, container = llm_client(handbook_dir, embedder, url)
    with client:
        streamed = events(client.post("/ask/stream", json=VACATION).text)
        extractive = client.post("/ask", json=VACATION | {"mode": "extractive"}).json()
    container.close()  # type: ignore[attr-defined]

    tokens = [data["text"] for name, data in streamed if name == "token"]
    assert tokens == [*pieces("You get 25 vacation"), extractive["answer"]]  # sent pieces stay sent
    done = streamed[-1][1]
    assert streamed[-1][0] == "done" and done["degraded"] is True and done["mode"] == "extractive"
    assert done["reason"] == "the LLM endpoint failed while answering: stand-in failure mid-stream"
    assert without_timings(done) == without_timings(extractive) | {"degraded": True, "reason": done["reason"]}


class FirstK:
    needs_vectors = False

    def select(self, hits: Sequence[Hit], top_k: int) -> list[Hit]:
        return list(hits[:top_k])


class Exploding:
    """A generator that fails the way a bug or a lost index would, after the stream has started."""

    mode: AnswerMode = "extractive"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def generate(self, query: Query, contexts: Sequence[Hit]) -> Generated:
        raise self.error

    def stream(self, query: Query, contexts: Sequence[Hit]) -> Iterator[Generated]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (RuntimeError("secret internals"), "internal error; see the service log"),
        (VectorIndexError("shard 3 is gone"), "the index is unavailable: shard 3 is gone"),
    ],
)
def test_an_error_while_streaming_is_an_error_event(
    handbook_settings: Settings, embedder: SentenceTransformerEmbedder, error: Exception, detail: str
) -> None:
    index = open_index(handbook_settings)
    pipeline = AnswerPipeline(embedder, index, FirstK(), {"extractive": Exploding(error)})
    container = Container(handbook_settings, embedder, index, pipeline)
    with TestClient(create_app(container)) as client:
        response = client.post("/ask/stream", json=VACATION)
    container.close()
    assert response.status_code == 200
    streamed = events(response.text)
    assert [name for name, _ in streamed] == ["sources", "error"] and streamed[0][1]
    assert streamed[1][1] == {"detail": detail}
    assert "Traceback" not in response.text and "secret" not in response.text


@pytest.mark.store
def test_a_bad_request_is_a_plain_http_error_before_streaming(client: TestClient) -> None:
    empty = client.post("/ask/stream", json={"question": " \x00 "})
    assert empty.status_code == 422 and empty.json() == {"detail": "question is empty"}
    assert empty.headers["content-type"] == "application/json"
    bad_filter = client.post("/ask/stream", json={"question": "vacation?", "filters": {"title": "x"}})
    assert bad_filter.status_code == 422 and "cannot filter on 'title'" in bad_filter.json()["detail"]
    assert client.post("/ask/stream", json={"question": "vacation?", "top_k": 0}).status_code == 422


@pytest.mark.store
def test_stream_over_real_http_arrives_as_events(
    handbook_settings: Settings, embedder: SentenceTransformerEmbedder
) -> None:
    container = container_for(handbook_settings, embedder)
    question = {"question": "What is the minimum password length?"}
    with (
        serve(create_app(container)) as url,
        httpx.stream("POST", f"{url}/ask/stream", json=question, timeout=30) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        lines = list(response.iter_lines())
    container.close()
    streamed = events("\n".join(lines))
    assert [name for name, _ in streamed] == ["sources", "token", "done"]
    done = streamed[-1][1]
    assert "14" in done["answer"] and done["sources"][0]["url_or_path"].endswith("security.html")


def test_an_asker_needs_the_extractive_fallback_and_a_default_mode_it_has(
    embedder: SentenceTransformerEmbedder,
) -> None:
    index: Any = None  # never reached: the constructor only checks its parameters
    with pytest.raises(ValueError, match="generators must include 'extractive'"):
        AnswerPipeline(embedder, index, FirstK(), {"prompted": Exploding(RuntimeError())})
    with pytest.raises(ValueError, match="default mode 'finetuned' has no generator; available: extractive"):
        AnswerPipeline(embedder, index, FirstK(), {"extractive": Exploding(RuntimeError())}, mode="finetuned")
