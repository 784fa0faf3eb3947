"""Shared by the commands: settings, console, and the one way errors end a command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from askdocs.client import ServiceClient
from askdocs.errors import AskdocsError, IndexLockedError
from askdocs.settings import Settings, load_settings

# soft_wrap: lines are never broken by rich (a path or URL stays whole, to copy); the terminal wraps what is long.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    # escaped: a message may hold square brackets ("askdocs[train]", "[1]") that rich would take for markup
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except AskdocsError as exc:
        fail(str(exc))


@contextmanager
def clean_errors() -> Iterator[None]:
    """Our errors become one readable line and exit code 2; no stack trace for a user's mistake."""
    try:
        yield
    except AskdocsError as exc:
        fail(str(exc))


def service_holding(settings: Settings, locked: IndexLockedError) -> ServiceClient:
    """The running service that holds the embedded index, to send the work to; the lock's error without one."""
    client = ServiceClient.from_settings(settings)
    if not client.reachable():
        fail(f"{locked}. (No askdocs service answered at {client.base}: ASKDOCS_SERVICE__URL says where it runs.)")
    return client
