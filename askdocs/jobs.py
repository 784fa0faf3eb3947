"""The durable ingest job queue: its vocabulary and its role. The service submits; workers claim, run and finish
jobs. The queue lives in the state store (``askdocs.store.queue.SqlJobQueue``: SQLite or PostgreSQL).

A claim is atomic (SQLite: one BEGIN IMMEDIATE transaction; PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED), so no
two workers ever hold the same job. A claimed job carries a lease that its worker renews while it runs; a worker
killed mid-job stops renewing, the lease runs out and another worker (or the restarted one) takes the job again.
Ingestion is idempotent, so running a job twice after a crash converges to the same index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from askdocs.models import DocumentResult, DocumentStatus


class JobKind(StrEnum):
    UPLOAD = "upload"  # a file sent to POST /ingest, stored under the uploads folder until done
    URL = "url"  # one web page or PDF to fetch
    SYNC = "sync"  # bring one sources.yaml source up to date
    SITEMAP = "sitemap"  # the pages a sitemap (or sitemap index) lists
    CRAWL = "crawl"  # the pages reached from a start URL by following its links


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
WEB_KINDS = (JobKind.SITEMAP, JobKind.CRAWL)
MAX_PAGES = 100  # a sitemap or crawl job's page budget, unless it names one
MAX_DEPTH = 3  # how many links deep a crawl job follows, unless it says


@dataclass(frozen=True, slots=True)
class SyncSummary:
    """What a source sync did besides its documents' outcomes."""

    source: str
    removed: int = 0  # documents dropped because they vanished from the source
    reached: bool = False  # the source answered (so vanished documents could be told from an outage)
    error: str = ""


@dataclass(frozen=True, slots=True)
class JobResult:
    documents: tuple[DocumentResult, ...] = ()
    sync: SyncSummary | None = None

    def counts(self) -> dict[str, int]:
        """Documents per status, every status present."""
        return {s.value: sum(1 for d in self.documents if d.status is s) for s in DocumentStatus}

    @property
    def failed(self) -> list[DocumentResult]:
        return [d for d in self.documents if d.status is DocumentStatus.FAILED]

    @property
    def removed(self) -> int:
        return self.sync.removed if self.sync else 0

    def to_json(self) -> dict[str, Any]:
        return {"results": [asdict(d) for d in self.documents], "sync": asdict(self.sync) if self.sync else None}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> JobResult:
        """Also reads results written by earlier versions (their sync summary carried more keys)."""
        data = data or {}
        fields = DocumentResult.__dataclass_fields__
        documents = tuple(
            DocumentResult(**{k: v for k, v in d.items() if k in fields} | {"status": DocumentStatus(d["status"])})
            for d in data.get("results") or []
        )
        sync = data.get("sync")
        summary = None
        if isinstance(sync, dict):
            summary = SyncSummary(
                str(sync.get("source", "")),
                int(sync.get("removed") or 0),
                bool(sync.get("reached")),
                str(sync.get("error") or ""),
            )
        return cls(documents, summary)


@dataclass(frozen=True, slots=True)
class Job:
    job_id: str
    kind: JobKind
    # kind-specific: {"upload_id", "name", "content_type"} | {"url"} | {"source"} | {"url", "max_pages", "max_depth"}
    spec: dict[str, Any]
    status: JobStatus
    attempts: int = 0
    worker: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    result: JobResult = field(default_factory=JobResult)
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

    def finish(self, job_id: str, worker: str, result: JobResult, error: str | None = None) -> None:
        """Record the outcome (a job failed as a whole has ``error``); an uploaded file's bytes are dropped."""
        ...

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

    def put_upload(self, name: str, data: bytes, content_type: str | None) -> str:
        """Keep an uploaded file's bytes where any worker can read them; returns the upload id for the job spec."""
        ...

    def upload(self, upload_id: str) -> bytes | None:
        """The bytes of an upload not yet dropped (None when gone)."""
        ...

    def close(self) -> None: ...
