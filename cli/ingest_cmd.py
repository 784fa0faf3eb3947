from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from askdocs.client import ServiceClient
from askdocs.errors import IndexLockedError, LoadError
from askdocs.models import DocumentResult, DocumentStatus
from askdocs.settings import ChunkingSettings, Settings
from cli.common import clean_errors, console, err_console, fail, settings_or_exit
from ingest.parsing import ChildParser
from ingest.pipeline import Ingestor, IngestReport
from ingest.sources import Reader, SourceRef, expand
from ingest.web import CrawlRun, Fetched, NotModified, WebPolicy, WebResult, crawl, from_sitemap

_WEB = "Web: --crawl and --sitemap"


def ingest(
    paths: Annotated[list[str] | None, typer.Argument(help="Files, folders (recursive) and http(s) URLs.")] = None,
    chunker: Annotated[str | None, typer.Option("--chunker", help="Chunking strategy (default from settings).")] = None,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if the index holds documents.")] = False,
    crawl_from: Annotated[
        list[str] | None,
        typer.Option("--crawl", help="Crawl from this URL, following links (repeatable).", rich_help_panel=_WEB),
    ] = None,
    sitemap: Annotated[
        list[str] | None,
        typer.Option("--sitemap", help="Ingest the pages a sitemap or sitemap index lists.", rich_help_panel=_WEB),
    ] = None,
    max_depth: Annotated[
        int, typer.Option("--max-depth", min=0, help="Links followed from a start page.", rich_help_panel=_WEB)
    ] = 3,
    max_pages: Annotated[
        int, typer.Option("--max-pages", min=1, help="Pages requested per crawl or sitemap.", rich_help_panel=_WEB)
    ] = 500,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="A host the crawl may visit (repeatable; '*.example.com' for subdomains). Default: the start URLs'.",
            rich_help_panel=_WEB,
        ),
    ] = None,
    allow_prefix: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-prefix", help="A URL path to stay under, e.g. /handbook/ (repeatable).", rich_help_panel=_WEB
        ),
    ] = None,
    allow_private_network: Annotated[
        bool,
        typer.Option(
            "--allow-private-network",
            help="Let URLs, crawls and sitemaps reach private, loopback and link-local addresses (an intranet).",
        ),
    ] = False,
) -> None:
    """Load, chunk, embed and store documents. Unchanged documents are skipped; changed ones replaced."""
    settings = settings_or_exit()
    chunking = settings.chunking.model_copy(update={"chunker": chunker or settings.chunking.chunker})
    if not (paths or crawl_from or sitemap):
        fail("nothing to ingest: name files, folders or URLs, or use --crawl URL or --sitemap URL")
    private = allow_private_network or settings.ingest.allow_private_network
    try:
        policy = _web_policy(settings, allow_host, allow_prefix, private, max_depth=max_depth, max_pages=max_pages)
    except ValueError as exc:
        fail(str(exc))
    runs = ([crawl(crawl_from, policy)] if crawl_from else []) + [from_sitemap(url, policy) for url in sitemap or []]
    with clean_errors():
        refs, missing = expand(paths or [])
        done = _ingest_here(settings, chunking, refs, runs, private=private, if_empty=if_empty)
        if done is None:
            return
        report, web = (
            done if isinstance(done, tuple) else (_send_to_service(settings, refs, missing, done), _WebTally())
        )
        report.outcomes[:0] = [DocumentResult(e.source, DocumentStatus.FAILED, error=e.reason) for e in missing]
    _summary(report, web)
    if report.failed:
        raise typer.Exit(1)


def _ingest_here(
    settings: Settings,
    chunking: ChunkingSettings,
    refs: list[SourceRef],
    runs: list[CrawlRun],
    *,
    private: bool,
    if_empty: bool,
) -> tuple[IngestReport, _WebTally] | IndexLockedError | None:
    """Ingest into the index in this process. None: ``if_empty`` and the index holds data. The embedded index
    held by a running service: that error, so the caller can hand the documents to the service."""
    from askdocs.components import check_dimension, make_embedder
    from askdocs.index.factory import open_index

    embedder = make_embedder(settings, warm=False)
    index = open_index(settings)
    try:
        # Built before the model loads, so a bad chunker name or parameter fails at once.
        ingestor = Ingestor(embedder, index, chunking, parser=ChildParser.from_settings(settings.ingest))
        check_dimension(index, embedder)
        if if_empty and (points := index.count()) > 0:
            console.print(f"index already holds {points} chunks; nothing to do (--if-empty)")
            return None
        return _run_with_progress(
            ingestor, refs, Reader.from_settings(settings.ingest, allow_private_network=private), runs
        )
    except IndexLockedError as exc:
        if runs:
            fail(f"{exc}. --crawl and --sitemap write to the index themselves: stop the service and run again.")
        return exc
    finally:
        index.close()


def _web_policy(
    settings: Settings,
    hosts: list[str] | None,
    prefixes: list[str] | None,
    private: bool,
    *,
    max_depth: int,
    max_pages: int,
) -> WebPolicy:
    """The crawl's limits: these flags, and the size, timeout and user agent of the ingest settings."""
    return WebPolicy.from_settings(
        settings.ingest,
        allow_hosts=tuple(hosts or ()),
        allow_prefixes=tuple(prefixes or ()),
        allow_private_network=private,
        max_depth=max_depth,
        max_pages=max_pages,
    )


@dataclass
class _WebTally:
    runs: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # why: robots.txt, a sitemap entry out of scope
    unvisited: int = 0  # links left when --max-pages was reached


def _run_with_progress(
    ingestor: Ingestor, refs: list[SourceRef], reader: Reader, runs: list[CrawlRun]
) -> tuple[IngestReport, _WebTally]:
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}"),
    ]
    with Progress(*columns, console=err_console, transient=True) as progress:
        report = IngestReport()
        if refs or not runs:
            task = progress.add_task("ingesting", total=len(refs), current="")

            def done(outcome: DocumentResult) -> None:
                progress.update(task, advance=1, current=Path(outcome.source).name[:40])

            report = ingestor.run(refs, reader, done)
        tally = _WebTally(runs=len(runs))
        started = time.perf_counter()
        for run in runs:
            task = progress.add_task("crawling", total=None, current="")
            for result in run:
                report.outcomes.append(_web_outcome(ingestor, result))
                progress.update(task, advance=1, current=urlsplit(result.url).path[-40:])
            tally.skipped.update(s.reason.split(" (listed in ")[0] for s in run.skipped)
            tally.unvisited += run.unvisited
        report.seconds += time.perf_counter() - started
    return report, tally


def _web_outcome(ingestor: Ingestor, result: WebResult) -> DocumentResult:
    if isinstance(result, Fetched):
        return ingestor.ingest_raw(result.raw)
    if isinstance(result, NotModified):
        return DocumentResult(result.url, DocumentStatus.UNCHANGED)
    return DocumentResult(result.url, DocumentStatus.FAILED, error=result.reason)


def _send_to_service(
    settings: Settings, refs: list[SourceRef], missing: list[LoadError], locked: IndexLockedError
) -> IngestReport:
    """The embedded index is held by a running service: hand the documents to it instead."""
    client = ServiceClient.from_settings(settings)
    if not client.has_key or not client.reachable():
        fail(f"{locked}. (No service answered at {client.base} with ASKDOCS_ADMIN_TOKEN set.)")
    console.print(f"the index is held by the service at {client.base}; sending the documents there")
    report = IngestReport()
    for ref in refs:
        if ref.is_url:
            results = client.ingest(data={"urls": [ref.location]})
        else:
            with open(ref.location, "rb") as handle:
                results = client.ingest(files=[("files", (ref.location, handle))])
        for r in results:
            outcome = DocumentResult(
                r["source"], DocumentStatus(r["status"]), r["chunks"], r.get("doc_id", ""), error=r["error"]
            )
            report.outcomes.append(outcome)
    return report


def _summary(report: IngestReport, web: _WebTally) -> None:
    table = Table(title="ingest summary", show_header=False)
    table.add_row("documents ingested", str(report.documents))
    table.add_row("  new / updated", f"{report.count(DocumentStatus.NEW)} / {report.count(DocumentStatus.UPDATED)}")
    table.add_row("chunks written", str(report.chunks))
    table.add_row("skipped (unchanged)", str(report.count(DocumentStatus.UNCHANGED)))
    if web.runs:
        table.add_row("skipped (robots.txt, scope)", str(web.skipped.total()))
        table.add_row("not visited (--max-pages)", str(web.unvisited))
    table.add_row("failed", str(len(report.failed)))
    table.add_row("seconds", f"{report.seconds:.1f}")
    console.print(table)
    for reason, count in sorted(web.skipped.items()):
        console.print(f"skipped {count}: {reason}", highlight=False, soft_wrap=True)
    for outcome in report.failed:
        err_console.print(f"[red]failed[/] {outcome.source}: {outcome.error}", highlight=False, soft_wrap=True)
