"""Load on `/ask` (extractive) over real HTTP: N concurrent clients for T seconds, with a leak check.

    .venv/bin/python -m bench.load --data-dir /tmp/loadidx --restricted-prefix /tmp/loaddocs/corp/pghr \\
        --clients 16 --seconds 120 [--secure] [--out result.json]

Starts `askdocs serve` on 127.0.0.1 (it never talks to another host) over an existing data dir, and stops it at
the end. `--secure`: an API key per client (created in the data dir's state store, revoked at the end), half of
them in `hr` (the group of the restricted source), the rate limit per key, the interaction log and /metrics
scraped every 5 s; every 10th request of a non-member also sends `"groups": ["hr"]`, which must be refused (403).
Without it: no keys (every client an anonymous non-member: anonymous callers cannot claim groups), the limit at
1,000,000/minute (never reached), no interaction log, no scrape. The JSON access log and request ids are always
on (the service has no switch for them).

Reports throughput, p50/p95/p99, every error, and leaks: a source under --restricted-prefix in a non-member's
answer. Bounded: at most --max-requests requests and --seconds seconds (plus the requests in flight).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from askdocs.settings import load_settings
from askdocs.store.keys import KeyStore
from askdocs.store.store import open_store
from evals.metrics import percentile
from evals.provenance import settings_in_force

ASKDOCS = str(Path(sys.executable).parent / "askdocs")
PUBLIC = [
    "How do I read a file line by line in Python?",
    "What does the with statement do?",
    "How are exceptions raised and caught?",
    "What is a generator function?",
    "How do I sort a list of dictionaries by a key?",
    "What does the asyncio event loop do?",
    "How do I parse command line arguments with argparse?",
    "What is the difference between a list and a tuple?",
    "How does the logging module configure handlers?",
    "What is a virtual environment and how is it created?",
    "How do f-strings format numbers?",
    "What does the global interpreter lock protect?",
]
RESTRICTED = [
    "How do I create an index on a table column?",
    "What does the SELECT statement's GROUP BY clause do?",
    "How do I grant privileges on a table to a role?",
    "What does VACUUM do?",
    "How do I alter a table to add a column?",
    "What are the date and time functions?",
    "How does CREATE TRIGGER work?",
    "What is the numeric data type's precision?",
]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    leaks: list[dict[str, Any]] = field(default_factory=list)
    refused_probes: int = 0
    probe_failures: list[str] = field(default_factory=list)
    member_restricted_hits: int = 0
    requests: int = 0
    timings_ms: dict[str, list[float]] = field(default_factory=dict)  # the server's own, per step


@dataclass(frozen=True)
class Client:
    n: int
    member: bool
    key: str | None


def main() -> None:
    args = _parser().parse_args()
    if args.clients > 64 or args.seconds > 900 or args.max_requests > 100_000:
        sys.exit("bounded: at most 64 clients, 900 seconds, 100000 requests")
    with open_store(load_settings(data_dir=Path(args.data_dir))) as opened:
        tally, wall, load_at_start, env = _run_against_a_service(args, KeyStore(opened.engine))
    report = _report(tally, wall, args) | {
        "command": "python -m bench.load " + " ".join(sys.argv[1:]),
        "load_average_at_start": load_at_start,
        "settings_in_force": settings_in_force(load_settings(data_dir=Path(args.data_dir)), env),
    }
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    if report["errors"] or report["leaks"] or report["groups_probe_failures"]:
        sys.exit(1)


def _run_against_a_service(args: argparse.Namespace, store: KeyStore) -> tuple[Any, float, float, dict[str, str]]:
    """``askdocs serve`` in a subprocess, the clients' keys made (and revoked after), the load run against it."""
    clients, created = _clients(store, args.clients, args.secure)
    env = service_env(args.data_dir, args.secure, args.rate) | _settings(args.set)
    load_at_start = os.getloadavg()[0]
    server = subprocess.Popen(
        [ASKDOCS, "serve", "--host", "127.0.0.1", "--port", str(args.port)],
        env=env,
        stdout=(log := open(args.server_log, "w")),  # noqa: SIM115 - closed with the process
        stderr=log,
    )
    try:
        base = f"http://127.0.0.1:{args.port}"
        wait_ready(base, clients[0].key, server)
        tally, wall = asyncio.run(_run(base, clients, args))
    finally:
        server.terminate()
        server.wait(timeout=60)
        for name in created:
            store.revoke(name)
    return tally, wall, load_at_start, env


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--restricted-prefix", required=True, help="where the restricted source's files live")
    parser.add_argument("--questions", type=Path, help="ask a SQuAD-format JSON's first 200 questions instead")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--secure", action="store_true", help="keys, rate limits, JSON logs and metrics on")
    parser.add_argument("--rate", default="600/minute", help="the per-key limit with --secure")
    parser.add_argument("--server-log", default="/tmp/askdocs-load-server.log")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="ASKDOCS_NAME=VALUE",
        help="a setting of the service under load (repeatable); the shell's ASKDOCS_* are not passed on",
    )
    parser.add_argument("--out")
    return parser


def _clients(store: KeyStore, n: int, secure: bool) -> tuple[list[Client], list[str]]:
    clients, created = [], []
    run = int(time.time())
    for i in range(n):
        member = secure and i % 2 == 1  # without keys nobody can be a member: anonymous callers claim no groups
        key = None
        if secure:
            made, key = store.create(f"load-{run}-{i}", "ask", ("hr",) if member else ())
            created.append(made.name)
        clients.append(Client(i, member, key))
    if not secure and store.any_active():
        sys.exit("the data dir's key store has active keys: the open run needs none (askdocs keys revoke)")
    return clients, created


def service_env(data_dir: str, secure: bool = False, rate: str = "") -> dict[str, str]:
    """The environment of the service under load: no ASKDOCS_* of this shell; keys, limit, log as ``secure`` says."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOCS_")}
    env |= {
        "ASKDOCS_DATA_DIR": data_dir,
        "ASKDOCS_WORKER__IN_SERVICE": "false",
        "ASKDOCS_AUTH__RATE_LIMIT": rate if secure else "1000000/minute",
        "ASKDOCS_LOG__ENABLED": "true" if secure else "false",
        "ASKDOCS_AUTH__REQUIRED": "true" if secure else "false",
    }
    if secure:
        env["ASKDOCS_AUTH__METRICS_TOKEN"] = "load-metrics"
    return env


def _settings(pairs: list[str]) -> dict[str, str]:
    settings = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    if len(settings) != len(pairs) or not all(name.startswith("ASKDOCS_") for name in settings):
        sys.exit(f"--set takes ASKDOCS_NAME=VALUE, got {pairs}")
    return settings


def wait_ready(base: str, key: str | None, server: subprocess.Popen[bytes]) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"askdocs serve exited with {server.returncode}; see its log")
        try:
            if httpx.get(f"{base}/ready", headers=headers, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    sys.exit("askdocs serve was not ready within 300 s")


def _questions(squad: Path | None) -> list[str]:
    if squad is None:
        return PUBLIC + RESTRICTED
    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    return [qa["question"] for article in data for p in article["paragraphs"] for qa in p["qas"]][:200]


async def _run(base: str, clients: list[Client], args: argparse.Namespace) -> tuple[Tally, float]:
    return await run_clients(
        base, clients, _questions(args.questions), args.seconds, args.max_requests, args.restricted_prefix, args.secure
    )


async def run_clients(
    base: str,
    clients: list[Client],
    questions: list[str],
    seconds: float,
    max_requests: int,
    restricted_prefix: str,
    scrape: bool = False,
) -> tuple[Tally, float]:
    """``clients`` asking ``questions`` in turn (extractive) for ``seconds``; every answer's sources checked for
    ``restricted_prefix`` (a leak when a non-member sees one)."""
    tally = Tally()
    limits = httpx.Limits(max_connections=len(clients) + 2)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        started = time.perf_counter()
        deadline = time.monotonic() + seconds
        tasks = [_client(http, c, tally, deadline, questions, max_requests, restricted_prefix) for c in clients]
        if scrape:
            tasks.append(_scrape(http, deadline))
        await asyncio.gather(*tasks)
        return tally, time.perf_counter() - started


async def _client(
    http: httpx.AsyncClient,
    client: Client,
    tally: Tally,
    deadline: float,
    questions: list[str],
    max_requests: int,
    restricted_prefix: str,
) -> None:
    headers = {"Authorization": f"Bearer {client.key}"} if client.key else {}
    i = client.n
    while time.monotonic() < deadline and tally.requests < max_requests:
        i += 1
        tally.requests += 1
        question = questions[i % len(questions)]
        body: dict[str, Any] = {"question": question, "mode": "extractive"}
        probe = not client.member and client.key is not None and i % 10 == 0
        if probe:
            body["groups"] = ["hr"]
        mark = time.perf_counter()
        try:
            response = await http.post("/ask", json=body, headers=headers)
        except httpx.HTTPError as exc:
            tally.errors[f"{type(exc).__name__}: {exc}"] += 1
            continue
        seconds = time.perf_counter() - mark
        if probe:
            _check_probe(response, tally)
            continue
        if response.status_code != 200:
            tally.errors[f"HTTP {response.status_code}: {response.text[:200]}"] += 1
            continue
        tally.latencies.append(seconds)
        answer = response.json()
        for step, ms in answer.get("timings_ms", {}).items():
            tally.timings_ms.setdefault(step, []).append(ms)
        _check_sources(answer, client, tally, restricted_prefix)


def _check_probe(response: httpx.Response, tally: Tally) -> None:
    if response.status_code == 403:
        tally.refused_probes += 1
    else:
        tally.probe_failures.append(f"groups from an ask key answered {response.status_code}")


def _check_sources(body: dict[str, Any], client: Client, tally: Tally, prefix: str) -> None:
    restricted = [s["url_or_path"] for s in body["sources"] if s["url_or_path"].startswith(prefix)]
    if client.member:
        tally.member_restricted_hits += bool(restricted)
    elif restricted:
        tally.leaks.append({"client": client.n, "sources": restricted})


async def _scrape(http: httpx.AsyncClient, deadline: float) -> None:
    while time.monotonic() < deadline:
        await asyncio.sleep(5)
        await http.get("/metrics", headers={"Authorization": "Bearer load-metrics"})


def _report(tally: Tally, wall: float, args: argparse.Namespace) -> dict[str, Any]:
    lat = sorted(tally.latencies)
    return {
        "mode": "keys, rate limit, interaction log, metrics"
        if args.secure
        else "no keys/limit/interaction log/metrics",
        "clients": args.clients,
        "seconds": round(wall, 1),
        "answered": len(lat),
        "throughput_rps": round(len(lat) / wall, 2),
        "p50_s": round(percentile(lat, 50), 3) if lat else None,
        "p95_s": round(percentile(lat, 95), 3) if lat else None,
        "p99_s": round(percentile(lat, 99), 3) if lat else None,
        "errors": dict(tally.errors),
        "leaks": tally.leaks,
        "groups_probes_refused": tally.refused_probes,
        "groups_probe_failures": tally.probe_failures,
        "member_answers_with_restricted_sources": tally.member_restricted_hits,
        "server_timings_ms": server_timings(tally),
    }


def server_timings(tally: Tally) -> dict[str, dict[str, float]]:
    """p50 and p95 of each step the service timed (embed, search, generate, total)."""
    return {
        step: {"p50": round(percentile(ms, 50), 2), "p95": round(percentile(ms, 95), 2)}
        for step, ms in tally.timings_ms.items()
        if ms
    }


if __name__ == "__main__":
    main()
