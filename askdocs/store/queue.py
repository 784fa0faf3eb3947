"""The JobQueue in the state store, for SQLite and PostgreSQL alike (see ``askdocs.jobs`` for the contract)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from askdocs.jobs import ACTIVE, Job, JobKind, JobResult, JobStatus
from askdocs.store.schema import jobs, uploads

_ACTIVE = [s.value for s in ACTIVE]


class SqlJobQueue:
    """Thread-safe (a pooled connection per call); process- and machine-safe through the database's locks."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        lease_s: float = 60.0,
        max_attempts: int = 3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self._clock = clock  # wall-clock seconds: leases are compared across processes and machines
        self._postgres = engine.dialect.name == "postgresql"
        self._on_submit: list[Callable[[], None]] = []

    def on_submit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each job queued through this object: a worker in this process starts it at
        once instead of at its next poll (workers elsewhere still poll)."""
        self._on_submit.append(listener)

    def submit(self, kind: JobKind, spec: dict[str, Any], *, key: str | None = None) -> Job | None:
        job_id = uuid.uuid4().hex
        with self.engine.begin() as db:
            if self._postgres:  # one submitter at a time decides "is a job with this key active?"
                db.execute(sa.text("LOCK TABLE jobs IN SHARE ROW EXCLUSIVE MODE"))
            if (
                key is not None
                and db.execute(
                    sa.select(jobs.c.job_id).where(jobs.c.key == key, jobs.c.status.in_(_ACTIVE)).limit(1)
                ).first()
            ):
                return None
            seq = db.execute(sa.select(sa.func.coalesce(sa.func.max(jobs.c.seq), 0) + 1)).scalar_one()
            db.execute(
                jobs.insert().values(
                    job_id=job_id,
                    seq=seq,
                    kind=kind.value,
                    spec=spec,
                    key=key,
                    source=spec.get("source"),
                    status=JobStatus.QUEUED.value,
                    created_at=self._clock(),
                    result={},
                )
            )
        for listener in self._on_submit:
            listener()
        return self.get(job_id)

    def claim(self, worker: str, *, sources: Sequence[str] | None = None) -> Job | None:
        now = self._clock()
        runnable = sa.or_(
            jobs.c.status == JobStatus.QUEUED.value,
            sa.and_(jobs.c.status == JobStatus.RUNNING.value, jobs.c.lease_until < now),
        )
        query = sa.select(jobs.c.job_id, jobs.c.attempts).where(runnable, *_shard(sources)).order_by(jobs.c.seq)
        if self._postgres:
            query = query.with_for_update(skip_locked=True)  # other workers skip the row this one holds
        with self.engine.begin() as db:
            while True:
                row = db.execute(query.limit(1)).first()
                if row is None:
                    return None
                if row.attempts < self.max_attempts:
                    break
                # Its workers stopped every time (killed, out of memory): give up on it, take the next one.
                reason = f"gave up after {row.attempts} attempts: the worker stopped each time"
                db.execute(
                    jobs.update()
                    .where(jobs.c.job_id == row.job_id)
                    .values(status=JobStatus.FAILED.value, finished_at=now, lease_until=None, error=reason)
                )
            db.execute(
                jobs.update()
                .where(jobs.c.job_id == row.job_id)
                .values(
                    status=JobStatus.RUNNING.value,
                    worker=worker,
                    lease_until=now + self.lease_s,
                    attempts=jobs.c.attempts + 1,
                    started_at=now,
                    progress=0,
                )
            )
        return self.get(row.job_id)

    def renew(self, job_id: str, worker: str) -> bool:
        with self.engine.begin() as db:
            changed = db.execute(_held(job_id, worker).values(lease_until=self._clock() + self.lease_s)).rowcount
        return bool(changed == 1)

    def finish(self, job_id: str, worker: str, result: JobResult, error: str | None = None) -> None:
        status = JobStatus.FAILED if error else JobStatus.DONE
        with self.engine.begin() as db:
            done = _held(job_id, worker).values(
                status=status.value, finished_at=self._clock(), lease_until=None, result=result.to_json(), error=error
            )
            if db.execute(done).rowcount:
                spec = db.execute(sa.select(jobs.c.spec).where(jobs.c.job_id == job_id)).scalar_one()
                if spec.get("upload_id"):
                    db.execute(uploads.delete().where(uploads.c.upload_id == spec["upload_id"]))

    def progress(self, job_id: str, worker: str, done: int) -> None:
        with self.engine.begin() as db:
            db.execute(_held(job_id, worker).values(progress=done))

    def get(self, job_id: str) -> Job | None:
        with self.engine.connect() as db:
            row = db.execute(sa.select(jobs).where(jobs.c.job_id == job_id)).first()
        return _job(row) if row else None

    def active(self, *, sources: Sequence[str] | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status.in_(_ACTIVE), *_shard(sources))
        with self.engine.connect() as db:
            return int(db.execute(query).scalar_one())

    def recent(self, limit: int = 50) -> list[Job]:
        with self.engine.connect() as db:
            rows = db.execute(sa.select(jobs).order_by(jobs.c.seq.desc()).limit(limit)).all()
        return [_job(r) for r in rows]

    def last_finished(self, kind: JobKind, key: str) -> float | None:
        query = sa.select(sa.func.max(jobs.c.finished_at)).where(jobs.c.kind == kind.value, jobs.c.key == key)
        with self.engine.connect() as db:
            value = db.execute(query).scalar()
        return float(value) if value is not None else None

    def put_upload(self, name: str, data: bytes, content_type: str | None) -> str:
        upload_id = uuid.uuid4().hex
        with self.engine.begin() as db:
            db.execute(
                uploads.insert().values(
                    upload_id=upload_id, name=name, content_type=content_type, data=data, created_at=self._clock()
                )
            )
        return upload_id

    def upload(self, upload_id: str) -> bytes | None:
        with self.engine.connect() as db:
            data = db.execute(sa.select(uploads.c.data).where(uploads.c.upload_id == upload_id)).scalar()
        return bytes(data) if data is not None else None

    def close(self) -> None:
        """The engine belongs to whoever made the store (``Store.close``)."""


def _held(job_id: str, worker: str) -> sa.Update:
    """An update of a job this worker runs (nothing, once another worker took it over)."""
    return jobs.update().where(
        jobs.c.job_id == job_id, jobs.c.worker == worker, jobs.c.status == JobStatus.RUNNING.value
    )


def _shard(sources: Sequence[str] | None) -> list[sa.ColumnElement[bool]]:
    if sources is None:
        return []
    return [sa.or_(jobs.c.kind != JobKind.SYNC.value, jobs.c.source.in_(list(sources)))]


def _job(row: Any) -> Job:
    return Job(
        job_id=row.job_id,
        kind=JobKind(row.kind),
        spec=dict(row.spec or {}),
        status=JobStatus(row.status),
        attempts=row.attempts,
        worker=row.worker,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        result=JobResult.from_json(row.result),
        error=row.error,
        progress=row.progress,
    )
