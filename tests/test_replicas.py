"""Several replicas, one state: the deployment of ``scripts/local-cluster`` (tests/localcluster.py) on loopback, with
the real engines: 3 Qdrant peers, PostgreSQL, 2 API processes (``askdocs serve``, no worker thread) and 2 workers
(``askdocs worker --shard I/2``). A document queued through one API is answered by the other; a worker killed
mid-job has its job finished by the other; a Slack event retried to the other API is answered once.

Slow: the six processes and the cluster start once for the module (about a minute here); what each part does is
tested more cheaply elsewhere (the queue's leases in tests/askdocs/test_jobs.py, the Slack memory in
tests/slackbot/test_memory.py, the limits of two replicas in tests/app/test_limits.py). Always on PostgreSQL (the
cluster's own), so not a ``store`` test: the PostgreSQL pass of ``make test`` would only run it again.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from askdocs.jobs import Job, JobStatus
from askdocs.store.engine import make_engine
from askdocs.store.queue import SqlJobQueue
from tests.cli.runner import clean_env
from tests.localcluster import LocalCluster, start_local_cluster
from tests.servers import serve
from tests.slackbot.stand_in import SECRET, TOKEN, FakeSlack, event, mention, post_event
from tests.waiting import until

pytestmark = pytest.mark.slow

LEASE_S = 3  # a killed worker's job is taken over this long after its last heartbeat


@pytest.fixture(scope="module")
def slack() -> Iterator[tuple[FakeSlack, str]]:
    fake = FakeSlack()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture(scope="module")
def cluster(qdrant_executable: Path, slack: tuple[FakeSlack, str]) -> Iterator[LocalCluster]:
    """The deployment, with both APIs answering Slack's Events API. Its folder is outside pytest's temporary
    folders, which a concurrent pytest run may prune under it."""
    root = Path(tempfile.mkdtemp(prefix="askdocs-replicas-"))
    env = clean_env(
        ASKDOCS_WORKER__LEASE_S=str(LEASE_S),
        ASKDOCS_WORKER__POLL_S="0.2",
        ASKDOCS_SLACK__BOT_TOKEN=TOKEN,
        ASKDOCS_SLACK__SIGNING_SECRET=SECRET,
        ASKDOCS_SLACK__API_URL=f"{slack[1]}/api/",
    )
    try:
        deployment = start_local_cluster(root, env=env, binary=qdrant_executable)  # stops what it started if it fails
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield deployment
    finally:
        deployment.stop()
        left = [p.name for p in deployment.processes if p.running()]
        left += [n.url for n in deployment.qdrant if n.process and n.process.poll() is None]
        postgres_up = (root / "postgres" / "postmaster.pid").exists()
        shutil.rmtree(root, ignore_errors=True)
    assert not left and not postgres_up, f"left running after stop: {left}, PostgreSQL: {postgres_up}"


@pytest.fixture(scope="module")
def jobs(cluster: LocalCluster) -> Iterator[SqlJobQueue]:
    """The shared queue, read straight from the store (which worker holds a job)."""
    engine = make_engine(cluster.database_url)
    yield SqlJobQueue(engine)
    engine.dispose()


def admin(cluster: LocalCluster) -> dict[str, str]:
    return {"Authorization": f"Bearer {cluster.admin_token}"}


def queue(cluster: LocalCluster, name: str, text: str) -> str:
    """Upload ``text`` as the file ``name`` through the first API; the job's id."""
    sent = httpx.post(
        f"{cluster.apis[0].url}/ingest", files=[("files", (name, text.encode()))], headers=admin(cluster), timeout=60
    )
    assert sent.status_code == 202, sent.text
    [job] = sent.json()["jobs"]
    return str(job["job_id"])


def ask(url: str, question: str) -> dict[str, Any]:
    answered = httpx.post(f"{url}/ask", json={"question": question}, timeout=60)
    assert answered.status_code == 200, answered.text
    body: dict[str, Any] = answered.json()
    return body


def test_a_document_queued_through_one_api_is_answered_by_the_other(cluster: LocalCluster) -> None:
    two = cluster.apis[1]
    page = "# Zephyr cafeteria\n\n## Opening hours\n\nThe Zephyr cafeteria serves lunch from 11:40 to 14:10.\n"
    job_id = queue(cluster, "zephyr-cafeteria.md", page)

    def finished() -> dict[str, Any] | None:  # asked of the other API: the queue is shared too
        job: dict[str, Any] = httpx.get(f"{two.url}/ingest/{job_id}", headers=admin(cluster), timeout=10).json()
        return job if job["status"] in ("done", "failed") else None

    job = until(finished, f"job {job_id} finished", timeout_s=120, every_s=0.1)
    assert job["status"] == "done" and job["results"][0]["status"] == "new", job
    answer = ask(two.url, "When does the Zephyr cafeteria serve lunch?")
    assert "11:40" in answer["answer"]
    assert answer["sources"][0]["url_or_path"] == "upload://zephyr-cafeteria.md"


def long_page(sections: int) -> str:
    """A page long enough that a worker is still embedding it when the test kills it."""
    rooms = [
        f"## Room {i}\n\nMeeting room {i} of the Yarrow building seats {4 + i % 30} people and is booked through "
        f"the front desk; its screen is on input {1 + i % 3} and its whiteboard pens are in drawer {i % 7}.\n"
        for i in range(sections)
    ]
    bikes = "## Bicycles\n\nBicycles at the Yarrow building are parked in the basement garage on level minus two.\n"
    return "# Yarrow building guide\n\n" + "\n".join(rooms) + "\n" + bikes


def test_a_worker_killed_mid_job_has_its_job_finished_by_the_other(cluster: LocalCluster, jobs: SqlJobQueue) -> None:
    job_id = queue(cluster, "yarrow-building.md", long_page(400))

    def running() -> Job | None:
        job = jobs.get(job_id)
        assert job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING), job
        return job if job.status is JobStatus.RUNNING else None

    first = until(running, f"job {job_id} claimed", timeout_s=60, every_s=0.02)
    [victim] = [w for w in cluster.workers if w.name == first.worker]
    [survivor] = [w for w in cluster.workers if w is not victim]
    victim.kill()  # its process group: the parser child with it

    def done() -> Job | None:
        job = jobs.get(job_id)
        assert job is not None and job.status is not JobStatus.FAILED, job
        return job if job.status is JobStatus.DONE else None

    job = until(done, f"job {job_id} finished after {victim.name} was killed", timeout_s=180, every_s=0.2)
    # Not finished by the first attempt (killed before it was done), but by the survivor, after the lease.
    assert job.attempts >= 2 and job.worker == survivor.name, job
    assert job.started_at is not None and job.started_at >= (first.started_at or 0) + LEASE_S - 0.5
    answer = ask(cluster.apis[1].url, "Where are bicycles parked at the Yarrow building?")
    assert (
        "basement garage" in answer["answer"] and answer["sources"][0]["url_or_path"] == "upload://yarrow-building.md"
    )
    listed = httpx.get(f"{cluster.apis[1].url}/documents", headers=admin(cluster), timeout=30).json()
    assert [d["source"] for d in listed].count("upload://yarrow-building.md") == 1


def test_a_slack_event_retried_to_the_other_api_is_answered_once(
    cluster: LocalCluster, slack: tuple[FakeSlack, str]
) -> None:
    fake, _ = slack
    one, two = cluster.apis[0], cluster.apis[1]
    asked = event(mention("How many vacation days do I get?", "1700000900.000100"), "Ev-replicas")
    assert post_event(one.url, asked).status_code == 200

    def answers_in(thread: str) -> list[Any]:
        return [c for c in fake.of("chat.postMessage") if c.args.get("thread_ts") == thread]

    until(lambda: answers_in("1700000900.000100"), "the first API answered", timeout_s=60)
    retried = post_event(two.url, asked, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retried.status_code == 200
    # The other API answers a new event (so it could have answered the retry); by the time it has, a retry it had
    # taken for new would have been answered as well: both were handed to its listeners, the retry first.
    fence = event(mention("How do I submit expenses?", "1700000901.000100"), "Ev-replicas-fence")
    assert post_event(two.url, fence).status_code == 200
    until(lambda: answers_in("1700000901.000100"), "the other API answered a new event", timeout_s=60)
    until(lambda: len(fake.of("reactions.remove")) >= 2, "both answers done", timeout_s=60)
    assert len(answers_in("1700000900.000100")) == 1
    reacted = [c for c in fake.of("reactions.add") if c.args.get("timestamp") == "1700000900.000100"]
    assert len(reacted) == 1, reacted
