"""The state store on SQLite and on a real PostgreSQL server: migrations, the data of older versions carried
over, the interaction log with feedback, redaction, retention and statistics."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from askdocs.components import make_pipeline
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.factory import open_index
from askdocs.jobs import JobStatus
from askdocs.settings import Settings
from askdocs.store.engine import current_revision, make_engine, upgrade
from askdocs.store.interactions import Feedback, Interaction, LogQuery, interaction_of, parse_age
from askdocs.store.schema import interactions, metadata
from askdocs.store.sqllog import BackgroundLog, SqlInteractionLog
from askdocs.store.stats import log_stats
from askdocs.store.store import open_store


def store_settings(data_dir: Path, url: str, **more: object) -> Settings:
    return Settings(data_dir=data_dir, database={"url": url}, _env_file=None, **more)  # type: ignore[arg-type]


@pytest.mark.store
def test_the_schema_is_migrated_on_open_and_again_is_a_no_op(empty_store_url: str, tmp_path: Path) -> None:
    store = open_store(store_settings(tmp_path, empty_store_url))
    current, head = current_revision(store.engine)
    assert current == head == "0006"
    tables = {"jobs", "uploads", "validators", "interactions", "feedback", "slack_events", "slack_threads"}
    assert tables | {"api_keys", "rate_counts"} <= set(sa.inspect(store.engine).get_table_names())
    store.close()
    again = open_store(store_settings(tmp_path, empty_store_url))
    assert current_revision(again.engine) == ("0006", "0006")
    again.close()


MIGRATE = "import sys; from askdocs.store.engine import make_engine, upgrade; upgrade(make_engine(sys.argv[1]))"


@pytest.mark.store
def test_replicas_starting_at_once_on_an_empty_store_all_start(empty_store_url: str) -> None:
    """Four processes migrating one empty store at the same moment, as API replicas and workers do on start: they
    take turns, and none fails on a table another has just created (nor hangs)."""
    started = [
        subprocess.Popen([sys.executable, "-c", MIGRATE, empty_store_url], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    said = [p.communicate(timeout=120)[1] for p in started]
    assert [p.returncode for p in started] == [0] * 4, said
    engine = make_engine(empty_store_url)
    assert current_revision(engine) == ("0006", "0006")
    engine.dispose()


@pytest.mark.store
def test_the_migrations_make_the_tables_of_schema_py(empty_store_url: str) -> None:
    """Nothing of schema.py left out of a migration (0006's asker among them), nothing a migration made
    that schema.py does not hold: columns, types, keys and indexes."""
    engine = make_engine(empty_store_url)
    upgrade(engine)
    with engine.connect() as db:
        differences = compare_metadata(MigrationContext.configure(db, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert differences == []


_OLD_QUEUE = (  # askdocs.jobs' table before the state store
    "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL, spec TEXT NOT NULL, "
    "key TEXT, source TEXT, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, worker TEXT, "
    "lease_until REAL, created_at REAL NOT NULL, started_at REAL, finished_at REAL, "
    "result TEXT NOT NULL DEFAULT '{}', error TEXT, progress INTEGER NOT NULL DEFAULT 0)"
)


@pytest.mark.store
def test_a_data_dir_of_the_previous_version_is_carried_over(empty_store_url: str, tmp_path: Path) -> None:
    """The job queue and web validators of ``jobs.sqlite`` / ``web_cache.sqlite`` move into the store, once."""
    with sqlite3.connect(tmp_path / "jobs.sqlite") as old:
        old.execute(_OLD_QUEUE)
        result = {"results": [{"source": "a.html", "status": "new", "chunks": 3}], "sync": None}
        old.execute(
            "INSERT INTO jobs (job_id, seq, kind, spec, status, created_at, finished_at, result) "
            "VALUES ('j1', 1, 'url', ?, 'done', 1.0, 2.0, ?)",
            (json.dumps({"url": "https://a.example/"}), json.dumps(result)),
        )
        old.execute(
            "INSERT INTO jobs (job_id, seq, kind, spec, status, created_at) VALUES ('j2', 2, 'url', ?, 'queued', 3.0)",
            (json.dumps({"url": "https://b.example/"}),),
        )
    with sqlite3.connect(tmp_path / "web_cache.sqlite") as old:
        old.execute("CREATE TABLE validators (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        old.execute("INSERT INTO validators VALUES ('https://a.example/', ?)", (json.dumps({"etag": '"x"'}),))
    store = open_store(store_settings(tmp_path, empty_store_url))
    done = store.queue.get("j1")
    assert done is not None and done.status is JobStatus.DONE and done.result.counts()["new"] == 1
    queued = store.queue.claim("w")
    assert queued is not None and queued.job_id == "j2"
    with store.engine.connect() as db:
        assert db.execute(sa.text("SELECT value FROM validators")).scalar() in ({"etag": '"x"'}, '{"etag": "\\"x\\""}')
    assert not (tmp_path / "jobs.sqlite").exists() and (tmp_path / "jobs.sqlite.carried-over").exists()
    assert (tmp_path / "web_cache.sqlite.carried-over").exists()
    store.close()


@pytest.fixture
def answered(handbook_dir: Path, embedder: SentenceTransformerEmbedder) -> tuple[object, object]:
    """Two real answers: one from the handbook, one "I do not know"."""
    settings = Settings(data_dir=handbook_dir, _env_file=None)  # type: ignore[call-arg]
    index = open_index(settings)
    pipeline = make_pipeline(settings, embedder, index)
    known = pipeline.ask("How many vacation days do I get?")
    unknown = pipeline.ask("What is the airspeed of an unladen swallow?")
    index.close()
    return known, unknown


@pytest.mark.store
def test_an_answer_is_logged_with_what_led_to_it_and_rated(
    database_url: str, tmp_path: Path, answered: tuple[object, object]
) -> None:
    known, unknown = answered
    with open_store(store_settings(tmp_path, database_url)) as store:
        logged_and_rated(store.interactions, known, unknown)


def logged_and_rated(log: SqlInteractionLog, known: Any, unknown: Any) -> None:
    entry = interaction_of(known, question="How many vacation days do I get?", channel="api", asked_by="k1")  # type: ignore[arg-type]
    log.record(entry)
    log.record(interaction_of(unknown, question="What is the airspeed of an unladen swallow?", channel="cli"))  # type: ignore[arg-type]
    found = log.get(entry.interaction_id)
    assert found is not None and found.interaction == entry and found.feedback is None
    stored = found.interaction
    assert stored.hits and stored.hits[0]["rank"] == 1 and stored.hits[0]["point_id"]
    assert stored.context.startswith("[1] ") and stored.prompt and not stored.idk
    assert set(stored.timings) == {"embed", "search", "generate", "total"} and stored.asked_by == "k1"
    assert log.rate(Feedback(entry.interaction_id, "helpful", created_at=time.time())) is False
    assert log.rate(Feedback(entry.interaction_id, "not_helpful", "wrong year", "30 days", "u1", time.time())) is True
    rated = log.get(entry.interaction_id)
    assert rated is not None and rated.feedback is not None
    assert (rated.feedback.rating, rated.feedback.corrected_answer) == ("not_helpful", "30 days")
    with pytest.raises(LookupError):
        log.rate(Feedback("nope", "helpful"))
    assert [i.interaction.channel for i in log.find(LogQuery(idk=True))] == ["cli"]
    assert [i.interaction.interaction_id for i in log.find(LogQuery(rating="not_helpful"))] == [entry.interaction_id]
    assert log.prune(time.time() + 1) == 2 and log.find(LogQuery()) == []


@pytest.mark.store
def test_redaction_stores_no_question_text(database_url: str, tmp_path: Path, answered: tuple[object, object]) -> None:
    known, _ = answered
    store = open_store(store_settings(tmp_path, database_url))
    secret = "How many vacation days do I get?"
    store.interactions.record(interaction_of(known, question=secret, channel="api", redact=True))  # type: ignore[arg-type]
    with store.engine.connect() as db:
        rows = db.execute(sa.text("SELECT * FROM interactions")).mappings().all()
    assert len(rows) == 1 and rows[0]["question"] is None and rows[0]["sanitized"] is None
    assert not any(isinstance(v, str) and "vacation days do I get" in v for v in rows[0].values())
    assert len(rows[0]["question_hash"]) == 64
    store.close()


def test_a_store_that_is_down_never_breaks_or_blocks_the_answer(answered: tuple[object, object]) -> None:
    known, _ = answered
    down = SqlInteractionLog(make_engine("postgresql+psycopg://askdocs@127.0.0.1:9/nowhere?connect_timeout=2"))
    log = BackgroundLog(down)
    started = time.perf_counter()
    log.record(interaction_of(known, question="q", channel="api"))  # type: ignore[arg-type]
    assert time.perf_counter() - started < 0.05  # handed over, not written, on the answer's path
    log.flush(30)
    assert log.failures == 1
    log.close()


def _entry(i: int, *, idk: bool, mode: str = "extractive", total: float = 100.0, question: str = "") -> Interaction:
    return Interaction(
        f"id{i}",
        1_699_920_000 + 3600 * i,
        "api",
        None,
        question or f"question {i}",
        "h" * 64,
        question,
        [],
        "hybrid",
        [],
        "",
        "",
        "I do not know." if idk else "An answer [1].",
        idk,
        mode,
        "",
        0,
        0,
        {"total": total},
        False,
        None,
    )


@pytest.mark.store
def test_stats_count_rates_latency_and_group_open_questions(database_url: str, tmp_path: Path) -> None:
    log = SqlInteractionLog(open_store(store_settings(tmp_path, database_url)).engine)
    entries = [_entry(i, idk=False, total=100.0 * (i + 1)) for i in range(4)]
    entries += [
        _entry(10, idk=True, question="Where is the parking garage?"),
        _entry(11, idk=True, question="where is the PARKING garage"),
        _entry(12, idk=True, question="Who signs expense reports?", mode="prompted", total=900.0),
    ]
    for entry in entries:
        log.record(entry)
    log.rate(Feedback("id0", "helpful", created_at=1.0))
    log.rate(Feedback("id1", "not_helpful", created_at=1.0))
    figures = log_stats(log.find(LogQuery(limit=100)))
    assert figures.questions == 7 and figures.idk_share == round(3 / 7, 4) and figures.answered_share == round(4 / 7, 4)
    assert (figures.rated, figures.helpful, figures.not_helpful) == (2, 1, 1)
    assert figures.per_day == {"2023-11-14": 7}
    assert figures.latency_ms["extractive"]["n"] == 6 and figures.latency_ms["prompted"] == {
        "n": 1,
        "p50": 900.0,
        "p95": 900.0,
    }
    assert figures.unanswered[0] == {"question": "where is the PARKING garage", "count": 2}


def test_ages_are_parsed() -> None:
    assert parse_age("90d") == 90 * 86400 and parse_age("12h") == 43200 and parse_age("30m") == 1800
    with pytest.raises(ValueError, match="'soon' is not an age such as 90d"):
        parse_age("soon")


@pytest.mark.store
def test_the_log_of_an_earlier_version_keeps_who_asked(empty_store_url: str) -> None:
    """Migration 0004 renames the column ``caller`` to ``asked_by`` in place: a row written before keeps its value.
    0006 adds ``asker`` empty for it: its kind was never recorded, so no caller's /me/questions lists it."""
    engine = make_engine(empty_store_url)
    upgrade(engine, "0003")
    row = {c.name: None for c in interactions.columns if c.name not in ("asked_by", "asker")} | {"caller": "team-hr"}
    row |= {"interaction_id": "old", "created_at": 1.0, "channel": "api", "question_hash": "h", "signals": "[]"}
    row |= {"retrieval": "dense", "hits": "[]", "context": "", "prompt": "", "answer": "a", "idk": False}
    row |= {"mode": "extractive", "model": "", "prompt_tokens": 0, "completion_tokens": 0, "timings": "{}"}
    row |= {"degraded": False, "cited": "[]"}
    with engine.begin() as db:
        columns = ", ".join(row)
        db.execute(sa.text(f"INSERT INTO interactions ({columns}) VALUES ({', '.join(':' + k for k in row)})"), row)
    upgrade(engine)
    log = SqlInteractionLog(engine)
    found = log.get("old")
    mine = log.find(LogQuery(asker="key:team-hr"))
    engine.dispose()
    assert found is not None and found.interaction.asked_by == "team-hr" and found.interaction.asker is None
    assert mine == []
