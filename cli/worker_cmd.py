from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from askdocs.errors import IndexLockedError
from askdocs.jobs import Job, JobStatus
from askdocs.settings import Settings
from cli.common import clean_errors, console, err_console, fail, settings_or_exit
from ingest.sourcefile import SourcesFile, load_sources

sources_app = typer.Typer(help="The sources file (sources.yaml) the worker keeps in sync.", no_args_is_help=True)


def load_configured_sources(settings: Settings, path: Path | None) -> SourcesFile | None:
    """The sources file named on the command line or in ASKDOCS_WORKER__SOURCES_FILE, validated now."""
    path = path or settings.worker.sources_file
    if path is None:
        return None
    with clean_errors():
        return load_sources(path)


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
        from askdocs.jobs import SqliteJobQueue
        from ingest.worker import JobRunner, Shard, SqliteValidators, Worker

        shard_of = Shard.parse(shard) if shard else None
        embedder = make_embedder(settings)
        try:
            index = open_checked_index(settings, embedder)
        except IndexLockedError as exc:
            fail(
                f"{exc}. In embedded mode askdocs serve runs the worker itself; separate workers need a Qdrant server."
            )
        queue = SqliteJobQueue(
            settings.queue_path, lease_s=settings.worker.lease_s, max_attempts=settings.worker.max_attempts
        )
        runner = JobRunner(settings, embedder, index, catalog, SqliteValidators(settings.data_dir / "web_cache.sqlite"))
        agent = Worker(
            queue,
            runner,
            worker_id=worker_id,
            shard=shard_of,
            poll_s=settings.worker.poll_s,
            lease_s=settings.worker.lease_s,
            on_job=_print_job,
        )
        owned = ", ".join(s.name for s in agent.owned) or "none"
        err_console.print(f"worker {agent.worker_id}: queue {settings.queue_path}; sources: {owned}", highlight=False)
        try:
            if once:
                done = agent.drain()
            else:
                stop = threading.Event()
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, lambda *_: stop.set())
                agent.run(stop)
                done = []
        finally:
            queue.close()
            index.close()
    if once:
        _summary(done)
        if any(j.status is JobStatus.FAILED or _failures(j) for j in done):
            raise typer.Exit(1)


def _counts(job: Job) -> dict[str, int]:
    """Documents per status: new, updated, unchanged, failed."""
    counts = dict.fromkeys(("new", "updated", "unchanged", "failed"), 0)
    for r in job.result.get("results", []):
        counts[r["status"]] += 1
    return counts


def _failures(job: Job) -> int:
    return _counts(job)["failed"]


def _print_job(job: Job) -> None:
    target = job.spec.get("source") or job.spec.get("url") or job.spec.get("name")
    removed = (job.result.get("sync") or {}).get("removed", 0)
    detail = ", ".join(f"{n} {s}" for s, n in _counts(job).items() if n) or "no documents"
    colour = "red" if job.status is JobStatus.FAILED else "green"
    err_console.print(
        f"[{colour}]{job.status.value}[/] {job.kind.value} {target}: {detail}"
        + (f", {removed} removed" if removed else "")
        + (f" — {job.error}" if job.error else ""),
        highlight=False,
        soft_wrap=True,
    )
    for r in job.result.get("results", []):
        if r.get("status") == "failed":
            err_console.print(f"  [red]failed[/] {r['source']}: {r['error']}", highlight=False, soft_wrap=True)


def _summary(done: list[Job]) -> None:
    table = Table(title="worker --once", show_header=True)
    for column in ("job", "target", "status", "new", "updated", "unchanged", "failed", "removed"):
        table.add_column(column)
    for job in done:
        counts = _counts(job)
        removed = (job.result.get("sync") or {}).get("removed", 0)
        target = str(job.spec.get("source") or job.spec.get("url") or job.spec.get("name"))
        table.add_row(job.kind.value, target, job.status.value, *(str(counts[s]) for s in counts), str(removed))
    console.print(table)


@sources_app.command("check")
def check(path: Annotated[Path | None, typer.Argument(help="sources.yaml (default from settings).")] = None) -> None:
    """Validate a sources file and list its sources."""
    settings = settings_or_exit()
    catalog = load_configured_sources(settings, path)
    if catalog is None:
        fail("no sources file: pass one, or set ASKDOCS_WORKER__SOURCES_FILE")
    table = Table(title=str(path or settings.worker.sources_file))
    for column in ("name", "kind", "where", "chunker", "acl", "schedule"):
        table.add_column(column)
    for s in catalog.sources:
        where = str(s.folder or s.sitemap or ", ".join(s.url or s.crawl or []))
        chunking = s.chunking(settings.chunking)
        table.add_row(s.name, s.kind, where, chunking.chunker, ", ".join(s.acl) or "everyone", s.schedule)
    console.print(table)
