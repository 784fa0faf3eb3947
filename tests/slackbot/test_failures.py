"""Never silent, never a trace: the LLM down, the index unavailable, Slack answering 429; a long answer split."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import Settings
from slackbot.blocks import DEGRADED, UNAVAILABLE, UNCITED
from tests.servers import FakeOpenAI, free_port, serve
from tests.slackbot.conftest import bot_service, slack_settings
from tests.slackbot.stand_in import FakeSlack, event, mention, post_event, text_of
from tests.slackbot.test_events import VACATION, blocks_of

pytestmark = pytest.mark.store  # every test here builds the service, which opens the store

TRACE_BITS = ("Traceback", 'File "', "Error(")


@pytest.fixture
def llm() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    with serve(fake.app()) as url:
        yield fake, f"{url}/v1"


def llm_settings(base_url: str) -> dict[str, object]:
    return {"base_url": base_url, "api_key": "sk-test", "model": "stand-in", "max_retries": 0, "timeout_s": 5}


def test_the_llm_down_gives_the_extractive_answer_marked(
    slack: tuple[FakeSlack, str], llm: tuple[FakeOpenAI, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, api = slack
    model, llm_url = llm
    model.replies = [500, 500, 500]
    with bot_service(handbook_dir, embedder, slack_settings(api), llm=llm_settings(llm_url)) as (url, _, _bot):
        post_event(url, event(mention(VACATION, "1700000500.0001"), "Ev-llm-down"))
        [reply] = fake.wait("chat.postMessage")
    assert model.requests  # the LLM was tried
    shown = text_of(reply)
    assert DEGRADED in shown and "25" in shown and "*Sources*" in shown
    assert not any(bit in shown for bit in TRACE_BITS)


def test_an_llm_answer_citing_nothing_is_flagged_and_a_long_answer_is_split(
    slack: tuple[FakeSlack, str], llm: tuple[FakeOpenAI, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, api = slack
    model, llm_url = llm
    long = " ".join(f"Sentence {n} of a long answer about vacation days." for n in range(250))  # ~12,000 chars
    model.replies = ["Everyone gets plenty of vacation.", long + " [1]"]
    with bot_service(handbook_dir, embedder, slack_settings(api), llm=llm_settings(llm_url)) as (url, _, _bot):
        post_event(url, event(mention(VACATION, "1700000600.0001"), "Ev-uncited"))
        [uncited] = fake.wait("chat.postMessage")
        post_event(url, event(mention(VACATION, "1700000601.0001"), "Ev-long"))
        _, split = fake.wait("chat.postMessage", 2)
    assert UNCITED in text_of(uncited)
    sections = [b["text"]["text"] for b in blocks_of(split) if b["type"] == "section"]
    assert all(len(s) <= 3000 for s in sections) and len(blocks_of(split)) <= 50
    answer = " ".join(s for s in sections if s.startswith(("Sentence", "<", "[")) or "long answer" in s)
    assert "Sentence 0 of" in answer and "Sentence 249 of" in answer and len(sections) >= 5
    assert UNCITED not in text_of(split)


def test_the_index_unavailable_says_so_in_the_thread(slack: tuple[FakeSlack, str], tmp_path: Path) -> None:
    fake, api = slack
    qdrant = {"url": f"http://127.0.0.1:{free_port()}", "timeout_s": 2}  # nothing listens there
    settings = Settings(data_dir=tmp_path, qdrant=qdrant, slack=slack_settings(api), _env_file=None)  # type: ignore[call-arg]
    with serve(create_app(settings=settings)) as url:
        post_event(url, event(mention(VACATION, "1700000700.0001"), "Ev-no-index"))
        [reply] = fake.wait("chat.postMessage")
        fake.wait("reactions.remove")
    assert reply.args["thread_ts"] == "1700000700.0001"
    assert text_of(reply).startswith(UNAVAILABLE) and not any(bit in text_of(reply) for bit in TRACE_BITS)


def test_slack_429_is_retried_after_retry_after(
    slack: tuple[FakeSlack, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, api = slack
    fake.throttle = {"chat.postMessage"}
    with bot_service(handbook_dir, embedder, slack_settings(api)) as (url, _, _bot):
        post_event(url, event(mention(VACATION, "1700000800.0001"), "Ev-429"))
        [reply] = fake.wait("chat.postMessage")
    [(method, refused_at)] = fake.refused
    assert method == "chat.postMessage" and "25" in text_of(reply)
    assert reply.args["at"] - refused_at >= 1.0  # waited the Retry-After second
