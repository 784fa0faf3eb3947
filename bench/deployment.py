"""A deployment of askdocs on 127.0.0.1 for the benchmarks: a real PostgreSQL (the pgserver wheel, as the tests),
``askdocs serve`` replicas and ``askdocs worker`` processes as the compose files run them, and docker/Caddyfile under
the real Caddy in front of the replicas. Every process is started here and stopped by its own PID."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
ASKDOCS = str(Path(sys.executable).parent / "askdocs")
CADDYFILE = ROOT / "docker" / "Caddyfile"
ADMIN_TOKEN = "bench-admin-token"


@contextmanager
def postgres() -> Iterator[str]:
    """A PostgreSQL 16 server in a temporary folder; yields its askdocs URL (``postgresql+psycopg://...``)."""
    import pgserver

    folder = tempfile.mkdtemp(prefix="askdocs-bench-postgres-")
    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        yield sa.make_url(server.get_uri()).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def askdocs_env(qdrant_url: str, collection: str, database_url: str, data_dir: Path) -> dict[str, str]:
    """What every askdocs container of docker/cluster.compose.yml gets, pointed at this machine's services; no rate
    limit worth the name (16 clients behind one proxy address would share one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOCS_")}
    return env | {
        "ASKDOCS_QDRANT__URL": qdrant_url,
        "ASKDOCS_QDRANT__COLLECTION": collection,
        "ASKDOCS_DATABASE__URL": database_url,
        "ASKDOCS_DATA_DIR": str(data_dir),
        "ASKDOCS_ADMIN_TOKEN": ADMIN_TOKEN,
        "ASKDOCS_WORKER__IN_SERVICE": "false",
        "ASKDOCS_AUTH__RATE_LIMIT": "1000000/minute",
    }


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=out, start_new_session=True)


def serve(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return start([ASKDOCS, "serve", "--host", "127.0.0.1", "--port", str(port)], env, log)


def worker(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return start([ASKDOCS, "worker", "--id", name], env, log)


def caddy(api_upstreams: list[str], qdrant_url: str, port: int, home: Path) -> subprocess.Popen[bytes]:
    """docker/Caddyfile itself, its upstreams and ports given through the environment placeholders it reads."""
    found = shutil.which("caddy")
    if found is None:
        raise SystemExit("caddy is not installed (apt-get install caddy): the replicas are measured behind it")
    from tests.qdrant import free_ports

    env = os.environ | {
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "PROXY_BIND": "127.0.0.1",
        "PROXY_API_PORT": str(port),
        "PROXY_QDRANT_PORT": str(free_ports(1)[0]),
        "API_UPSTREAMS": " ".join(api_upstreams),
        "QDRANT_UPSTREAMS": qdrant_url.removeprefix("http://"),
    }
    return start([found, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"], env, home / "caddy.log")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 600) -> None:
    """Until ``url``/ready answers 200; the log's tail if the process ends first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited with {process.returncode}:\n{_tail(log)}")
        try:
            if httpx.get(f"{url}/ready", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} not ready after {timeout_s:g} s:\n{_tail(log)}")


def wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes], timeout_s: float = 600) -> None:
    """Until the process has written ``text`` to its log (a worker names its queue once its model is loaded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited with {process.returncode}:\n{_tail(log)}")
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise SystemExit(f"{text!r} never appeared in {log}:\n{_tail(log)}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process, all its threads (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
