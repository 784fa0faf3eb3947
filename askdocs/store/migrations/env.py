"""Alembic's environment for askdocs: run programmatically by ``askdocs.store.engine.upgrade`` on a connection it
hands in (``config.attributes["connection"]``); ``alembic`` on the command line is not needed."""

from __future__ import annotations

from alembic import context

from askdocs.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise RuntimeError("run migrations with `askdocs db upgrade`, which knows the database URL")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
