"""``askdocs worker``: runs ingest jobs from the durable queue and syncs each sources.yaml source on its schedule.

Several workers may share one queue and one Qdrant server: claims are atomic (see askdocs.jobs), and
``--shard I/N`` gives each worker the sources whose name hashes to its shard, so no source is synced by two
workers at once. Uploads and URL jobs go to whichever worker is free.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePath
from typing import Any

import sqlalchemy as sa

from askdocs.embedding import Embedder
from askdocs.errors import InputError, LoadError
from askdocs.index.protocol import VectorIndex
from askdocs.jobs import WEB_KINDS, Job, JobKind, JobQueue, JobResult
from askdocs.models import DocumentResult, DocumentStatus
from askdocs.settings import ChunkingSettings, Settings
from askdocs.store.queue import SqlJobQueue
from askdocs.store.schema import validators
from ingest.loaders import RawSource
from ingest.parsing import ChildParser
from ingest.pipeline import Ingestor
from ingest.sourcefile import SourcesFile, SourceSpec
from ingest.sources import Reader, SourceRef
from ingest.sync import sync_source
from ingest.web import Validators
from ingest.webjobs import run_web_job

log = logging.getLogger("askdocs.worker")
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True, slots=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or not 0 <= int(match[1]) < int(match[2]):
            raise InputError(f"shard {text!r} must be I/N with 0 <= I < N, e.g. 0/2 and 1/2 for two workers")
        return cls(int(match[1]), int(match[2]))

    def owns(self, name: str) -> bool:
        return zlib.crc32(name.encode()) % self.count == self.index


def upload_source(name: str) -> str:
    """An upload's identity. ``askdocs ingest`` sends absolute paths as names, so a file keeps one identity
    whether it was ingested directly or through the service; other uploads are known by their base name."""
    if PurePath(name).is_absolute():
        return name
    return f"upload://{_UNSAFE.sub('_', PurePath(name).name) or 'upload'}"


class SqlValidators:
    """What each page's last 200 said (ETag, Last-Modified, canonical URL, links), kept in the state store."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def get(self, url: str) -> Validators | None:
        with self._engine.connect() as db:
            value = db.execute(sa.select(validators.c.value).where(validators.c.key == url)).scalar()
        if value is None:
            return None
        return Validators(**{**value, "links": tuple(value.get("links", ()))})

    def put(self, url: str, found: Validators) -> None:
        value = {**asdict(found), "links": list(found.links)}
        with self._engine.begin() as db:
            if db.execute(validators.update().where(validators.c.key == url).values(value=value)).rowcount == 0:
                db.execute(validators.insert().values(key=url, value=value))


class JobRunner:
    """Runs one job of any kind against this process's embedder and index."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        index: VectorIndex,
        sources: SourcesFile | None = None,
        validators: SqlValidators | None = None,
        uploads: JobQueue | None = None,
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._index = index
        self.sources = sources
        self._validators = validators
        self._uploads = uploads
        self._ingestors: dict[str, Ingestor] = {}
        self._reader = Reader.from_settings(settings.ingest)

    def ingestor(self, chunking: ChunkingSettings) -> Ingestor:
        """One Ingestor per chunking configuration: sources may choose their own."""
        key = chunking.model_dump_json()
        if key not in self._ingestors:
            parser = ChildParser.from_settings(self._settings.ingest)
            self._ingestors[key] = Ingestor(self._embedder, self._index, chunking, parser=parser)
        return self._ingestors[key]

    def run(self, job: Job, on_progress: Callable[[int], None] = lambda _: None) -> tuple[JobResult, str | None]:
        """The job's result and, if it failed as a whole, why. ``on_progress``: documents handled so far."""
        if job.kind is JobKind.UPLOAD:
            return self._upload(job.spec)
        if job.kind is JobKind.URL:
            return self._url(str(job.spec["url"]))
        if job.kind in WEB_KINDS:
            ingestor = self.ingestor(self._settings.chunking)
            return run_web_job(job.kind, job.spec, ingestor, self._settings.ingest, on_progress)
        return self._sync(str(job.spec["source"]), on_progress)

    def _upload(self, spec: dict[str, Any]) -> tuple[JobResult, str | None]:
        source = upload_source(str(spec["name"]))
        data = self._upload_bytes(spec)
        if data is None:
            return _single(
                DocumentResult(source, DocumentStatus.FAILED, error="the uploaded file is gone from the store")
            )
        raw = RawSource(source, data, spec.get("content_type"))
        return _single(self.ingestor(self._settings.chunking).ingest_raw(raw))

    def _upload_bytes(self, spec: dict[str, Any]) -> bytes | None:
        if spec.get("upload_id") and self._uploads is not None:
            return self._uploads.upload(str(spec["upload_id"]))
        try:  # a job queued by a version that kept uploads in a folder
            return Path(str(spec.get("path"))).read_bytes() if spec.get("path") else None
        except OSError:
            return None

    def _url(self, url: str) -> tuple[JobResult, str | None]:
        """A URL someone named: any host, no robots.txt, but the same guard (schemes, private addresses, size)."""
        try:
            raw = self._reader.read(SourceRef(url))
        except LoadError as exc:
            return _single(DocumentResult(url, DocumentStatus.FAILED, error=exc.reason))
        return _single(self.ingestor(self._settings.chunking).ingest_raw(raw))

    def _sync(self, name: str, on_progress: Callable[[int], None]) -> tuple[JobResult, str | None]:
        spec = self.sources.get(name) if self.sources else None
        if spec is None:
            return JobResult(), f"no source named {name!r} in this worker's sources file"
        chunking = spec.chunking(self._settings.chunking)
        handled = itertools.count(1)
        result = sync_source(
            spec,
            self.ingestor(chunking),
            self._index,
            self._reader,
            self._settings.ingest,
            self._validators,
            namespace=f"{spec.name}|{chunking.model_dump_json()}|{','.join(spec.provenance.acl)}",
            on_outcome=lambda _: on_progress(next(handled)),
        )
        return result, (result.sync.error if result.sync else "") or None


def _single(outcome: DocumentResult) -> tuple[JobResult, str | None]:
    error = outcome.error if outcome.status is DocumentStatus.FAILED else None
    return JobResult((outcome,)), error


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        runner: JobRunner,
        *,
        worker_id: str | None = None,
        shard: Shard | None = None,
        poll_s: float = 1.0,
        lease_s: float = 60.0,
        on_job: Callable[[Job], None] = lambda _: None,
    ) -> None:
        self._queue = queue
        self._runner = runner
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.shard = shard
        self._poll_s = poll_s
        self._lease_s = lease_s
        self._on_job = on_job
        self._bell = threading.Event()  # rung by ``wake``: something to do before the next poll

    @property
    def owned(self) -> list[SourceSpec]:
        sources = self._runner.sources.sources if self._runner.sources else []
        return [s for s in sources if self.shard is None or self.shard.owns(s.name)]

    def schedule(self, *, force: bool = False) -> list[Job]:
        """Queue a sync for each of this worker's sources that is due (all of them with ``force``)."""
        queued = []
        now = time.time()
        for spec in self.owned:
            interval = spec.interval_s
            if not force:
                if interval is None:
                    continue
                last = self._queue.last_finished(JobKind.SYNC, f"sync:{spec.name}")
                if last is not None and now - last < interval:
                    continue
            job = self._queue.submit(JobKind.SYNC, {"source": spec.name}, key=f"sync:{spec.name}")
            if job is not None:
                queued.append(job)
        return queued

    def step(self) -> Job | None:
        """Claim and run one job; None when there was nothing to do."""
        job = self._queue.claim(self.worker_id, sources=[s.name for s in self.owned])
        if job is None:
            return None
        log.info("job %s (%s) claimed by %s, attempt %d", job.job_id, job.kind.value, self.worker_id, job.attempts)
        stop = threading.Event()
        heartbeat = threading.Thread(target=self._renew, args=(job.job_id, stop), daemon=True)
        heartbeat.start()
        try:
            result, error = self._runner.run(job, lambda n: self._queue.progress(job.job_id, self.worker_id, n))
        except (LoadError, InputError) as exc:
            result, error = JobResult(), str(exc)
        except Exception as exc:  # one job's failure must not stop the worker
            log.exception("job %s failed", job.job_id)
            result, error = JobResult(), f"{type(exc).__name__}: {exc}"
        finally:
            stop.set()
            heartbeat.join()
        self._queue.finish(job.job_id, self.worker_id, result, error)
        if job.kind is JobKind.UPLOAD and job.spec.get("path"):  # a legacy upload folder
            shutil.rmtree(Path(job.spec["path"]).parent, ignore_errors=True)
        done = self._queue.get(job.job_id) or job
        self._on_job(done)
        return done

    def _renew(self, job_id: str, stop: threading.Event) -> None:
        while not stop.wait(self._lease_s / 3):
            if not self._queue.renew(job_id, self.worker_id):
                log.warning("job %s: lease lost (another worker took it over)", job_id)
                return

    def drain(self) -> list[Job]:
        """Sync every owned source now and run every queued job, then return (``askdocs worker --once``).
        Jobs another worker is running are waited for; a stopped worker's job is taken over once its lease
        runs out, so ``--once`` right after a crash still finishes the interrupted work."""
        self.schedule(force=True)
        done = []
        names = [s.name for s in self.owned]
        while True:
            job = self.step()
            if job is not None:
                done.append(job)
            elif self._queue.active(sources=names) == 0:
                return done
            else:
                time.sleep(self._poll_s)

    def wake(self) -> None:
        """End an idle wait now: a job was queued in this process, or ``stop`` was set."""
        self._bell.set()

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``: queue due syncs, run jobs, wait ``poll_s`` when idle (or until ``wake``). Whoever sets
        ``stop`` calls ``wake`` too, so the worker ends without finishing its wait."""
        next_schedule = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_schedule:
                try:
                    self.schedule()
                except Exception:
                    log.exception("scheduling failed")
                next_schedule = time.monotonic() + max(self._poll_s, 5.0)
            try:
                job = self.step()
            except Exception:  # the queue itself failed (disk full, locked too long): wait and retry
                log.exception("worker step failed")
                job = None
            if job is None and not stop.is_set():
                self._bell.wait(self._poll_s)
                self._bell.clear()


class BackgroundWorker:
    """A Worker on a daemon thread: how ``askdocs serve`` runs jobs in embedded mode."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=worker.run, args=(self._stop,), name="askdocs-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self.worker.wake()
        self._thread.join(timeout=30)


def make_worker(
    settings: Settings,
    embedder: Embedder,
    index: VectorIndex,
    queue: SqlJobQueue,
    sources: SourcesFile | None,
    **options: Any,
) -> Worker:
    """A worker on the store's queue and web validators; ``options``: worker_id, shard, on_job."""
    runner = JobRunner(settings, embedder, index, sources, SqlValidators(queue.engine), queue)
    return Worker(queue, runner, poll_s=settings.worker.poll_s, lease_s=settings.worker.lease_s, **options)


def start_background_worker(
    settings: Settings,
    embedder: Embedder,
    index: VectorIndex,
    queue: SqlJobQueue,
    sources: SourcesFile | None,
    *,
    on_job: Callable[[Job], None] = lambda _: None,
) -> BackgroundWorker:
    """The worker thread ``askdocs serve`` runs beside the API, sharing its model, index and store; ``on_job``
    sees each job it finishes (the service counts them in its metrics)."""
    background = BackgroundWorker(make_worker(settings, embedder, index, queue, sources, on_job=on_job))
    queue.on_submit(background.worker.wake)  # POST /ingest's jobs start at once
    background.start()
    return background
