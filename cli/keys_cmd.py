"""``askdocs keys``: API keys for the HTTP API, kept hashed in the state store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.common import clean_errors, console, fail, settings_or_exit

if TYPE_CHECKING:
    from askdocs.store.keys import KeyStore

keys_app = typer.Typer(help="API keys: who may ask, with which groups, and who may administer.", no_args_is_help=True)


@contextmanager
def _keys() -> Iterator[KeyStore]:
    from askdocs.store.keys import KeyStore
    from askdocs.store.store import open_store

    with open_store(settings_or_exit()) as store:
        yield KeyStore(store.engine)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="A name for the key's holder, e.g. slack-bot or team-hr.")],
    scope: Annotated[str, typer.Option(help="ask, admin, or frontend (may pass the asker's groups).")] = "ask",
    groups: Annotated[str, typer.Option(help="Comma-separated groups this key searches with.")] = "",
) -> None:
    """Create a key; it is printed once, alone on the last line, and only its hash is kept."""
    wanted = tuple(g.strip() for g in groups.split(",") if g.strip())
    with clean_errors(), _keys() as keys:
        key, secret = keys.create(name, scope, wanted)
    console.print(f"created {key.scope} key {key.name!r} ({key.prefix}…), groups: {', '.join(key.groups) or 'none'}")
    console.print("store it now: it cannot be shown again", style="yellow")
    print(secret)  # alone, unstyled, on the last line: easy to capture in a script


@keys_app.command("list")
def list_() -> None:
    """The keys: name, visible prefix, scope, groups, created, revoked."""
    with clean_errors(), _keys() as store:
        keys = store.keys()
    table = Table("name", "prefix", "scope", "groups", "created (UTC)", "revoked")
    for k in keys:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(k.created_at))
        revoked = time.strftime("%Y-%m-%d %H:%M", time.gmtime(k.revoked_at)) if k.revoked_at else ""
        table.add_row(k.name, k.prefix + "…", k.scope, ", ".join(k.groups), when, revoked)
    console.print(table)


@keys_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key: every request with it is refused from now on (within a few seconds on every replica)."""
    with clean_errors(), _keys() as keys:
        done = keys.revoke(name)
    if not done:
        fail(f"no active key named {name!r}")
    console.print(f"revoked {name!r}")
