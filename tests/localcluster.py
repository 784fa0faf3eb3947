"""askdocs on loopback as several machines run it: a 3-peer Qdrant cluster (``tests/qdrant.py``), PostgreSQL (the
``pgserver`` wheel), API processes (``askdocs serve`` without its worker thread) and workers (``askdocs worker
--shard I/N``), all on the one cluster and the one state store, each process on another Qdrant peer.

``scripts/local-cluster`` runs it for a person; ``tests/test_replicas.py`` proves it. Every askdocs process runs in
a session of its own and is stopped, or killed, with its process group (a worker's parser children with it); Qdrant
peers by their PID; PostgreSQL with ``pg_ctl stop``. Nothing is left running by :meth:`LocalCluster.stop`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.qdrant import QdrantNode, free_ports, qdrant_binary, start_cluster

ASKDOCS = str(Path(sys.executable).parent / "askdocs")
START_TIMEOUT_S = 240.0  # four processes loading the model at once on two busy cores


@dataclass
class Askdocs:
    """One ``askdocs serve`` or ``askdocs worker`` process: its folder (data dir, log), restartable."""

    name: str
    args: list[str]
    env: dict[str, str]
    folder: Path
    url: str | None = None  # an API's base URL
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.folder / f"{self.name}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # cwd: its own folder, so no .env file of the caller's is read
                [ASKDOCS, *self.args], cwd=self.folder, env=self.env, stdout=log, stderr=log, start_new_session=True
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        """An API answers /ready; a worker has said which queue it runs (its model is loaded, its store open)."""
        if self.url is None:
            return "queue in" in self.log.read_text(errors="replace")
        try:
            return httpx.get(f"{self.url}/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL to its process group: a crash, nothing flushed, no lease given back."""
        self._signal(signal.SIGKILL, 30)

    def stop(self) -> None:
        """SIGTERM to its process group (a worker finishes its job's step and gives up), SIGKILL after 30 s."""
        if not self._signal(signal.SIGTERM, 30):
            self.kill()

    def _signal(self, sig: signal.Signals, wait_s: float) -> bool:
        if not self.running():
            return True
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):  # gone since poll()
            os.killpg(self.process.pid, sig)  # its own session: the group id is its PID
        try:
            self.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class LocalCluster:
    root: Path
    qdrant: list[QdrantNode]
    database_url: str
    admin_token: str
    apis: list[Askdocs]
    workers: list[Askdocs]
    postgres: Any = field(default=None, repr=False)  # the pgserver handle, when this cluster started PostgreSQL

    @property
    def processes(self) -> list[Askdocs]:
        return [*self.apis, *self.workers]

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Until every API answers /ready and every worker runs its queue; the log of one that exits, or is not
        ready in time, in the error."""
        deadline = time.monotonic() + timeout_s
        waiting = list(self.processes)
        while waiting:
            for process in list(waiting):
                if not process.running():
                    raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
                if process.ready():
                    waiting.remove(process)
            if waiting and time.monotonic() > deadline:
                raise RuntimeError(f"{waiting[0].name} not ready after {timeout_s:g} s:\n{waiting[0].tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Everything this cluster started: askdocs processes first (they hold the store's connections), then the
        Qdrant peers, then PostgreSQL."""
        for process in self.processes:
            process.stop()
        for node in self.qdrant:
            node.stop()
        if self.postgres is not None:
            self.postgres.cleanup()


def start_postgres(folder: Path) -> tuple[Any, str]:
    """A PostgreSQL server of its own in ``folder`` (a Unix socket, no TCP port) holding an empty ``askdocs``
    database; (its handle, the database's URL)."""
    import pgserver
    import sqlalchemy as sa

    server = pgserver.get_server(folder, cleanup_mode="stop")
    url = sa.make_url(server.get_uri()).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as db:
        if not db.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = 'askdocs'").first():
            db.exec_driver_sql("CREATE DATABASE askdocs")
    admin.dispose()
    return server, url.set(database="askdocs").render_as_string(hide_password=False)


def start_local_cluster(
    root: Path,
    *,
    apis: int = 2,
    workers: int = 2,
    env: Mapping[str, str] | None = None,
    binary: Path | None = None,
    on_step: Callable[[str], None] = lambda _: None,
) -> LocalCluster:
    """Start it all under ``root``; returned once every process is ready. ``env``: the processes' environment
    (default this one's; the cluster's own settings override it). ``binary``: Qdrant's (default: fetched as the
    tests fetch it). Whatever was started is stopped again if the start fails."""
    cluster = LocalCluster(root, [], "", secrets.token_urlsafe(16), [], [])
    try:
        on_step("starting 3 Qdrant peers")
        cluster.qdrant = start_cluster(binary or qdrant_binary(), root / "qdrant", size=3)
        on_step("starting PostgreSQL")
        cluster.postgres, cluster.database_url = start_postgres(root / "postgres")
        on_step(f"starting {apis} API processes and {workers} workers (each loads the model)")
        _add_processes(cluster, apis, workers, dict(os.environ if env is None else env))
        for process in cluster.processes:
            process.start()
        cluster.wait_ready()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _add_processes(cluster: LocalCluster, apis: int, workers: int, env: dict[str, str]) -> None:
    peers = cluster.qdrant
    shared = {
        "ASKDOCS_DATABASE__URL": cluster.database_url,
        "ASKDOCS_ADMIN_TOKEN": cluster.admin_token,
        "ASKDOCS_WORKER__IN_SERVICE": "false",  # the workers run the jobs
    }
    for i, port in enumerate(free_ports(apis)):
        folder = cluster.root / f"api{i + 1}"
        own = {"ASKDOCS_DATA_DIR": str(folder / "data"), "ASKDOCS_QDRANT__URL": peers[i % len(peers)].url}
        args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        cluster.apis.append(Askdocs(f"api{i + 1}", args, env | shared | own, folder, f"http://127.0.0.1:{port}"))
    for i in range(workers):
        folder = cluster.root / f"worker{i + 1}"
        own = {"ASKDOCS_DATA_DIR": str(folder / "data"), "ASKDOCS_QDRANT__URL": peers[(apis + i) % len(peers)].url}
        args = ["worker", "--shard", f"{i}/{workers}", "--id", f"worker{i + 1}"]
        cluster.workers.append(Askdocs(f"worker{i + 1}", args, env | shared | own, folder))
