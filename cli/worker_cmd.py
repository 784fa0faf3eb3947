"""``askdocs worker``: runs the durable queue's ingest jobs and syncs each source of sources.yaml on its schedule."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from askdocs.errors import IndexLockedError
from askdocs.jobs import Job, JobStatus
from cli.common import clean_errors, console, err_console, fail, settings_or_exit
from cli.sources_cmd import load_configured_sources


def worker(
    sources: Annotated[
        Path | None, typer.Option("--sources", help="sources.yaml (default ASKDOCS_WORKER__SOURCES_FILE).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Sync every source now, run all queued jobs, exit.")] = False,
    shard: Annotated[
        str | None, typer.Option("--shard", help="I/N: sync only the sources of shard I of N workers.")
    ] = None,
    worker_id: Annotated[str | None, typer.Option("--id", help="This worker's name in the job queue.")] = None,
) -> None:
    """Run ingest jobs (POST /ingest) from the durable queue and sync each source on its schedule."""
    settings = settings_or_exit()
    catalog = load_configured_sources(settings, sources)
    with clean_errors():
        from askdocs.components import make_embedder, open_checked_index
        from askdocs.store.engine import database_url, safe_url
        from askdocs.store.store import open_store
        from ingest.worker import Shard, make_worker

        shard_of = Shard.parse(shard) if shard else None
        embedder = make_embedder(settings)
        try:
            index = open_checked_index(settings, embedder)
        except IndexLockedError as exc:
            fail(
                f"{exc}. In embedded mode askdocs serve runs the worker itself; separate workers need a Qdrant server."
            )
        store = open_store(settings)
        queue = store.queue
        agent = make_worker(
            settings, embedder, index, queue, catalog, worker_id=worker_id, shard=shard_of, on_job=_print_job
        )
        owned = ", ".join(s.name for s in agent.owned) or "none"
        where = safe_url(database_url(settings))
        err_console.print(f"worker {agent.worker_id}: queue in {where}; sources: {owned}", highlight=False)
        try:
            if once:
                done = agent.drain()
            else:
                stop = threading.Event()

                def stopping(*_: object) -> None:
                    stop.set()
                    agent.wake()

                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, stopping)
                agent.run(stop)
                done = []
        finally:
            store.close()
            index.close()
    if once:
        _summary(done)
        if any(j.status is JobStatus.FAILED or _failures(j) for j in done):
            raise typer.Exit(1)


def _failures(job: Job) -> int:
    return len(job.result.failed)


def _print_job(job: Job) -> None:
    target = job.spec.get("source") or job.spec.get("url") or job.spec.get("name")
    removed = job.result.removed
    detail = ", ".join(f"{n} {s}" for s, n in job.result.counts().items() if n) or "no documents"
    colour = "red" if job.status is JobStatus.FAILED else "green"
    err_console.print(
        f"[{colour}]{job.status.value}[/] {job.kind.value} {target}: {detail}"
        + (f", {removed} removed" if removed else "")
        + (f" — {job.error}" if job.error else ""),
        highlight=False,
        soft_wrap=True,
    )
    for r in job.result.failed:
        err_console.print(f"  [red]failed[/] {r.source}: {r.error}", highlight=False, soft_wrap=True)


def _summary(done: list[Job]) -> None:
    table = Table(title="worker --once", show_header=True)
    for column in ("job", "target", "status", "new", "updated", "unchanged", "failed", "removed"):
        table.add_column(column)
    for job in done:
        counts = job.result.counts()
        removed = job.result.removed
        target = str(job.spec.get("source") or job.spec.get("url") or job.spec.get("name"))
        table.add_row(job.kind.value, target, job.status.value, *(str(counts[s]) for s in counts), str(removed))
    console.print(table)
