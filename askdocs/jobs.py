"""The durable ingest job queue. The service submits; workers claim, run and finish jobs.

The embedded default is a SQLite file (``<data_dir>/jobs.sqlite``, WAL mode): it survives restarts, and
several worker processes on one machine (or one shared volume with working POSIX locks) can share it.
A claim is one ``BEGIN IMMEDIATE`` transaction, so no two workers ever hold the same job. A claimed job
carries a lease that its worker renews while it runs; a worker killed mid-job stops renewing, the lease
runs out and another worker (or the restarted one) takes the job again. Ingestion is idempotent, so
running a job twice after a crash converges to the same index.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol


class JobKind(StrEnum):
    UPLOAD = "upload"  # a file sent to POST /ingest, stored under the uploads folder until done
    URL = "url"  # one web page or PDF to fetch
    SYNC = "sync"  # bring one sources.yaml source up to date


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class Job:
    job_id: str
    kind: JobKind
    spec: dict[str, Any]  # kind-specific: {"path", "name", "content_type"} | {"url"} | {"source"}
    status: JobStatus
    attempts: int = 0
    worker: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    progress: int = 0  # documents handled so far by the current attempt

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


class JobQueue(Protocol):
    def submit(self, kind: JobKind, spec: dict[str, Any], *, key: str | None = None) -> Job | None:
        """Queue a job. With ``key``, only if no queued or running job has that key (None then)."""
        ...

    def claim(self, worker: str, *, sources: Sequence[str] | None = None) -> Job | None:
        """Atomically take the oldest runnable job (queued, or running with an expired lease).
        ``sources``: the sync jobs this worker may take (its shard); None takes any."""
        ...

    def renew(self, job_id: str, worker: str) -> bool:
        """Extend the lease; False when the job is no longer this worker's."""
        ...

    def finish(self, job_id: str, worker: str, result: dict[str, Any], error: str | None = None) -> None: ...

    def progress(self, job_id: str, worker: str, done: int) -> None:
        """Record how many documents the running job has handled (shown by GET /ingest/{job_id})."""
        ...

    def get(self, job_id: str) -> Job | None: ...

    def active(self, *, sources: Sequence[str] | None = None) -> int:
        """Queued or running jobs (of which sync jobs only for ``sources``, when given)."""
        ...

    def recent(self, limit: int = 50) -> list[Job]: ...

    def last_finished(self, kind: JobKind, key: str) -> float | None:
        """When the last job with ``key`` finished (the scheduler's clock for sources)."""
        ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id      TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    key         TEXT,
    source      TEXT,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    worker      TEXT,
    lease_until REAL,
    created_at  REAL NOT NULL,
    started_at  REAL,
    finished_at REAL,
    result      TEXT NOT NULL DEFAULT '{}',
    error       TEXT,
    progress    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_runnable ON jobs (status, seq);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_active_key ON jobs (key) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS jobs_key_finished ON jobs (key, finished_at);
"""


class SqliteConnections:
    """One connection per thread to one SQLite file in WAL mode, waiting up to 30 s for another writer's lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()

    def get(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    def close(self) -> None:
        """Closes this thread's connection."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


class SqliteJobQueue:
    """The JobQueue in one SQLite file. Thread-safe (one connection per thread); process-safe via SQLite locks."""

    def __init__(self, path: Path, *, lease_s: float = 60.0, max_attempts: int = 3) -> None:
        self.path = path
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self._connections = SqliteConnections(path)
        self._db = self._connections.get
        self._db().executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")  # takes the write lock now: the read-then-write below is atomic
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def submit(self, kind: JobKind, spec: dict[str, Any], *, key: str | None = None) -> Job | None:
        job_id = uuid.uuid4().hex
        now = time.time()
        with self._tx() as db:
            if (
                key is not None
                and db.execute(
                    "SELECT 1 FROM jobs WHERE key = ? AND status IN ('queued', 'running')", (key,)
                ).fetchone()
            ):
                return None
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()[0]
            db.execute(
                "INSERT INTO jobs (job_id, seq, kind, spec, key, source, status, created_at) VALUES (?,?,?,?,?,?,?,?)",
                (job_id, seq, kind.value, json.dumps(spec), key, spec.get("source"), JobStatus.QUEUED.value, now),
            )
        return self.get(job_id)

    def claim(self, worker: str, *, sources: Sequence[str] | None = None) -> Job | None:
        now = time.time()
        shard, shard_params = _shard_clause(sources)
        params = [now, *shard_params]
        with self._tx() as db:
            while True:
                row = db.execute(
                    f"""SELECT job_id, attempts FROM jobs
                        WHERE (status = 'queued' OR (status = 'running' AND lease_until < ?)) {shard}
                        ORDER BY seq LIMIT 1""",
                    params,
                ).fetchone()
                if row is None:
                    return None
                if row["attempts"] < self.max_attempts:
                    break
                # Its workers stopped every time (killed, out of memory): give up on it, take the next one.
                db.execute(
                    "UPDATE jobs SET status = 'failed', finished_at = ?, lease_until = NULL, error = ? "
                    "WHERE job_id = ?",
                    (now, f"gave up after {row['attempts']} attempts: the worker stopped each time", row["job_id"]),
                )
            db.execute(
                """UPDATE jobs SET status = 'running', worker = ?, lease_until = ?, attempts = attempts + 1,
                   started_at = ?, progress = 0 WHERE job_id = ?""",
                (worker, now + self.lease_s, now, row["job_id"]),
            )
        return self.get(row["job_id"])

    def renew(self, job_id: str, worker: str) -> bool:
        with self._tx() as db:
            changed = db.execute(
                "UPDATE jobs SET lease_until = ? WHERE job_id = ? AND worker = ? AND status = 'running'",
                (time.time() + self.lease_s, job_id, worker),
            ).rowcount
        return changed == 1

    def finish(self, job_id: str, worker: str, result: dict[str, Any], error: str | None = None) -> None:
        status = JobStatus.FAILED if error else JobStatus.DONE
        with self._tx() as db:
            db.execute(
                """UPDATE jobs SET status = ?, finished_at = ?, lease_until = NULL, result = ?, error = ?
                   WHERE job_id = ? AND worker = ? AND status = 'running'""",
                (status.value, time.time(), json.dumps(result), error, job_id, worker),
            )

    def progress(self, job_id: str, worker: str, done: int) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET progress = ? WHERE job_id = ? AND worker = ? AND status = 'running'",
                (done, job_id, worker),
            )

    def get(self, job_id: str) -> Job | None:
        row = self._db().execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def active(self, *, sources: Sequence[str] | None = None) -> int:
        shard, params = _shard_clause(sources)
        row = (
            self._db()
            .execute(f"SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running') {shard}", params)
            .fetchone()
        )
        return int(row[0])

    def recent(self, limit: int = 50) -> list[Job]:
        rows = self._db().execute("SELECT * FROM jobs ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [_job(r) for r in rows]

    def last_finished(self, kind: JobKind, key: str) -> float | None:
        row = (
            self._db()
            .execute(
                "SELECT MAX(finished_at) FROM jobs WHERE kind = ? AND key = ? AND finished_at IS NOT NULL",
                (kind.value, key),
            )
            .fetchone()
        )
        return float(row[0]) if row and row[0] is not None else None

    def close(self) -> None:
        self._connections.close()


def _shard_clause(sources: Sequence[str] | None) -> tuple[str, list[Any]]:
    if sources is None:
        return "", []
    return f"AND (kind != 'sync' OR source IN ({','.join('?' * len(sources))}))", list(sources)


def _job(row: sqlite3.Row) -> Job:
    return Job(
        job_id=row["job_id"],
        kind=JobKind(row["kind"]),
        spec=json.loads(row["spec"]),
        status=JobStatus(row["status"]),
        attempts=row["attempts"],
        worker=row["worker"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        result=json.loads(row["result"] or "{}"),
        error=row["error"],
        progress=row["progress"],
    )


def store_upload(uploads_dir: Path, name: str, data: bytes) -> Path:
    """Keep an uploaded file until its job has run: the queue holds its path, not its bytes."""
    folder = uploads_dir / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / "data"
    path.write_bytes(data)
    return path
