from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from askdocs.errors import IndexLockedError, LoadError
from askdocs.settings import Settings
from cli.common import ServiceClient, clean_errors, console, err_console, fail, settings_or_exit
from ingest.pipeline import Ingestor, IngestReport, Outcome, Status
from ingest.sources import Reader, SourceRef, expand


def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files, folders (recursive) and http(s) URLs.")],
    chunker: Annotated[str | None, typer.Option("--chunker", help="Chunking strategy (default from settings).")] = None,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if the index holds documents.")] = False,
) -> None:
    """Load, chunk, embed and store documents. Unchanged documents are skipped; changed ones replaced."""
    settings = settings_or_exit()
    name = chunker or settings.chunking.chunker
    with clean_errors():
        from askdocs.components import check_dimension, make_embedder
        from askdocs.index.factory import open_index

        refs, missing = expand(paths)
        embedder = make_embedder(settings, warm=False)
        index = open_index(settings)
        try:
            # Built before the model loads, so a bad chunker name or parameter fails at once.
            ingestor = Ingestor(embedder, index, settings.chunking.model_copy(update={"chunker": name}))
            check_dimension(index, embedder)
            if if_empty and (points := index.count()) > 0:
                console.print(f"index already holds {points} chunks; nothing to do (--if-empty)")
                index.close()
                return
        except IndexLockedError as exc:
            report = _send_to_service(settings, refs, missing, exc)
        else:
            reader = Reader(
                settings.ingest.max_file_mb * 2**20,
                settings.ingest.http_timeout_s,
                settings.ingest.user_agent,
            )
            try:
                report = _run_with_progress(ingestor, refs, reader)
            finally:
                index.close()
        report.outcomes[:0] = [Outcome(e.source, Status.FAILED, error=e.reason) for e in missing]
    _summary(report)
    if report.failed:
        raise typer.Exit(1)


def _run_with_progress(ingestor: Ingestor, refs: list[SourceRef], reader: Reader) -> IngestReport:
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}"),
    ]
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("ingesting", total=len(refs), current="")

        def done(outcome: Outcome) -> None:
            progress.update(task, advance=1, current=Path(outcome.source).name[:40])

        return ingestor.run(refs, reader, done)


def _send_to_service(
    settings: Settings, refs: list[SourceRef], missing: list[LoadError], locked: IndexLockedError
) -> IngestReport:
    """The embedded index is held by a running service: hand the documents to it instead."""
    client = ServiceClient(settings)
    if not client.has_token or not client.reachable():
        fail(f"{locked}. (No service answered at {client.base} with ASKDOCS_ADMIN_TOKEN set.)")
    console.print(f"the index is held by the service at {client.base}; sending the documents there")
    report = IngestReport()
    for ref in refs:
        if ref.is_url:
            body = client.request("POST", "/ingest", data={"urls": [ref.location]})
        else:
            with open(ref.location, "rb") as handle:
                body = client.request("POST", "/ingest", files=[("files", (ref.location, handle))])
        for r in body["results"]:
            outcome = Outcome(r["source"], Status(r["status"]), r["chunks"], r["doc_id"], error=r["error"])
            report.outcomes.append(outcome)
    return report


def _summary(report: IngestReport) -> None:
    table = Table(title="ingest summary", show_header=False)
    table.add_row("documents ingested", str(report.documents))
    table.add_row("  new / updated", f"{report.count(Status.NEW)} / {report.count(Status.UPDATED)}")
    table.add_row("chunks written", str(report.chunks))
    table.add_row("skipped (unchanged)", str(report.count(Status.UNCHANGED)))
    table.add_row("failed", str(len(report.failed)))
    table.add_row("seconds", f"{report.seconds:.1f}")
    console.print(table)
    for outcome in report.failed:
        err_console.print(f"[red]failed[/] {outcome.source}: {outcome.error}", highlight=False, soft_wrap=True)
