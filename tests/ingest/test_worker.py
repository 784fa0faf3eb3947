"""The worker against the real model and the real embedded engine: folder sources, uploads, shards."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import InputError
from askdocs.index.edge import EdgeIndex
from askdocs.jobs import JobKind, JobStatus
from askdocs.settings import Settings
from askdocs.store.queue import SqlJobQueue
from askdocs.store.store import open_store
from ingest.loaders import doc_id_for
from ingest.sourcefile import parse_sources
from ingest.worker import JobRunner, Shard, SqlValidators, Worker, start_background_worker
from tests.conftest import BAD, HANDBOOK
from tests.qdrant import QdrantNode
from tests.servers import serve
from tests.waiting import until


@pytest.fixture
def index(settings: Settings) -> Iterator[EdgeIndex]:
    index = EdgeIndex(settings.data_dir / "qdrant" / "askdocs")
    yield index
    index.close()


def make_worker(
    settings: Settings, embedder: SentenceTransformerEmbedder, index: EdgeIndex, sources_yaml: str | None = None
) -> tuple[Worker, SqlJobQueue]:
    queue = open_store(settings).queue
    queue.lease_s = 5
    catalog = parse_sources(sources_yaml) if sources_yaml else None
    runner = JobRunner(settings, embedder, index, catalog, SqlValidators(queue.engine), queue)
    return Worker(queue, runner, poll_s=0.05, lease_s=5), queue


def payloads(index: EdgeIndex) -> list[dict[str, object]]:
    import qdrant_edge as qe

    shard = index._open()
    assert shard is not None
    records, _ = shard.scroll(qe.ScrollRequest(limit=10_000, with_payload=True))
    return [dict(r.payload or {}) for r in records]


def consistent(index: EdgeIndex) -> dict[str, int]:
    """Every document has exactly one complete version: doc id -> chunk count."""
    versions: dict[str, set[str]] = {}
    counts: dict[tuple[str, str], int] = {}
    expected: dict[tuple[str, str], int] = {}
    for p in payloads(index):
        key = (str(p["doc_id"]), str(p["content_hash"]))  # the raw points, as stored
        versions.setdefault(key[0], set()).add(key[1])
        counts[key] = counts.get(key, 0) + 1
        expected[key] = int(p["chunk_count"])  # type: ignore[call-overload]
    assert all(len(v) == 1 for v in versions.values()), versions
    assert counts == expected
    return {doc: n for (doc, _), n in counts.items()}


@pytest.mark.store
def test_a_folder_source_follows_additions_changes_and_deletions(
    tmp_path: Path, settings: Settings, embedder: SentenceTransformerEmbedder, index: EdgeIndex
) -> None:
    folder = tmp_path / "handbook"
    folder.mkdir()
    for name in ("leave.html", "security.html", "oncall.html"):
        shutil.copy(HANDBOOK / name, folder / name)
    worker, _ = make_worker(
        settings, embedder, index, f"sources:\n  - name: hb\n    folder: {folder}\n    acl: [staff]\n    schedule: 1h\n"
    )
    [first] = worker.drain()
    assert first.kind is JobKind.SYNC and first.status is JobStatus.DONE
    assert sorted(r.status for r in first.result.documents) == ["new", "new", "new"]
    assert first.progress == 3  # reported document by document while it ran
    assert {d.origin for d in index.documents()} == {"hb"}
    assert all(p["acl"] == ["staff"] and p["origin"] == "hb" for p in payloads(index))

    (folder / "leave.html").write_text(
        (HANDBOOK / "leave.html").read_text().replace("</main>", "<p>Sabbaticals last three months.</p></main>")
    )
    (folder / "oncall.html").unlink()
    shutil.copy(HANDBOOK / "expenses.html", folder / "expenses.html")
    [second] = worker.drain()
    statuses = {Path(r.source).name: r.status for r in second.result.documents}
    assert statuses == {"leave.html": "updated", "security.html": "unchanged", "expenses.html": "new"}
    assert second.result.removed == 1
    docs = consistent(index)
    assert set(docs) == {doc_id_for(str(p.resolve())) for p in folder.iterdir()}
    assert index.count() == sum(docs.values())  # no orphans, no duplicates

    # An unmounted folder is an outage, not a deletion of everything.
    folder.rename(tmp_path / "elsewhere")
    [third] = worker.drain()
    assert third.status is JobStatus.FAILED and "does not exist" in str(third.error)
    assert consistent(index) == docs


@pytest.mark.store
def test_a_changed_acl_rewrites_the_documents_and_a_schedule_is_kept(
    tmp_path: Path, settings: Settings, embedder: SentenceTransformerEmbedder, index: EdgeIndex
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(HANDBOOK / "security.html", folder)
    yaml = f"sources:\n  - name: sec\n    folder: {folder}\n    schedule: 1h\n"
    worker, _ = make_worker(settings, embedder, index, yaml)
    assert [j.spec for j in worker.schedule()] == [{"source": "sec"}]
    assert worker.schedule() == []  # already queued
    assert worker.step() is not None and worker.step() is None
    assert worker.schedule() == []  # synced less than an hour ago
    worker, _ = make_worker(settings, embedder, index, yaml.replace("schedule: 1h", "acl: [security]"))
    [job] = worker.drain()
    assert job.result.documents[0].status == "updated"
    assert {tuple(p["acl"]) for p in payloads(index)} == {("security",)}  # type: ignore[arg-type]
    consistent(index)


@pytest.mark.store
def test_uploads_are_run_from_the_queue_and_their_files_removed(
    settings: Settings, embedder: SentenceTransformerEmbedder, index: EdgeIndex
) -> None:
    worker, queue = make_worker(settings, embedder, index)
    good = queue.put_upload("leave.html", (HANDBOOK / "leave.html").read_bytes(), "text/html")
    bad = queue.put_upload("corrupt.pdf", (BAD / "corrupt.pdf").read_bytes(), None)
    ok = queue.submit(JobKind.UPLOAD, {"upload_id": good, "name": "leave.html", "content_type": "text/html"})
    broken = queue.submit(JobKind.UPLOAD, {"upload_id": bad, "name": "corrupt.pdf", "content_type": None})
    assert ok is not None and broken is not None
    done = {j.job_id: j for j in worker.drain()}
    assert done[ok.job_id].status is JobStatus.DONE
    assert done[ok.job_id].result.documents[0].source == "upload://leave.html"
    assert done[broken.job_id].status is JobStatus.FAILED and "PDF" in str(done[broken.job_id].error)
    assert queue.upload(good) is None and queue.upload(bad) is None  # dropped from the store once run
    assert [d.source for d in index.documents()] == ["upload://leave.html"]


@pytest.mark.store
def test_a_sync_for_an_unknown_source_fails_clearly(
    settings: Settings, embedder: SentenceTransformerEmbedder, index: EdgeIndex
) -> None:
    worker, queue = make_worker(settings, embedder, index)
    queue.submit(JobKind.SYNC, {"source": "gone"}, key="sync:gone")
    # A worker without a sources file does not take sync jobs at all; one with the file names the problem.
    assert worker.drain() == []
    other, _ = make_worker(settings, embedder, index, "sources:\n  - name: gone\n    folder: /nonexistent\n")
    jobs = other.drain()
    assert [j.status for j in jobs] == [JobStatus.FAILED] and "does not exist" in str(jobs[0].error)


@pytest.mark.store
def test_a_job_queued_in_this_process_wakes_the_idle_worker_thread(
    settings: Settings, embedder: SentenceTransformerEmbedder, index: EdgeIndex
) -> None:
    """The service's worker thread polls the queue every ASKDOCS_WORKER__POLL_S for work queued elsewhere; what
    the service itself queues (POST /ingest) starts at once, and closing it does not wait for a poll either."""
    idle = settings.model_copy(update={"worker": settings.worker.model_copy(update={"poll_s": 600})})
    store = open_store(idle)
    background = start_background_worker(idle, embedder, index, store.queue, None)
    try:
        for name in ("leave.html", "oncall.html"):  # the second is queued while the worker is idle
            upload = store.queue.put_upload(name, (HANDBOOK / name).read_bytes(), "text/html")
            job = store.queue.submit(JobKind.UPLOAD, {"upload_id": upload, "name": name, "content_type": None})
            assert job is not None
            done = until(lambda j=job: (got := store.queue.get(j.job_id)) and got.finished and got, f"{name} run")
            assert done.status is JobStatus.DONE
    finally:
        started = time.monotonic()
        background.close()
        store.close()
    assert time.monotonic() - started < 60  # not the 600 s poll


def test_shards_split_the_sources_between_workers() -> None:
    names = [f"source-{i}" for i in range(40)]
    shards = [Shard.parse("0/3"), Shard.parse("1/3"), Shard.parse(" 2 / 3 ")]
    owners = [[s for s in shards if s.owns(n)] for n in names]
    assert all(len(o) == 1 for o in owners)  # each source has exactly one worker
    assert all(any(s.owns(n) for n in names) for s in shards)  # and every worker gets some
    for bad in ("3/3", "1", "a/b", "-1/2"):
        with pytest.raises(InputError, match="must be I/N"):
            Shard.parse(bad)


@pytest.mark.store
def test_a_crawled_source_uses_conditional_requests_and_drops_vanished_pages(
    tmp_path: Path, settings: Settings, embedder: SentenceTransformerEmbedder, index: EdgeIndex
) -> None:
    from fastapi import FastAPI, Request, Response
    from fastapi.staticfiles import StaticFiles

    site = tmp_path / "site"
    site.mkdir()
    page = "<html><head><title>{0}</title></head><body><main><h1>{0}</h1><p>{1}</p></main></body></html>"
    (site / "leave.html").write_text(page.format("Leave", "Everyone gets 28 vacation days a year."))
    (site / "security.html").write_text(page.format("Security", "Passwords have at least 14 characters."))
    (site / "oncall.html").write_text(page.format("On call", "The on-call engineer answers pages in 15 minutes."))
    links = '<ul><li><a href="leave.html">Leave</a></li><li><a href="security.html">Security</a></li>{}</ul>'
    home = "<html><head><title>Wiki</title></head><body><main><h1>Wiki</h1><p>Start here.</p>{}</main></body></html>"
    (site / "index.html").write_text(home.format(links.format('<li><a href="oncall.html">On call</a></li>')))
    statuses: list[int] = []
    web = FastAPI()

    @web.middleware("http")
    async def record(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        if request.url.path.endswith(".html"):
            statuses.append(response.status_code)
        return response

    web.mount("/", StaticFiles(directory=site, html=True))
    with serve(web) as url:
        yaml = f"sources:\n  - name: wiki\n    crawl: {url}/index.html\n    allow_private_network: true\n"
        worker, _ = make_worker(settings, embedder, index, yaml)
        [first] = worker.drain()
        assert sorted(r.status for r in first.result.documents) == ["new"] * 4, first.result
        assert statuses == [200] * 4

        statuses.clear()
        [second] = worker.drain()
        assert sorted(r.status for r in second.result.documents) == ["unchanged"] * 4
        assert statuses == [304] * 4  # nothing was downloaded again

        (site / "oncall.html").unlink()
        (site / "index.html").write_text(home.format(links.format("")))
        [third] = worker.drain()
        assert third.result.removed == 1
        assert sorted(Path(d.source).name for d in index.documents()) == ["index.html", "leave.html", "security.html"]
        consistent(index)
    # The site is down: an outage, not a reason to empty the index.
    [fourth] = worker.drain()
    assert fourth.status is JobStatus.FAILED and "nothing was removed" in str(fourth.error)
    assert len(index.documents()) == 3


@pytest.mark.store
def test_two_worker_threads_share_one_server_index_without_doing_anything_twice(
    tmp_path: Path,
    settings: Settings,
    embedder: SentenceTransformerEmbedder,
    qdrant_server: QdrantNode,
    qdrant_collection: str,
) -> None:
    """Two sharded workers on two threads of this process, one queue, one ServerIndex (one qdrant-client) over
    HTTP to the session's real Qdrant node, writing at the same time: the sharding, the queue's claims and
    concurrent writes through one client. (Worker processes: tests/ingest/test_crash.py.)"""
    import threading

    from askdocs.index.server import ServerIndex

    folders = []
    for i, names in enumerate((("leave.html", "security.html"), ("oncall.html",), ("expenses.html", "index.html"))):
        folder = tmp_path / f"share-{i}"
        folder.mkdir()
        for name in names:
            shutil.copy(HANDBOOK / name, folder / name)
        folders.append(folder)
    yaml = "sources:\n" + "".join(f"  - name: share-{i}\n    folder: {f}\n" for i, f in enumerate(folders))
    catalog = parse_sources(yaml)
    index = ServerIndex.connect(qdrant_server.url, None, qdrant_collection, 10)
    queue = open_store(settings).queue
    for i in range(6):
        upload = queue.put_upload(f"note-{i}.md", f"# Note {i}\n\nReminder number {i}.".encode(), None)
        queue.submit(JobKind.UPLOAD, {"upload_id": upload, "name": f"note-{i}.md", "content_type": None})
    workers = [
        Worker(
            SqlJobQueue(queue.engine, lease_s=5),
            JobRunner(settings, embedder, index, catalog, uploads=queue),
            worker_id=f"w{i}",
            shard=Shard(i, 2),
            poll_s=0.05,
        )
        for i in range(2)
    ]
    for worker in workers:
        worker.schedule(force=True)
    done: dict[str, list[str]] = {}
    threads = [
        threading.Thread(target=lambda w=w: done.setdefault(w.worker_id, [j.job_id for j in w.drain()]))
        for w in workers
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    ran = done["w0"] + done["w1"]
    assert len(ran) == len(set(ran)) == 9  # 6 uploads + 3 syncs, each exactly once
    assert done["w0"] and done["w1"]
    for worker in workers:  # each sync ran on the worker owning its source
        for job in (queue.get(j) for j in done[worker.worker_id]):
            assert job is not None and job.status is JobStatus.DONE and job.worker == worker.worker_id
            if job.kind is JobKind.SYNC:
                assert worker.shard is not None and worker.shard.owns(job.spec["source"])
    docs = index.documents()
    assert len(docs) == 11 and len({d.doc_id for d in docs}) == 11
    assert index.count() == sum(d.chunks for d in docs)
    index.close()
