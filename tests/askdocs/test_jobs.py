from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from askdocs.jobs import JobKind, JobStatus, SqliteJobQueue


@pytest.fixture
def queue(tmp_path: Path) -> SqliteJobQueue:
    return SqliteJobQueue(tmp_path / "jobs.sqlite", lease_s=60)


def test_jobs_run_in_order_and_record_their_result(queue: SqliteJobQueue) -> None:
    first = queue.submit(JobKind.URL, {"url": "https://a.example/"})
    second = queue.submit(JobKind.URL, {"url": "https://b.example/"})
    assert first is not None and second is not None and first.status is JobStatus.QUEUED
    claimed = queue.claim("w1")
    assert claimed is not None and claimed.job_id == first.job_id
    assert claimed.status is JobStatus.RUNNING and claimed.attempts == 1 and claimed.worker == "w1"
    queue.finish(claimed.job_id, "w1", {"results": [{"status": "new"}]})
    done = queue.get(first.job_id)
    assert done is not None and done.status is JobStatus.DONE and done.result == {"results": [{"status": "new"}]}
    nxt = queue.claim("w1")
    assert nxt is not None and nxt.job_id == second.job_id
    queue.finish(nxt.job_id, "w1", {}, "HTTP 404 Not Found")
    failed = queue.get(second.job_id)
    assert failed is not None and failed.status is JobStatus.FAILED and failed.error == "HTTP 404 Not Found"
    assert queue.claim("w1") is None


def test_a_keyed_job_is_queued_once_while_active(queue: SqliteJobQueue) -> None:
    assert queue.submit(JobKind.SYNC, {"source": "wiki"}, key="sync:wiki") is not None
    assert queue.submit(JobKind.SYNC, {"source": "wiki"}, key="sync:wiki") is None
    job = queue.claim("w")
    assert job is not None
    assert queue.submit(JobKind.SYNC, {"source": "wiki"}, key="sync:wiki") is None  # running counts as active
    queue.finish(job.job_id, "w", {})
    assert queue.last_finished(JobKind.SYNC, "sync:wiki") is not None
    assert queue.submit(JobKind.SYNC, {"source": "wiki"}, key="sync:wiki") is not None


def test_a_job_whose_worker_stopped_is_taken_again_after_its_lease(tmp_path: Path) -> None:
    queue = SqliteJobQueue(tmp_path / "jobs.sqlite", lease_s=1, max_attempts=2)
    job = queue.submit(JobKind.URL, {"url": "https://a.example/"})
    assert job is not None
    assert queue.claim("dead") is not None
    assert queue.claim("alive") is None  # the lease still holds
    time.sleep(1.1)
    again = queue.claim("alive")
    assert again is not None and again.job_id == job.job_id and again.attempts == 2 and again.worker == "alive"
    queue.finish(job.job_id, "dead", {}, "late")  # the stopped worker no longer owns it: ignored
    current = queue.get(job.job_id)
    assert current is not None and current.status is JobStatus.RUNNING
    assert queue.renew(job.job_id, "dead") is False and queue.renew(job.job_id, "alive") is True
    time.sleep(1.1)
    assert queue.claim("third") is None  # two attempts ended without a finish: given up
    given_up = queue.get(job.job_id)
    assert given_up is not None and given_up.status is JobStatus.FAILED
    assert given_up.error == "gave up after 2 attempts: the worker stopped each time"


def test_a_worker_takes_only_the_syncs_of_its_shard(queue: SqliteJobQueue) -> None:
    queue.submit(JobKind.SYNC, {"source": "wiki"}, key="sync:wiki")
    upload = queue.submit(JobKind.UPLOAD, {"path": "/x", "name": "x.html"})
    assert upload is not None
    claimed = queue.claim("w", sources=["handbook"])
    assert claimed is not None and claimed.job_id == upload.job_id  # the wiki sync is not this worker's
    assert queue.claim("w", sources=[]) is None
    other = queue.claim("v", sources=["wiki"])
    assert other is not None and other.spec == {"source": "wiki"}


def test_the_queue_survives_a_restart(tmp_path: Path) -> None:
    queue = SqliteJobQueue(tmp_path / "jobs.sqlite")
    job = queue.submit(JobKind.URL, {"url": "https://a.example/"})
    queue.close()
    reopened = SqliteJobQueue(tmp_path / "jobs.sqlite")
    assert job is not None and (claimed := reopened.claim("w")) is not None and claimed.job_id == job.job_id


def _claim_all(path: str, name: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue = SqliteJobQueue(Path(path))
    while (job := queue.claim(name)) is not None:
        time.sleep(0.01)  # a job takes a moment, so the workers overlap (spawned processes start ~1 s apart)
        queue.finish(job.job_id, name, {"by": name})
        out.put(job.job_id)
    out.put(None)


def test_workers_in_several_processes_never_claim_the_same_job(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    queue = SqliteJobQueue(path)
    submitted = {j.job_id for i in range(200) if (j := queue.submit(JobKind.URL, {"url": f"https://e.x/{i}"}))}
    spawn = multiprocessing.get_context("spawn")  # no fork of a process that has torch's threads
    out: multiprocessing.Queue[str | None] = spawn.Queue()
    procs = [spawn.Process(target=_claim_all, args=(str(path), f"w{i}", out)) for i in range(4)]
    for p in procs:
        p.start()
    claimed: list[str] = []
    finished = 0
    while finished < len(procs):
        item = out.get(timeout=60)
        if item is None:
            finished += 1
        else:
            claimed.append(item)
    for p in procs:
        p.join(timeout=10)
    assert sorted(claimed) == sorted(submitted)  # every job exactly once
    by = {j.result["by"] for j in queue.recent(500)}
    assert len(by) > 1  # the work really was shared
