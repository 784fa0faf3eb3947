"""The bot's memory in the state store, on SQLite and on a real PostgreSQL server: a retried event is answered
once by any of several replicas, a thread is followed after a restart, and a failing store never silences the bot."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import Settings
from askdocs.store.engine import make_engine, upgrade
from askdocs.store.schema import slack_events
from cli.slack_cmd import shared_memory
from slackbot.memory import EVENT_TTL_S, SqlSlackMemory
from tests.slackbot.conftest import bot_service, slack_settings
from tests.slackbot.stand_in import FakeSlack, event, mention, message, post_event

VACATION = "How many vacation days do I get?"


def migrated(url: str) -> sa.Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


@pytest.mark.store
def test_of_two_processes_that_get_the_same_event_exactly_one_handles_it(database_url: str) -> None:
    first, second = migrated(database_url), make_engine(database_url)  # two replicas, two connection pools
    a, b = SqlSlackMemory(first), SqlSlackMemory(second)
    barrier = threading.Barrier(8)
    won: list[bool] = []

    def race(memory: SqlSlackMemory) -> None:
        barrier.wait()
        won.append(memory.first_time("Ev-race"))

    threads = [threading.Thread(target=race, args=(m,)) for m in (a, b) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won) == [False] * 7 + [True]
    assert a.first_time("Ev-other") and not b.first_time("Ev-other")

    assert not b.follows("C1", "1.1")
    a.answered_in("C1", "1.1")
    a.answered_in("C1", "1.1")  # again: refreshed, not a second row
    assert b.follows("C1", "1.1") and not b.follows("C1", "1.2") and not b.follows("C2", "1.1")
    first.dispose()
    second.dispose()


@pytest.mark.store
def test_events_older_than_the_window_are_forgotten(database_url: str) -> None:
    engine = migrated(database_url)
    with engine.begin() as db:
        db.execute(slack_events.insert().values(event_id="Ev-old", seen_at=time.time() - EVENT_TTL_S - 60))
    memory = SqlSlackMemory(engine)
    assert memory.first_time("Ev-new")  # the first call prunes
    with engine.connect() as db:
        kept = [r[0] for r in db.execute(sa.select(slack_events.c.event_id))]
    assert kept == ["Ev-new"]
    engine.dispose()


def test_a_store_that_fails_falls_back_to_this_process_memory(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://u:p@127.0.0.1:{port}/db?connect_timeout=2"
    settings = Settings(data_dir=tmp_path, database={"url": url}, _env_file=None)  # type: ignore[arg-type]
    assert shared_memory(settings) is None  # `askdocs slack` starts with its own memory, and says so
    down = make_engine(url)
    memory = SqlSlackMemory(down)
    assert memory.first_time("Ev-1") and not memory.first_time("Ev-1")  # still answered once, by this process
    memory.answered_in("C1", "1.1")
    assert memory.follows("C1", "1.1") and not memory.follows("C1", "1.2")
    down.dispose()


@pytest.mark.store
def test_two_replicas_answer_a_retried_event_once_and_follow_a_thread_after_a_restart(
    slack: tuple[FakeSlack, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    """Two services with their own indexes and one state store (the test's ASKDOCS_DATABASE__URL), as behind a
    load balancer: Slack's retry reaches the other replica, the follow-up a third process after a restart."""
    fake, api = slack
    other = shutil.copytree(handbook_dir, tmp_path / "replica-b")
    body = event(mention(VACATION, "1700000900.000100"), "Ev-replicas")
    follow = message("And how do I request parental leave?", "1700000901.000100", thread_ts="1700000900.000100")
    with (
        bot_service(handbook_dir, embedder, slack_settings(api)) as (a, _, bot_a),
        bot_service(other, embedder, slack_settings(api)) as (b, _, bot_b),
    ):
        assert post_event(a, body).status_code == 200
        fake.wait("chat.postMessage")
        retried = post_event(b, body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
        assert retried.status_code == 200
        bot_a.wait_idle()
        bot_b.wait_idle()
        assert len(fake.of("chat.postMessage")) == 1  # the other replica knew the event
    with bot_service(other, embedder, slack_settings(api)) as (restarted, _, _bot):
        post_event(restarted, event(follow, "Ev-replicas-follow"))
        [_, answered] = fake.wait("chat.postMessage", 2)
    assert answered.args["thread_ts"] == "1700000900.000100" and "parental" in str(answered.args).lower()
