"""``askdocs keys create|list|revoke``: the service's API keys (stored hashed in the key store)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from askdocs.keys import SCOPES, SqliteKeyStore
from cli.common import clean_errors, console, settings_or_exit

keys_app = typer.Typer(help="API keys: who may call the service, with which scope and groups.", no_args_is_help=True)


def _store() -> SqliteKeyStore:
    settings = settings_or_exit()
    with clean_errors():
        return SqliteKeyStore(settings.keys_path)


@keys_app.command()
def create(
    name: Annotated[str, typer.Option("--name", help="Who or what will use the key (e.g. slack-bot).")],
    scope: Annotated[str, typer.Option("--scope", help=f"One of: {', '.join(SCOPES)}.")] = "ask",
    groups: Annotated[str, typer.Option("--groups", help="Comma-separated groups an 'ask' key searches with.")] = "",
) -> None:
    """Create a key and print it once, alone on the last line: it cannot be shown again."""
    store = _store()
    with clean_errors():
        key, secret = store.create(name, scope, [g.strip() for g in groups.split(",") if g.strip()])
    store.close()
    console.print(
        f"created key {key.key_id} ({key.prefix}...) '{key.name}', scope {key.scope}, "
        f"groups {', '.join(key.groups) or '(none)'}; store it now, it is shown only once:",
        highlight=False,
    )
    print(secret)


@keys_app.command("list")
def list_keys() -> None:
    """The keys, with their visible prefix (never the key)."""
    store = _store()
    keys = store.list()
    store.close()
    table = Table("id", "prefix", "name", "scope", "groups", "created", "revoked")
    for key in keys:
        table.add_row(
            key.key_id,
            key.prefix + "...",
            key.name,
            key.scope,
            ", ".join(key.groups),
            _when(key.created_at),
            _when(key.revoked_at),
        )
    console.print(table)


@keys_app.command()
def revoke(key: Annotated[str, typer.Argument(help="The key's id or its visible prefix.")]) -> None:
    """Revoke a key: it stops working at once (the service reads the store on every request)."""
    store = _store()
    with clean_errors():
        revoked = store.revoke(key)
    store.close()
    console.print(f"revoked key {revoked.key_id} ({revoked.prefix}...) '{revoked.name}'", highlight=False)


def _when(stamp: float | None) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M") if stamp else ""
