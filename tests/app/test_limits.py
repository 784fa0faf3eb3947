"""The rate limits, counted in the state store: two replicas on one store enforce one limit, a frontend key's people
each have their own, an anonymous sequential client is never refused by default, a 429 names the wait and a client
that waits it gets through, and a store that cannot count leaves each process counting for itself."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import HTTPException
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.limits import RateLimits
from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import AuthSettings, Settings
from askdocs.store.engine import make_engine
from askdocs.store.keys import KeyStore
from askdocs.store.ratelimits import SqlRateCounts
from askdocs.store.schema import rate_counts
from askdocs.store.store import open_store
from tests.app.conftest import container_for

pytestmark = pytest.mark.store  # the counts live in the store

VACATION = "How many vacation days do I get?"
START = 1_800_000_000.0 + 1000.0  # 1000 s into an hour: a clock the tests move by hand


@contextmanager
def replicas(
    handbook_dir: Path, folder: Path, embedder: SentenceTransformerEmbedder, n: int, **auth: Any
) -> Iterator[list[TestClient]]:
    """``n`` services as ``askdocs serve`` builds them, each on its own copy of the handbook's index, all on the
    test's state store (ASKDOCS_DATABASE__URL): the replicas of one deployment."""
    with ExitStack() as stack:
        clients = []
        for i in range(n):
            data_dir = folder / f"replica{i}"
            shutil.copytree(handbook_dir / "qdrant", data_dir / "qdrant")
            settings = Settings(data_dir=data_dir, auth=auth, _env_file=None)  # type: ignore[call-arg]
            container = container_for(settings, embedder)
            stack.callback(container.close)
            clients.append(stack.enter_context(TestClient(create_app(container))))
        yield clients


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def made_key(folder: Path, name: str, scope: str) -> str:
    with open_store(Settings(data_dir=folder, _env_file=None)) as store:  # type: ignore[call-arg]
        return KeyStore(store.engine).create(name, scope)[1]


def test_two_replicas_on_one_store_enforce_one_limit(
    handbook_dir: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    key = bearer(made_key(tmp_path, "staff", "ask"))
    with replicas(handbook_dir, tmp_path, embedder, 2, rate_limit="4/hour") as (one, two):
        codes = [c.post("/ask", json={"question": VACATION}, headers=key).status_code for c in (one, two) * 3]
        assert codes == [200, 200, 200, 200, 429, 429]  # each replica counting alone would have let all 6 through
        refused = two.post("/ask", json={"question": VACATION}, headers=key)
        assert "rate limit of 4/hour for the key 'staff' exceeded; retry in " in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) > 0


def test_a_frontend_key_limits_each_person_it_asks_for_and_itself_as_a_whole(
    handbook_dir: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    bot = bearer(made_key(tmp_path, "slack-bot", "frontend"))
    limits = {"rate_limit": "3/hour", "frontend_rate_limit": "7/hour"}
    with replicas(handbook_dir, tmp_path, embedder, 1, **limits) as (client,):

        def ask(person: str) -> Any:
            return client.post("/ask", json={"question": VACATION, "asked_by": person}, headers=bot)

        ana = [ask("slack:UANA") for _ in range(3)]
        assert [r.status_code for r in ana] == [200, 200, 200]
        rating = {"interaction_id": ana[0].json()["interaction_id"], "rating": "helpful", "rated_by": "slack:UANA"}
        refused = client.post("/feedback", json=rating, headers=bot)  # her fourth request, whatever it is
        assert refused.status_code == 429
        assert "rate limit of 3/hour for 'slack:UANA', asked for by 'slack-bot' exceeded" in refused.json()["detail"]
        assert [ask("slack:UBEN").status_code for _ in range(2)] == [200, 200]  # his own limit, not hers
        # 6 requests of the key so far (the refused one too: the key counted it before the person was known)
        assert ask("slack:UCAT").status_code == 200
        whole = ask("slack:UDAN")
        assert whole.status_code == 429 and "rate limit of 7/hour for the key 'slack-bot'" in whole.json()["detail"]


def test_an_anonymous_sequential_client_is_never_refused_by_default(
    handbook_dir: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    """An evaluation script at full speed: questions, ratings and document lists, one after another (today's
    default once refused 9 of 129 sequential questions)."""
    assert AuthSettings().anonymous_rate_limit is None
    with replicas(handbook_dir, tmp_path, embedder, 1) as (client,):
        codes = []
        for _ in range(5):
            asked = client.post("/ask", json={"question": VACATION})
            rating = {"interaction_id": asked.json()["interaction_id"], "rating": "helpful"}
            codes += [asked.status_code, client.post("/feedback", json=rating).status_code]
            codes += [client.get("/documents").status_code for _ in range(58)]
        assert len(codes) == 300 and set(codes) == {200}


def test_an_anonymous_limit_when_set_is_per_address(
    handbook_dir: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    with replicas(handbook_dir, tmp_path, embedder, 1, anonymous_rate_limit="2/hour") as (client,):
        assert [client.get("/documents").status_code for _ in range(3)] == [200, 200, 429]
        assert "rate limit of 2/hour for the address testclient" in client.get("/documents").json()["detail"]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def limits_on(engine: sa.Engine, clock: Clock, **auth: Any) -> RateLimits:
    return RateLimits(AuthSettings(**auth), SqlRateCounts(engine), clock=clock)


def refusal(limits: RateLimits, key: str = "key:staff") -> HTTPException | None:
    try:
        limits.check(limits.caller, key, "the key 'staff'")
    except HTTPException as exc:
        return exc
    return None


def test_the_429_names_the_wait_and_a_client_that_waits_it_gets_through(database_url: str, tmp_path: Path) -> None:
    """On a clock of the test's: the wait is exact to the second, across the window's edge and within it."""
    with open_store(Settings(data_dir=tmp_path, _env_file=None)) as store:  # type: ignore[call-arg]
        clock = Clock()
        limits = limits_on(store.engine, clock, rate_limit="10/minute")
        clock.now = START - START % 60 + 45  # 45 s into a minute
        assert [refusal(limits) for _ in range(10)] == [None] * 10
        refused = refusal(limits)
        assert refused is not None and refused.status_code == 429 and refused.headers is not None
        wait = int(refused.headers["Retry-After"])
        assert refused.detail == f"rate limit of 10/minute for the key 'staff' exceeded; retry in {wait} s"
        # The 10 slide out of the window as the next minute goes on: 9 of them weigh 9 after 6 s of it.
        assert wait == 15 + 6
        clock.now += wait - 1
        assert refusal(limits) is not None  # not a second earlier (and a refused request is not counted)
        clock.now += 1
        assert refusal(limits) is None
        assert refusal(limits) is not None  # full again: 9 of the last minute's 10 still weigh in, and this one


def test_old_windows_are_pruned(database_url: str, tmp_path: Path) -> None:
    with open_store(Settings(data_dir=tmp_path, _env_file=None)) as store:  # type: ignore[call-arg]
        clock = Clock()
        limits = limits_on(store.engine, clock, rate_limit="5/minute")
        for key in ("key:a", "key:b"):
            assert refusal(limits, key) is None
        clock.now += 3 * 60  # both windows are too old to weigh in: gone at the next count
        assert refusal(limits, "key:c") is None
        with store.engine.connect() as db:
            assert [r.key for r in db.execute(sa.select(rate_counts.c.key))] == ["key:c"]


def test_replicas_counting_at_once_admit_exactly_the_limit(database_url: str, tmp_path: Path) -> None:
    """Two engines (two replicas), four threads each, all at the same key: the increments are atomic."""
    with open_store(Settings(data_dir=tmp_path, _env_file=None)) as store:  # type: ignore[call-arg]
        engines = [store.engine, make_engine(database_url)]
        clock = Clock()
        admitted: list[bool] = []
        lock = threading.Lock()

        def client(limits: RateLimits) -> None:
            for _ in range(10):
                ok = refusal(limits) is None
                with lock:
                    admitted.append(ok)

        threads = [
            threading.Thread(target=client, args=(limits_on(e, clock, rate_limit="25/hour"),))
            for e in engines
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        engines[1].dispose()
        assert len(admitted) == 80 and sum(admitted) == 25


def test_a_store_that_cannot_count_leaves_each_process_counting_its_own(caplog: pytest.LogCaptureFixture) -> None:
    down = make_engine("postgresql+psycopg://askdocs@127.0.0.1:9/nowhere?connect_timeout=2")
    limits = limits_on(down, Clock(), rate_limit="2/hour")
    with caplog.at_level(logging.WARNING, "askdocs.limits"):
        assert [refusal(limits) is None for _ in range(3)] == [True, True, False]
    down.dispose()
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "cannot count requests" in said[0] and "counting requests in this process" in said[0]


@pytest.mark.parametrize(("text", "shown"), [("120 per minute", "120/minute"), ("10/2 hours", "10/2 hours")])
def test_rates_are_read_in_either_spelling(text: str, shown: str) -> None:
    assert AuthSettings(rate_limit=text).rate_limit == shown


def test_a_bad_rate_names_the_setting_and_an_empty_one_means_none() -> None:
    with pytest.raises(ValidationError) as caught:
        AuthSettings(rate_limit="lots")
    said = str(caught.value)
    assert "rate_limit" in said and "'lots' is not a rate limit such as 120/minute" in said
    with pytest.raises(ValidationError, match="'0/minute' is not a rate limit"):
        AuthSettings(frontend_rate_limit="0/minute")
    assert AuthSettings(rate_limit="").rate_limit is None
