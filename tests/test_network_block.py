"""The network block reaches the suite's subprocesses: loopback works, other addresses and DNS names are refused."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.netblock.sitecustomize import REFUSAL, is_loopback

ASKDOCS = str(Path(sys.executable).parent / "askdocs")

# Run in a fresh interpreter; prints what each attempt gave. 192.0.2.1 is TEST-NET-1 (RFC 5737), never a real host.
PROBE = """
import json, socket, sys
def attempt(action):
    try:
        action()
        return "ok"
    except OSError as exc:
        return str(exc)
def connect(host, port):
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"ping")
port = int(sys.argv[1])
print(json.dumps({
    "sitecustomize": getattr(sys.modules.get("sitecustomize"), "__file__", None),
    "loopback": attempt(lambda: connect("127.0.0.1", port)),
    "localhost": attempt(lambda: connect("localhost", port)),
    "address": attempt(lambda: socket.socket().connect(("192.0.2.1", 80))),
    "address_ex": attempt(lambda: socket.socket().connect_ex(("192.0.2.1", 80))),
    "mapped": attempt(lambda: socket.socket(socket.AF_INET6).connect(("::ffff:192.0.2.1", 80))),
    "dns": attempt(lambda: socket.getaddrinfo("example.com", 443)),
    "dns_connect": attempt(lambda: connect("example.com", 443)),
    "gethostbyname": attempt(lambda: socket.gethostbyname("example.com")),
}))
"""


def probe(env: dict[str, str]) -> dict[str, str | None]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(port)], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 0, done.stderr
    result: dict[str, str | None] = json.loads(done.stdout)
    return result


def test_a_subprocess_reaches_loopback_only() -> None:
    seen = probe(dict(os.environ))
    assert seen["sitecustomize"] is not None and seen["sitecustomize"].endswith("netblock/sitecustomize.py")
    assert seen["loopback"] == "ok"
    assert seen["localhost"] == "ok"
    for attempt in ("address", "address_ex", "mapped", "dns", "dns_connect", "gethostbyname"):
        assert REFUSAL in str(seen[attempt]), (attempt, seen[attempt])
    assert "192.0.2.1" in str(seen["address"])
    assert "example.com" in str(seen["dns"])


def test_the_block_comes_from_the_test_sessions_pythonpath() -> None:
    """Without the directory conftest puts on PYTHONPATH, nothing is loaded (no network is tried here)."""
    assert os.environ["PYTHONPATH"].split(os.pathsep)[0].endswith(os.path.join("tests", "netblock"))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(env["PYTHONPATH"].split(os.pathsep)[1:])
    code = "import sys; print(getattr(sys.modules.get('sitecustomize'), '__file__', None))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "netblock" not in done.stdout, done.stdout


def test_the_askdocs_cli_is_refused_a_dns_name(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOCS_")}
    env["ASKDOCS_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [ASKDOCS, "ingest", "https://example.com/handbook.html"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode != 0
    assert REFUSAL in done.stdout + done.stderr, done.stdout + done.stderr


def test_the_block_in_this_process() -> None:
    with pytest.raises(OSError, match=REFUSAL):
        socket.getaddrinfo("example.com", 443)
    with socket.socket() as sock, pytest.raises(OSError, match=REFUSAL):
        sock.connect(("192.0.2.1", 80))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        (b"localhost", True),
        ("10.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("192.0.2.1", False),
        ("example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_what_counts_as_loopback(host: str | bytes, expected: bool) -> None:
    assert is_loopback(host) is expected
