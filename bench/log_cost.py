"""What the interaction log costs /ask: the same service, the same index, requests alternating between logging on
and off, so both see the same machine load. Extractive mode, the handbook's questions.

    python -m bench.log_cost --data-dir /tmp/askdocs-logcost --requests 400 --out docs/bench/log-cost.json

The data dir is filled with examples/handbook on first use. Client-side wall time per request, through the whole
HTTP stack (FastAPI's TestClient, in-process), and the pipeline's own total.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from fastapi.testclient import TestClient

from evals.handbook import load_questions
from evals.metrics import percentile
from evals.provenance import settings_in_force

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/askdocs-logcost"))
    parser.add_argument("--requests", type=int, default=400, help="in all, half with the log on")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ["ASKDOCS_DATA_DIR"] = str(args.data_dir)
    os.environ.pop("ASKDOCS_LLM__BASE_URL", None)
    os.environ["ASKDOCS_AUTH__RATE_LIMIT"] = "1000000/minute"  # the limit is not what is measured

    from app.container import build_container
    from app.main import create_app
    from askdocs.settings import load_settings
    from cli.main import app as cli

    settings = load_settings()
    if not (args.data_dir / "qdrant").exists():
        cli(["ingest", str(ROOT / "examples" / "handbook")], standalone_mode=False)
    questions = [q["question"] for q in load_questions()]
    container = build_container(settings)
    log = container.interactions
    wall: dict[str, list[float]] = {"on": [], "off": []}
    total: dict[str, list[float]] = {"on": [], "off": []}
    with TestClient(create_app(container)) as client:
        for q in questions[:5]:  # warm-up, not counted
            client.post("/ask", json={"question": q})
        for i in range(args.requests):
            state = "on" if (i // 2 + i) % 2 == 0 else "off"  # on/off alternate, each first half the time
            container.interactions = log if state == "on" else None
            started = time.perf_counter()
            response = client.post("/ask", json={"question": questions[i % len(questions)]})
            if response.status_code != 200:
                raise SystemExit(f"/ask answered {response.status_code}: {response.text}")
            body = response.json()
            wall[state].append((time.perf_counter() - started) * 1000)
            total[state].append(body["timings_ms"]["total"])
            assert (body["interaction_id"] is not None) == (state == "on")
        container.interactions = log
    if log is not None:
        log.flush(30)
    result = {
        "command": "python -m bench.log_cost "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "settings_in_force": settings_in_force(),
        "requests_per_state": {k: len(v) for k, v in wall.items()},
        "wall_ms": {k: {"p50": percentile(v, 50), "p95": percentile(v, 95)} for k, v in wall.items()},
        "pipeline_total_ms": {k: {"p50": percentile(v, 50), "p95": percentile(v, 95)} for k, v in total.items()},
        "log_failures": log.failures if log is not None else None,
    }
    container.close()
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
