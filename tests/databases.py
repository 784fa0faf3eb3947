"""The tests' databases on the session's PostgreSQL server.

Migrating a new database takes longer than copying one, so the schema is migrated once per session, by askdocs' own
``upgrade``, into ``askdocs_template``; each test then gets ``CREATE DATABASE t_x TEMPLATE askdocs_template``. The
store's own tests, which migrate for themselves, get an empty database instead. Every database is dropped when its
test ends, after the engines this process opened on it are disposed (a connection left open fails the test); the
session ends by checking that none is left.
"""

from __future__ import annotations

import uuid
import weakref

import sqlalchemy as sa

from askdocs.store.engine import make_engine, upgrade

TEMPLATE = "askdocs_template"
PREFIX = "t_"

_engines: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def _seen(connection: sa.Connection) -> None:
    _engines.add(connection.engine)


class TestDatabases:
    """Databases for tests on one server: ``migrated()`` and ``empty()`` make one, ``drop()`` removes it."""

    __test__ = False  # not a test class, whatever pytest's name rules say

    def __init__(self, server_uri: str) -> None:
        self._url = sa.make_url(server_uri).set(drivername="postgresql+psycopg")
        self._admin = sa.create_engine(self._url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        self._template = False
        self.created = 0  # test databases, the template aside
        if not sa.event.contains(sa.Engine, "engine_connect", _seen):
            sa.event.listen(sa.Engine, "engine_connect", _seen)  # every engine that connects, to dispose it

    def migrated(self) -> str:
        """A new database holding this version's schema (a copy of the template, migrated once per session)."""
        if not self._template:
            self._create(TEMPLATE)
            engine = make_engine(self._at(TEMPLATE))
            upgrade(engine)
            engine.dispose()  # a template must have no connections while it is copied
            self._template = True
        return self._create(f"{PREFIX}{uuid.uuid4().hex[:12]}", TEMPLATE)

    def empty(self) -> str:
        """A new database with no tables, for the tests of the migrations themselves."""
        return self._create(f"{PREFIX}{uuid.uuid4().hex[:12]}")

    def drop(self, url: str) -> None:
        """Dispose the engines this process opened on ``url``'s database, then drop it. A connection still open
        (a thread or a process the test left running) is a leak: the database is dropped all the same, and the
        test fails naming what was connected."""
        name = sa.make_url(url).database
        for engine in list(_engines):
            if engine.url.get_backend_name() == "postgresql" and engine.url.database == name:
                engine.dispose()
        try:
            self._sql(f'DROP DATABASE IF EXISTS "{name}"')  # waits a few seconds for sessions that are ending
        except sa.exc.OperationalError as exc:
            query = sa.text("SELECT pid, application_name, state, query FROM pg_stat_activity WHERE datname = :name")
            with self._admin.connect() as db:
                sessions = [tuple(r) for r in db.execute(query, {"name": name})]
            self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            raise AssertionError(
                f"the test left {len(sessions)} connection(s) to its database open: {sessions}"
            ) from exc

    def leftovers(self) -> list[str]:
        """The test databases still on the server (none, once every test has dropped its own)."""
        query = sa.text("SELECT datname FROM pg_database WHERE datname LIKE :prefix ORDER BY datname")
        with self._admin.connect() as db:
            return [str(n) for n in db.execute(query, {"prefix": PREFIX.replace("_", r"\_") + "%"}).scalars()]

    def close(self) -> None:
        self._admin.dispose()

    def _create(self, name: str, template: str | None = None) -> str:
        self._sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self.created += name.startswith(PREFIX)
        return self._at(name)

    def _at(self, name: str) -> str:
        return self._url.set(database=name).render_as_string(hide_password=False)

    def _sql(self, statement: str) -> None:
        with self._admin.connect() as db:
            db.exec_driver_sql(statement)
