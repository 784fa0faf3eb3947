from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from askdocs.errors import IndexLockedError
from askdocs.index.factory import open_index
from cli.common import clean_errors, console, fail, service_holding, settings_or_exit

docs_app = typer.Typer(help="The documents in the index.", no_args_is_help=True)


@docs_app.command("list")
def list_documents(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List documents: id, source, title, chunks, ingested_at."""
    settings = settings_or_exit()
    with clean_errors():
        index = open_index(settings)
        try:
            rows: list[dict[str, Any]] = [asdict(d) for d in index.documents()]
        except IndexLockedError as exc:
            rows = service_holding(settings, exc).documents()
        finally:
            index.close()
    for row in rows:
        row.pop("version", None)
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("id", "source", "title", "chunks", "ingested_at")
    for row in rows:
        table.add_row(row["doc_id"], row["source"], row["title"], str(row["chunks"]), row["ingested_at"])
    console.print(table)
    console.print(f"{len(rows)} documents")


@docs_app.command("delete")
def delete_document(
    doc_id: Annotated[str, typer.Argument(help="Document id (see 'askdocs docs list').")],
) -> None:
    """Remove a document and all its chunks from the index."""
    settings = settings_or_exit()
    with clean_errors():
        index = open_index(settings)
        try:
            if not any(d.doc_id == doc_id for d in index.documents()):
                fail(f"no document with id {doc_id!r}; see 'askdocs docs list'")
            index.delete_document(doc_id)
        except IndexLockedError as exc:
            service_holding(settings, exc).delete_document(doc_id)
        finally:
            index.close()
    console.print(f"deleted {doc_id}")
