"""The database: its URL, an engine tuned for each backend, and the migrations run on start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from askdocs.errors import ConfigError, StoreError
from askdocs.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x61736B646F6373  # "askdocs": the PostgreSQL advisory lock that migrations take


def database_url(settings: Settings) -> str:
    return settings.database.url or f"sqlite:///{settings.data_dir / 'askdocs.sqlite'}"


def make_engine(url: str) -> sa.Engine:
    """SQLite: WAL, a 30 s busy wait, and every transaction BEGIN IMMEDIATE (a claim's read-then-write is atomic
    across processes). PostgreSQL: a small pool checked before use (a restarted server is reconnected to)."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"ASKDOCS_DATABASE__URL {url!r} is not a database URL ({exc})") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(
            f"ASKDOCS_DATABASE__URL: {parsed.get_backend_name()!r} is not supported; use sqlite:///PATH or "
            "postgresql+psycopg://USER:PASSWORD@HOST/DB"
        )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event says BEGIN IMMEDIATE instead
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database to the newest schema (nothing to do when it is there), or to ``revision``. Replicas that
    start at once take turns: on PostgreSQL a lock held to the migration's commit, on SQLite the write lock of its
    BEGIN IMMEDIATE; the next finds the schema there (else both would create the same tables, and one fail)."""
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            command.upgrade(_config(connection), revision)
    except sa.exc.OperationalError as exc:
        raise StoreError(f"cannot reach the state store at {safe_url(engine.url)}: {exc.orig}") from exc


def current_revision(engine: sa.Engine) -> tuple[str | None, str]:
    """(the database's revision, the newest one this version ships)."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(_config(connection)).get_current_head()
    return current, str(head)


def safe_url(url: str | sa.URL) -> str:
    """A database URL without its password, for messages."""
    return sa.make_url(url).render_as_string(hide_password=True)
