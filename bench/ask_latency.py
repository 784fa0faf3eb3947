"""`/ask` latency over real HTTP: starts `askdocs serve` on a fresh index of examples/, sends N requests.

    .venv/bin/python -m bench.ask_latency [--requests 200] [--warmup 10]

Client-side wall time per request (httpx, one connection, sequential), and the server's own timings.
Questions cycle through tests/fixtures/handbook_questions.json plus off-topic ones.
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

from evals.metrics import percentile

ROOT = Path(__file__).resolve().parent.parent
ASKDOCS = str(Path(sys.executable).parent / "askdocs")
OFF_TOPIC = ["What year did the Roman empire fall?", "How many legs does a spider have?"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    questions = [q["question"] for q in json.loads((ROOT / "tests/fixtures/handbook_questions.json").read_text())]
    questions += OFF_TOPIC
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOCS_")} | {"ASKDOCS_DATA_DIR": data}
        started = time.perf_counter()
        subprocess.run([ASKDOCS, "ingest", str(ROOT / "examples")], env=env, check=True, capture_output=True)
        print(f"ingest of examples/ (process wall time, model load included): {time.perf_counter() - started:.1f} s")
        server = subprocess.Popen([ASKDOCS, "serve", "--port", str(args.port)], env=env, stderr=subprocess.DEVNULL)
        try:
            run(args, questions)
        finally:
            server.terminate()
            server.wait(timeout=30)


def run(args: argparse.Namespace, questions: list[str]) -> None:
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


if __name__ == "__main__":
    main()
