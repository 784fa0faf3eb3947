"""kill -9 a real ``askdocs worker`` process mid-run, several times, then let it converge.

The index must never hold a half-replaced document, and the next run must reach exactly the points a clean
run writes: no duplicates, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.edge import EdgeIndex
from askdocs.settings import Settings
from askdocs.store.engine import make_engine
from askdocs.store.store import open_store
from ingest.sourcefile import parse_sources
from ingest.worker import JobRunner, Worker
from tests.conftest import HANDBOOK

ASKDOCS = str(Path(sys.executable).parent / "askdocs")
LEASE_S = 2
DOCS = 18


def write_corpus(folder: Path, edition: int) -> None:
    """DOCS documents made from the handbook pages, each with its own paragraph (so its own text)."""
    folder.mkdir(exist_ok=True)
    pages = sorted(HANDBOOK.glob("*.html"))
    for i in range(DOCS):
        page = pages[i % len(pages)].read_text()
        extra = f"<p>Edition {edition} of copy {i}: this copy is kept by team {i * 7 % 13}.</p>"
        (folder / f"doc-{i:02d}.html").write_text(page.replace("</main>", f"{extra}</main>"))


def snapshot(data_dir: Path) -> dict[str, tuple[str, str, int]]:
    """point id -> (doc id, version, chunk index); asserts no document is half-replaced."""
    import qdrant_edge as qe

    index = EdgeIndex(data_dir / "qdrant" / "askdocs")
    try:
        shard = index._open()
        if shard is None:
            return {}
        records, _ = shard.scroll(qe.ScrollRequest(limit=100_000, with_payload=True))
    finally:
        index.close()
    points = {str(r.id): (r.payload["doc_id"], r.payload["content_hash"], r.payload["chunk_index"]) for r in records}
    counts: dict[tuple[str, str], int] = {}
    expected: dict[tuple[str, str], int] = {}
    for r in records:
        key = (r.payload["doc_id"], r.payload["content_hash"])
        counts[key] = counts.get(key, 0) + 1
        expected[key] = r.payload["chunk_count"]
    for doc in {d for d, _ in counts}:
        complete = [v for (d, v), n in counts.items() if d == doc and n == expected[(d, v)]]
        assert complete, f"document {doc} has no complete version: {counts}"
    return points


def reference(tmp_path: Path, embedder: SentenceTransformerEmbedder, folder: Path) -> dict[str, tuple[str, str, int]]:
    """What a clean, uninterrupted run writes (same settings, same ids), in this process."""
    store = f"sqlite:///{tmp_path / 'reference' / 'askdocs.sqlite'}"  # its own store, not the test's
    settings = Settings(data_dir=tmp_path / "reference", database={"url": store}, _env_file=None)  # type: ignore[call-arg]
    index = EdgeIndex(settings.data_dir / "qdrant" / "askdocs")
    catalog = parse_sources(f"sources:\n  - name: corpus\n    folder: {folder}\n")
    queue = open_store(settings).queue
    Worker(queue, JobRunner(settings, embedder, index, catalog, uploads=queue)).drain()
    queue.engine.dispose()
    index.close()
    return snapshot(settings.data_dir)


def running(store: sa.Engine) -> tuple[float, int] | None:
    """The running job's start time and progress (documents handled), read from the state store."""
    try:
        with store.connect() as db:
            row = db.execute(
                sa.text("SELECT started_at, progress FROM jobs WHERE status = 'running' ORDER BY seq DESC")
            ).first()
    except sa.exc.DBAPIError:  # the worker has not yet created the tables
        return None
    return (float(row[0]), int(row[1])) if row else None


def kill_mid_run(env: dict[str, str], sources: Path, queue_path: sa.Engine, after_docs: int) -> str:
    """Start a worker, wait until its job has handled ``after_docs`` documents, kill -9 it. Returns its stderr.
    Waiting on progress, not on a clock, lands the kill mid-run however loaded the machine is."""
    proc = subprocess.Popen([ASKDOCS, "worker", "--sources", str(sources)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        before = running(queue_path)
        previous = before[0] if before else None  # a killed job still shows as running until it is taken over
        while (now := running(queue_path)) is None or now[0] == previous or now[1] < after_docs:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, f"the worker never got {after_docs} documents into its job"
            time.sleep(0.02)
    finally:  # killed whatever happened, so that a failed test leaves no worker behind
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    return proc.stderr.read() if proc.stderr else ""


@pytest.mark.timeout(900)
@pytest.mark.store
@pytest.mark.slow
def test_kill_9_at_any_point_converges_to_a_clean_run(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, database_url: str
) -> None:
    """On SQLite and on PostgreSQL: a killed worker's job is taken over and the index converges."""
    folder = tmp_path / "corpus"
    data_dir = tmp_path / "data"
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - name: corpus\n    folder: {folder}\n    schedule: 1h\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOCS_")} | {
        "ASKDOCS_DATA_DIR": str(data_dir),
        "ASKDOCS_WORKER__LEASE_S": str(LEASE_S),
        "ASKDOCS_WORKER__POLL_S": "0.1",
        "ASKDOCS_WORKER__MAX_ATTEMPTS": "10",
        "ASKDOCS_DATABASE__URL": database_url,
    }
    queue_path = make_engine(database_url)

    # First ingestion, killed three times at different depths, then finished by a fourth worker.
    write_corpus(folder, edition=1)
    partial = []
    for after_docs in (0, 4, 11):
        kill_mid_run(env, sources, queue_path, after_docs)
        partial.append(len({doc for doc, _, _ in snapshot(data_dir).values()}))
    assert partial[0] < DOCS and 4 <= partial[1] < DOCS and 11 <= partial[2] < DOCS, partial  # all mid-run
    done = subprocess.run(
        [ASKDOCS, "worker", "--once", "--sources", str(sources)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert snapshot(data_dir) == reference(tmp_path / "ref1", embedder, folder)

    # Every document changes; the replacement is killed mid-way: each document keeps a complete version.
    write_corpus(folder, edition=2)
    (folder / "doc-00.html").unlink()
    sources.write_text(sources.read_text().replace("schedule: 1h", "schedule: 1s"))  # due again at once
    kill_mid_run(env, sources, queue_path, 6)
    during = snapshot(data_dir)
    versions = {(doc, version) for doc, version, _ in during.values()}
    assert len(versions) >= DOCS - 1  # old versions still there for what was not yet replaced
    done = subprocess.run(
        [ASKDOCS, "worker", "--once", "--sources", str(sources)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "1 removed" in done.stderr
    assert snapshot(data_dir) == reference(tmp_path / "ref2", embedder, folder)
