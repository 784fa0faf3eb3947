"""Throughput of askdocs deployed as docker/cluster.compose.yml deploys it, on this machine: ingest with 1 and 2
workers, `/ask` with 1 and 2 API replicas behind docker/Caddyfile, against one real Qdrant node (the pinned v1.16.3
binary of tests/qdrant.py) and a real PostgreSQL 16 (pgserver), every process on 127.0.0.1.

    .venv/bin/python -m bench.throughput [--pages 60] [--clients 16] [--seconds 60] [--workers 1,2]
                                         [--replicas 1,2] [--out docs/bench/throughput.json]

Corpus: every k-th page of Debian's python3.11-doc HTML manual (fetched once into ~/.cache/askdocs-bench, as
bench/ingest.py does). Ingest: the workers start and load their model, then the pages go in one POST /ingest (one
job per page, queued in PostgreSQL), into a fresh collection; the figure runs from the first job queued to the
last one done (the jobs' own timestamps). /ask: the collection the last ingest filled, N replicas behind Caddy,
`--clients` concurrent clients for `--seconds` (bench/load.py's loop and questions, extractive answers, no keys).
The load average is recorded at the start and end of every phase: other work on the machine shows there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from askdocs.index.server import ServerIndex
from askdocs.settings import load_settings
from bench import deployment as dep
from bench.ingest import HTML_FOLDER, HTML_PACKAGE, fetch
from bench.load import Client, _report, _run
from bench.qdrant_ops import load_average
from evals.provenance import commit
from tests.qdrant import VERSION, QdrantNode, free_ports, qdrant_binary, start_node

DIMENSION = 384  # all-MiniLM-L6-v2, the default model


def main() -> None:
    args = parser().parse_args()
    pages = corpus(args)
    report: dict[str, Any] = {
        "command": "python -m bench.throughput " + " ".join(sys.argv[1:]),
        "qdrant": VERSION,
        "commit": commit(),
        "cores": len(os.sched_getaffinity(0)),
        "pages": len(pages),
        "ingest": [],
        "ask": [],
    }
    with tempfile.TemporaryDirectory(prefix="askdocs-throughput-") as tmp, dep.postgres() as database:
        node = start_node(qdrant_binary(), Path(tmp) / "qdrant")
        try:
            for n in args.workers:
                report["ingest"].append(ingest(n, pages, node, database, Path(tmp)))
                print(json.dumps(report["ingest"][-1]), flush=True)
            collection = f"bench_w{args.workers[-1]}"
            for n in args.replicas:
                report["ask"].append(ask(n, collection, node, database, Path(tmp), args))
                print(json.dumps(report["ask"][-1]), flush=True)
        finally:
            node.stop()
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pages", type=int, default=60, help="HTML pages to ingest (evenly spread over the manual)")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--workers", type=_counts, default=[1, 2], help="ingest runs, e.g. 1,2 (one fresh collection each)")
    p.add_argument("--replicas", type=_counts, default=[1, 2], help="/ask runs, e.g. 1,2")
    p.add_argument("--corpus-dir", type=Path, default=Path.home() / ".cache" / "askdocs-bench")
    p.add_argument("--out", type=Path)
    return p


def _counts(value: str) -> list[int]:
    counts = [int(v) for v in value.split(",") if v.strip()]
    if not counts or not all(1 <= c <= 4 for c in counts):
        raise argparse.ArgumentTypeError("counts between 1 and 4, separated by commas, e.g. 1,2")
    return counts


def corpus(args: argparse.Namespace) -> list[Path]:
    files = sorted((fetch(HTML_PACKAGE, args.corpus_dir) / HTML_FOLDER).rglob("*.html"))
    step = max(1, len(files) // args.pages)
    return files[::step][: args.pages]


def ingest(workers: int, pages: list[Path], node: QdrantNode, database: str, tmp: Path) -> dict[str, Any]:
    """``workers`` workers (model loaded) run the jobs of one POST /ingest of ``pages`` into a fresh collection."""
    collection, folder = f"bench_w{workers}", tmp / f"ingest-{workers}"
    folder.mkdir()
    env = dep.askdocs_env(node.url, collection, database, folder)
    ServerIndex.connect(node.url, None, collection, 60).ensure_collection(DIMENSION)  # made once, not raced for
    port = free_ports(1)[0]
    api = dep.serve(port, env, folder / "api.log")
    procs = [dep.worker(f"bench-{i}", env, folder / f"worker-{i}.log") for i in range(workers)]
    try:
        base = f"http://127.0.0.1:{port}"
        dep.wait_ready(base, api, folder / "api.log")
        for i, proc in enumerate(procs):
            dep.wait_for_line(folder / f"worker-{i}.log", f"worker bench-{i}:", proc)
        load_start, cpu_start = load_average(), [dep.cpu_seconds(p.pid) for p in procs]
        jobs = queue_and_wait(base, pages)
        cpu = sum(dep.cpu_seconds(p.pid) for p in procs) - sum(cpu_start)
    finally:
        for proc in [*procs, api]:
            dep.stop(proc)
    seconds = max(j["finished_at"] for j in jobs) - min(j["created_at"] for j in jobs)
    chunks = sum(r["chunks"] for j in jobs for r in j["results"])
    failed = [j["target"] for j in jobs if j["status"] != "done" or any(r["status"] == "failed" for r in j["results"])]
    return {
        "workers": workers,
        "documents": len(jobs),
        "chunks": chunks,
        "failed": failed,
        "seconds": round(seconds, 1),
        "documents_per_s": round(len(jobs) / seconds, 3),
        "chunks_per_s": round(chunks / seconds, 2),
        "worker_cpu_s_per_chunk": round(cpu / max(chunks, 1), 4),
        "jobs_per_worker": _per_worker(folder, workers),
        "load_average_start": load_start,
        "load_average_end": load_average(),
    }


def queue_and_wait(base: str, pages: list[Path], timeout_s: float = 3600) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {dep.ADMIN_TOKEN}"}
    files = [("files", (page.name, page.read_bytes(), "text/html")) for page in pages]
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        response = http.post("/ingest", files=files)
        response.raise_for_status()
        ids = [job["job_id"] for job in response.json()["jobs"]]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            jobs = [http.get(f"/ingest/{job_id}").json() for job_id in ids]
            if all(job["status"] in ("done", "failed") for job in jobs):
                return jobs
            time.sleep(1)
    raise SystemExit(f"ingest jobs not done after {timeout_s:g} s")


def _per_worker(folder: Path, workers: int) -> list[int]:
    """Jobs each worker ran, from the lines `askdocs worker` prints per job."""
    line = re.compile(r"^(done|failed) upload ", re.MULTILINE)
    return [len(line.findall((folder / f"worker-{i}.log").read_text(errors="replace"))) for i in range(workers)]


def ask(replicas: int, collection: str, node: QdrantNode, database: str, tmp: Path, args: Any) -> dict[str, Any]:
    """``replicas`` API replicas behind Caddy; ``--clients`` clients asking for ``--seconds``."""
    folder = tmp / f"ask-{replicas}"
    folder.mkdir()
    env = dep.askdocs_env(node.url, collection, database, folder)
    ports = free_ports(replicas + 1)
    procs = [dep.serve(port, env, folder / f"api-{i}.log") for i, port in enumerate(ports[:-1])]
    proxy = dep.caddy([f"127.0.0.1:{p}" for p in ports[:-1]], node.url, ports[-1], folder)
    try:
        for i, (proc, port) in enumerate(zip(procs, ports, strict=False)):
            dep.wait_ready(f"http://127.0.0.1:{port}", proc, folder / f"api-{i}.log")
        base = f"http://127.0.0.1:{ports[-1]}"
        dep.wait_ready(base, proxy, folder / "caddy.log")
        load_start = load_average()
        pids = {"api": [p.pid for p in procs], "qdrant": [_pid(node)], "caddy": [proxy.pid]}
        cpu_start = {k: sum(dep.cpu_seconds(p) for p in v) for k, v in pids.items()}
        tally, wall, run_args = load(base, args)
        cpu = {k: round(sum(dep.cpu_seconds(p) for p in v) - cpu_start[k], 1) for k, v in pids.items()}
    finally:
        for proc in [proxy, *procs]:
            dep.stop(proc)
    keep = ("clients", "seconds", "answered", "throughput_rps", "p50_s", "p95_s", "p99_s", "errors")
    figures = {k: v for k, v in _report(tally, wall, run_args).items() if k in keep}
    answered = max(figures["answered"], 1)
    return (
        {"replicas": replicas, "collection": collection, "points": _count(node, collection)}
        | figures
        | {
            "mode": "extractive answers; no keys, no rate limit to speak of; the interaction log on (in PostgreSQL)",
            "cpu_s": cpu,
            "cpu_s_per_answer": {k: round(v / answered, 3) for k, v in cpu.items()},
            "load_average_start": load_start,
            "load_average_end": load_average(),
        }
    )


def load(base: str, args: Any) -> tuple[Any, float, argparse.Namespace]:
    """bench/load.py's clients: anonymous, extractive answers, its public questions (Python's manual)."""
    run_args = argparse.Namespace(
        seconds=args.seconds, max_requests=100_000, secure=False, restricted_prefix="/nowhere", clients=args.clients
    )
    clients = [Client(i, False, None) for i in range(args.clients)]
    asyncio.run(_run(base, clients[:1], argparse.Namespace(**vars(run_args) | {"seconds": 5})))  # warm-up
    tally, wall = asyncio.run(_run(base, clients, run_args))
    return tally, wall, run_args


def _pid(node: QdrantNode) -> int:
    assert node.process is not None
    return node.process.pid


def _count(node: QdrantNode, collection: str) -> int:
    return ServerIndex.connect(node.url, None, collection, 60).count()


if __name__ == "__main__":
    load_settings()  # a broken .env fails here, before anything starts
    main()
