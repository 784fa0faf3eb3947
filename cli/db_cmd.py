"""``askdocs db``: the state store's schema."""

from __future__ import annotations

import typer

from cli.common import clean_errors, console, settings_or_exit

db_app = typer.Typer(help="The state store (SQLite or PostgreSQL, ASKDOCS_DATABASE__URL).", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """Bring the state store to this version's schema (askdocs serve and worker also do it on start)."""
    settings = settings_or_exit()
    with clean_errors():
        from askdocs.store.engine import current_revision, database_url, make_engine
        from askdocs.store.engine import upgrade as migrate
        from askdocs.store.store import carry_over

        engine = make_engine(database_url(settings))
        try:
            before, head = current_revision(engine)
            migrate(engine)
            carry_over(settings, engine)
        finally:
            engine.dispose()
    console.print(f"state store at revision {head} (was {before or 'empty'})")
