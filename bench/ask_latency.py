"""`/ask` latency over real HTTP: starts `askdocs serve` on a fresh index of examples/, sends N requests.

    .venv/bin/python -m bench.ask_latency [--requests 200] [--warmup 10] [--out docs/bench/ask-latency.json]

Client-side wall time per request (httpx, one connection, sequential), and the server's own timings.
Questions cycle through evals/handbook_questions.json plus off-topic ones. The ``ASKDOCS_*`` variables
set when it starts (except the data directory, a fresh temporary one) reach both the ingest and the server, and
the JSON written to --out records them with the settings they resolve to and the commit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from askdocs.settings import load_settings
from evals.handbook import load_questions
from evals.metrics import percentile
from evals.provenance import settings_in_force

ROOT = Path(__file__).resolve().parent.parent
ASKDOCS = str(Path(sys.executable).parent / "askdocs")
OFF_TOPIC = ["What year did the Roman empire fall?", "How many legs does a spider have?"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", type=Path, help="write the figures and the settings in force here (JSON)")
    args = parser.parse_args()
    questions = [q["question"] for q in load_questions()]
    questions += OFF_TOPIC
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as data:
        env = os.environ | {"ASKDOCS_DATA_DIR": data}
        record = settings_in_force(load_settings(data_dir=Path(data)), env)
        started = time.perf_counter()
        subprocess.run([ASKDOCS, "ingest", str(ROOT / "examples")], env=env, check=True, capture_output=True)
        ingest_s = time.perf_counter() - started
        print(f"ingest of examples/ (process wall time, model load included): {ingest_s:.1f} s")
        server = subprocess.Popen([ASKDOCS, "serve", "--port", str(args.port)], env=env, stderr=subprocess.DEVNULL)
        try:
            figures = run(args, questions)
        finally:
            server.terminate()
            server.wait(timeout=30)
    if args.out:
        command = "python -m bench.ask_latency " + " ".join(sys.argv[1:])
        report = {"command": command, "settings_in_force": record, "load_average_at_start": load, **figures}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report | {"ingest_process_s": round(ingest_s, 1)}, indent=1) + "\n")


def run(args: argparse.Namespace, questions: list[str]) -> dict[str, object]:
    url = f"http://127.0.0.1:{args.port}"
    with httpx.Client(base_url=url, timeout=30) as client:
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.get("/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("service did not become ready")
            time.sleep(0.2)
        for i in range(args.warmup):
            client.post("/ask", json={"question": questions[i % len(questions)]})
        wall: list[float] = []
        server: dict[str, list[float]] = {"embed": [], "search": [], "generate": [], "total": []}
        for i in range(args.requests):
            t = time.perf_counter()
            body = client.post("/ask", json={"question": questions[i % len(questions)]}).json()
            wall.append((time.perf_counter() - t) * 1000)
            for key in server:
                server[key].append(body["timings_ms"][key])
    print(f"{args.requests} sequential POST /ask, extractive mode, {len(questions)} distinct questions")
    print(
        f"client wall ms   p50 {percentile(wall, 50):7.1f}   p95 {percentile(wall, 95):7.1f}   "
        f"mean {statistics.mean(wall):7.1f}"
    )
    for key, values in server.items():
        print(f"server {key:9s} p50 {percentile(values, 50):7.1f}   p95 {percentile(values, 95):7.1f}")
    series = {"client wall": wall} | {f"server {key}": values for key, values in server.items()}
    return {
        "requests": args.requests,
        "questions": len(questions),
        "ms": {
            name: {"p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1)} for name, v in series.items()
        },
    }


if __name__ == "__main__":
    main()
