"""The job queue in the state store, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import pytest

from askdocs.jobs import JobKind, JobResult, JobStatus
from askdocs.models import DocumentResult, DocumentStatus
from askdocs.store.engine import make_engine, upgrade
from askdocs.store.queue import SqlJobQueue

pytestmark = pytest.mark.store  # every test here runs on a store of its own

NEW = JobResult((DocumentResult("a.html", DocumentStatus.NEW, 3),))


def open_queue(url: str, **options: Any) -> SqlJobQueue:
    engine = make_engine(url)
    upgrade(engine)
    return SqlJobQueue(engine, **options)


class Clock:
    """The queue's clock, moved on by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def queue(database_url: str) -> SqlJobQueue:
    return open_queue(database_url, lease_s=60)


def test_jobs_run_in_order_and_record_their_result(queue: SqlJobQueue) -> None:
    first = queue.submit(JobKind.URL, {"url": "https://a.example/"})
    second = queue.submit(JobKind.URL, {"url": "https://b.example/"})
    assert first is not None and second is not None and first.status is JobStatus.QUEUED
    claimed = queue.claim("w1")
    assert claimed is not None and claimed.job_id == first.job_id
    assert claimed.status is JobStatus.RUNNING and claimed.attempts == 1 and claimed.worker == "w1"
    queue.finish(claimed.job_id, "w1", NEW)
    done = queue.get(first.job_id)
    assert done is not None and done.status is JobStatus.DONE and done.result == NEW
    assert done.result.counts() == {"new": 1, "updated": 0, "unchanged": 0, "failed": 0}
    nxt = queue.claim("w1")
    assert nxt is not None and nxt.job_id == second.job_id
    queue.finish(nxt.job_id, "w1", JobResult(), "HTTP 404 Not Found")
    failed = queue.get(second.job_id)
    assert failed is not None and failed.status is JobStatus.FAILED and failed.error == "HTTP 404 Not Found"
    assert queue.claim("w1") is None


def test_a_keyed_job_is_queued_once_while_active(queue: SqlJobQueue) -> None:
    assert queue.submit(JobKind.SYNC, {"source": "wiki"}, key="sync:wiki") is not None
    assert queue.submit(JobKind.SYNC, {"source": "wiki"}, key="sync:wiki") is None
    job = queue.claim("w")
    assert job is not None
    assert queue.submit(JobKind.SYNC, {"source": "wiki"}, key="sync:wiki") is None  # running counts as active
    queue.finish(job.job_id, "w", JobResult())
    assert queue.last_finished(JobKind.SYNC, "sync:wiki") is not None
    assert queue.submit(JobKind.SYNC, {"source": "wiki"}, key="sync:wiki") is not None


def test_a_job_whose_worker_stopped_is_taken_again_after_its_lease(database_url: str) -> None:
    clock = Clock()
    queue = open_queue(database_url, lease_s=1, max_attempts=2, clock=clock)
    job = queue.submit(JobKind.URL, {"url": "https://a.example/"})
    assert job is not None
    assert queue.claim("dead") is not None
    clock.now += 0.9
    assert queue.claim("alive") is None  # the lease still holds
    clock.now += 0.2
    again = queue.claim("alive")
    assert again is not None and again.job_id == job.job_id and again.attempts == 2 and again.worker == "alive"
    queue.finish(job.job_id, "dead", JobResult(), "late")  # the stopped worker no longer owns it: ignored
    current = queue.get(job.job_id)
    assert current is not None and current.status is JobStatus.RUNNING
    assert queue.renew(job.job_id, "dead") is False and queue.renew(job.job_id, "alive") is True
    clock.now += 0.9
    assert queue.claim("third") is None  # the renewed lease still holds
    clock.now += 0.2
    assert queue.claim("third") is None  # two attempts ended without a finish: given up
    given_up = queue.get(job.job_id)
    assert given_up is not None and given_up.status is JobStatus.FAILED
    assert given_up.error == "gave up after 2 attempts: the worker stopped each time"


def test_a_worker_takes_only_the_syncs_of_its_shard(queue: SqlJobQueue) -> None:
    queue.submit(JobKind.SYNC, {"source": "wiki"}, key="sync:wiki")
    upload = queue.submit(JobKind.UPLOAD, {"upload_id": "u1", "name": "x.html"})
    assert upload is not None
    claimed = queue.claim("w", sources=["handbook"])
    assert claimed is not None and claimed.job_id == upload.job_id  # the wiki sync is not this worker's
    assert queue.claim("w", sources=[]) is None
    other = queue.claim("v", sources=["wiki"])
    assert other is not None and other.spec == {"source": "wiki"}


def test_the_queue_survives_a_restart_and_uploads_live_in_the_store(database_url: str) -> None:
    queue = open_queue(database_url)
    upload_id = queue.put_upload("leave.html", b"<html>leave</html>", "text/html")
    job = queue.submit(JobKind.UPLOAD, {"upload_id": upload_id, "name": "leave.html"})
    queue.engine.dispose()
    reopened = open_queue(database_url)  # another process, another machine: only the URL is shared
    claimed = reopened.claim("w")
    assert job is not None and claimed is not None and claimed.job_id == job.job_id
    assert reopened.upload(upload_id) == b"<html>leave</html>"
    reopened.finish(claimed.job_id, "w", NEW)
    assert reopened.upload(upload_id) is None  # dropped once its job has run


def _claim_all(url: str, name: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue = open_queue(url)
    while (job := queue.claim(name)) is not None:
        time.sleep(0.01)  # a job takes a moment, so the workers overlap (spawned processes start ~1 s apart)
        queue.finish(job.job_id, name, JobResult((DocumentResult(name, DocumentStatus.NEW),)))
        out.put(job.job_id)
    out.put(None)


def test_workers_in_several_processes_never_claim_the_same_job(database_url: str) -> None:
    queue = open_queue(database_url)
    submitted = {j.job_id for i in range(200) if (j := queue.submit(JobKind.URL, {"url": f"https://e.x/{i}"}))}
    spawn = multiprocessing.get_context("spawn")  # no fork of a process that has torch's threads
    out: multiprocessing.Queue[str | None] = spawn.Queue()
    procs = [spawn.Process(target=_claim_all, args=(database_url, f"w{i}", out)) for i in range(4)]
    for p in procs:
        p.start()
    claimed: list[str] = []
    finished = 0
    while finished < len(procs):
        item = out.get(timeout=120)
        if item is None:
            finished += 1
        else:
            claimed.append(item)
    for p in procs:
        p.join(timeout=10)
    assert sorted(claimed) == sorted(submitted)  # every job exactly once
    by = {j.result.documents[0].source for j in queue.recent(500)}
    assert len(by) > 1  # the work really was shared
