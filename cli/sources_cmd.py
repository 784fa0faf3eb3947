"""``askdocs sources check``: the sources file (sources.yaml) the worker keeps in sync, validated and listed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from askdocs.settings import Settings
from cli.common import clean_errors, console, fail, settings_or_exit
from ingest.sourcefile import SourcesFile, load_sources

sources_app = typer.Typer(help="The sources file (sources.yaml) the worker keeps in sync.", no_args_is_help=True)


def load_configured_sources(settings: Settings, path: Path | None) -> SourcesFile | None:
    """The sources file named on the command line or in ASKDOCS_WORKER__SOURCES_FILE, validated now."""
    path = path or settings.worker.sources_file
    if path is None:
        return None
    with clean_errors():
        return load_sources(path)


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
