"""docker/cluster.compose.yml, its proxy (docker/Caddyfile) and .env.example, checked against the real tools: the
Qdrant v1.16.3 binary for the peers' flags and health checks, Caddy running the very Caddyfile on loopback in front
of stand-in replicas and the real Qdrant server, Compose for what the files resolve to.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from tests.deploy import (
    CADDYFILE,
    CLUSTER,
    COMPOSE,
    ENV_EXAMPLE,
    ROOT,
    askdocs_services,
    caddy,
    caddy_defaults,
    compose_variables,
    environment,
    example_variables,
    healthcheck_argv,
    raw,
    resolved,
    route_paths,
    unknown_settings,
    volume_pairs,
)
from tests.qdrant import QdrantNode, free_ports
from tests.servers import serve
from tests.waiting import until


def qdrant_peers() -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in raw(CLUSTER)["services"].items() if "qdrant/" in str(spec.get("image"))}


def addresses(value: str) -> set[str]:
    return set(value.split())


# --- the Qdrant peers ----------------------------------------------------------------------------------------


def test_three_peers_first_names_itself_the_others_bootstrap_from_it_none_published() -> None:
    peers = qdrant_peers()
    assert len(peers) == 3, sorted(peers)
    first = next(iter(peers))
    for name, spec in peers.items():
        env = environment(spec)
        assert env["QDRANT__CLUSTER__ENABLED"] == "true", name
        p2p = env["QDRANT__CLUSTER__P2P__PORT"]
        assert "ports" not in spec, f"{name} publishes a port; the p2p port accepts writes from any peer"
        assert p2p in [str(port) for port in spec["expose"]], name
        argv = [str(word) for word in spec["command"]]
        assert argv[0] == "./qdrant" and argv[argv.index("--uri") + 1] == f"http://{name}:{p2p}", argv
        if name == first:
            assert "--bootstrap" not in argv
        else:
            assert argv[argv.index("--bootstrap") + 1] == f"http://{first}:{p2p}", argv
            (earlier,) = spec["depends_on"]
            assert spec["depends_on"][earlier]["condition"] == "service_healthy" and earlier in peers
        assert [target for _, target in volume_pairs(spec)] == ["/qdrant/storage", "/qdrant/snapshots"]
    sources = [source for spec in peers.values() for source, _ in volume_pairs(spec)]
    assert len(set(sources)) == 6 and set(sources) <= set(raw(CLUSTER)["volumes"]), sources


def test_the_peers_flags_are_the_real_binarys(qdrant_executable: Path) -> None:
    done = subprocess.run([str(qdrant_executable), "--help"], capture_output=True, text=True, timeout=30)
    flags = set(re.findall(r"--[a-z-]+", done.stdout))
    used = {word for spec in qdrant_peers().values() for word in spec["command"] if str(word).startswith("--")}
    assert used == {"--uri", "--bootstrap"} and used <= flags, (used, sorted(flags))


def qdrant_healthchecks() -> list[list[str]]:
    found = []
    for path in (COMPOSE, CLUSTER):
        for spec in raw(path)["services"].values():
            if "qdrant/" in str(spec.get("image")) and healthcheck_argv(spec) not in found:
                found.append(healthcheck_argv(spec))
    return found


@pytest.mark.parametrize("argv", qdrant_healthchecks(), ids=lambda a: a[-1][:40])
def test_the_qdrant_healthcheck_passes_on_a_ready_node_and_fails_on_a_closed_port(
    argv: list[str], qdrant_server: QdrantNode
) -> None:
    """The command as written, with the node's port for 6333: bash's /dev/tcp and the status line of /readyz."""
    assert argv[:2] == ["bash", "-c"] and "/readyz" in argv[2], argv

    def check(port: int) -> int:
        command = argv[2].replace("/6333", f"/{port}")
        return subprocess.run(["bash", "-c", command], capture_output=True, timeout=10).returncode

    assert check(qdrant_server.http_port) == 0
    assert check(free_ports(1)[0]) != 0


# --- the proxy -------------------------------------------------------------------------------------------------------


def test_only_the_proxy_is_published_and_the_replicas_sit_behind_it() -> None:
    services = raw(CLUSTER)["services"]
    published = {name: spec["ports"] for name, spec in services.items() if "ports" in spec}
    assert published == {"proxy": ["8000:80"]}, published
    proxy = services["proxy"]
    assert re.fullmatch(r"caddy:\d+\.\d+\.\d+", proxy["image"]), proxy["image"]
    mounts = {target: source for source, target in volume_pairs(proxy)}
    assert (CLUSTER.parent / mounts["/etc/caddy/Caddyfile"]).resolve() == CADDYFILE
    apis = {name for name, spec in askdocs_services(raw(CLUSTER)).items() if "command" not in spec}
    assert len(apis) >= 2, apis
    for name in apis:
        assert "/ready" in " ".join(healthcheck_argv(services[name]))


def test_the_proxy_upstreams_are_the_replicas_and_the_peers_as_compose_names_them() -> None:
    """The proxy's environment and the Caddyfile's defaults name the same services, on the ports they serve."""
    services = raw(CLUSTER)["services"]
    apis = {f"{name}:8000" for name, spec in askdocs_services(raw(CLUSTER)).items() if "command" not in spec}
    peers = {f"{name}:6333" for name in qdrant_peers()}
    env, defaults = environment(services["proxy"]), caddy_defaults()
    assert addresses(env["API_UPSTREAMS"]) == addresses(defaults["API_UPSTREAMS"]) == apis
    assert addresses(env["QDRANT_UPSTREAMS"]) == addresses(defaults["QDRANT_UPSTREAMS"]) == peers
    assert defaults["PROXY_API_PORT"] == "80" and defaults["PROXY_QDRANT_PORT"] in services["proxy"]["expose"]
    for name, spec in askdocs_services(resolved(CLUSTER)).items():
        url = urlsplit(environment(spec)["ASKDOCS_QDRANT__URL"])
        assert (url.hostname, str(url.port)) == ("proxy", defaults["PROXY_QDRANT_PORT"]), name


def test_the_caddyfile_is_valid_and_checks_real_readiness_routes() -> None:
    done = subprocess.run(
        [caddy(), "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    checks = re.findall(r'"active":\{[^}]*"uri":"([^"]+)"', done.stdout)
    assert sorted(checks) == ["/ready", "/readyz"], checks
    assert "/ready" in route_paths()


@contextmanager
def running_caddy(env: dict[str, str], home: Path) -> Iterator[subprocess.Popen[bytes]]:
    """docker/Caddyfile under the real Caddy on 127.0.0.1; its config and data folders under ``home``."""
    xdg = {"XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"), "HOME": str(home)}
    argv = [caddy(), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]
    with (home / "caddy.log").open("wb") as log:
        process = subprocess.Popen(argv, env=os.environ | xdg | env, stdout=log, stderr=log)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=15)


def replica(name: str, ready: bool, seen: Counter[str]) -> FastAPI:
    """A stand-in API replica: /ready as given, /ask answered with its name; every call counted."""
    api = FastAPI()

    @api.get("/ready")
    def _ready() -> JSONResponse:
        seen[f"{name} /ready"] += 1
        return JSONResponse({"status": "ready" if ready else "not ready"}, status_code=200 if ready else 503)

    @api.post("/ask")
    def _ask() -> dict[str, str]:
        seen[f"{name} /ask"] += 1
        return {"answer": name}

    return api


def test_the_proxy_sends_nothing_to_an_unready_replica_and_reaches_qdrant_past_a_dead_peer(
    qdrant_server: QdrantNode, tmp_path: Path
) -> None:
    seen: Counter[str] = Counter()
    api_port, qdrant_port, dead = free_ports(3)
    with serve(replica("ready", True, seen)) as good, serve(replica("unready", False, seen)) as bad:
        env = {
            "PROXY_BIND": "127.0.0.1",
            "PROXY_API_PORT": str(api_port),
            "PROXY_QDRANT_PORT": str(qdrant_port),
            "API_UPSTREAMS": f"{urlsplit(bad).netloc} {urlsplit(good).netloc}",
            "QDRANT_UPSTREAMS": f"127.0.0.1:{dead} 127.0.0.1:{qdrant_server.http_port}",
        }
        with running_caddy(env, tmp_path) as process:
            until(lambda: seen["unready /ready"] and seen["ready /ready"], "Caddy health-checked both replicas")
            answers = [httpx.post(f"http://127.0.0.1:{api_port}/ask", json={}, timeout=10) for _ in range(20)]
            collections = httpx.get(f"http://127.0.0.1:{qdrant_port}/collections", timeout=10)
            assert process.poll() is None, (tmp_path / "caddy.log").read_text()
    assert [a.json() for a in answers] == [{"answer": "ready"}] * 20
    assert seen["unready /ask"] == 0 and seen["ready /ask"] == 20
    assert collections.status_code == 200 and "collections" in collections.json()["result"]


# --- .env.example ----------------------------------------------------------------------------------------------------


def test_env_example_lists_exactly_the_variables_the_compose_files_read() -> None:
    read = compose_variables(COMPOSE) | compose_variables(CLUSTER)
    listed = example_variables()
    assert set(listed) == read, f"unlisted: {sorted(read - set(listed))}, not read: {sorted(set(listed) - read)}"
    assert [name for name, given in listed.items() if given] == ["POSTGRES_PASSWORD"], "only the required one is set"
    assert not unknown_settings({name for name in listed if name.startswith("ASKDOCS_")})


def test_every_variable_of_env_example_is_explained() -> None:
    """Each variable (or run of variables) follows a comment that is not a section heading."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    variable = re.compile(r"(# )?[A-Z][A-Z0-9_]*=.*")
    for i, line in enumerate(lines):
        if not variable.fullmatch(line):
            continue
        above = i - 1
        while above >= 0 and variable.fullmatch(lines[above]):
            above -= 1
        assert above >= 0 and lines[above].startswith("# ") and "---" not in lines[above], f"unexplained: {line}"


def test_env_example_is_not_ignored_and_env_is() -> None:
    done = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, capture_output=True, timeout=30, check=False)
    kept = subprocess.run(
        ["git", "check-ignore", "-q", ENV_EXAMPLE.name], cwd=ROOT, capture_output=True, timeout=30, check=False
    )
    assert done.returncode == 0 and kept.returncode == 1
