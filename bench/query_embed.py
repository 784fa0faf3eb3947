"""One question's embedding, each way askdocs can make it, in one run on the same questions and model instance.

    .venv/bin/python -m bench.query_embed [--dataset ../shared/eval/squad2-dev.json] [--questions 200]
                                          [--seconds 4] [--out docs/bench/query-embed.json]

Ways: sentence-transformers' ``model.encode([question])`` in fp32 (what askdocs did, and every peer does), the
torch path of askdocs/query_encoder.py, and its ONNX Runtime path with 1 and 2 threads per question (questions asked
together share a run, ``BatchedQueryEncoder``), and with 2 threads one run per question (before batching). For each: the
median and p95 of one question at a time over the set's first ``--questions`` questions (10 warm-up calls first),
the rate 16 threads reach together for ``--seconds``, and the lowest cosine to ``encode``'s vector.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from askdocs.embedding import SentenceTransformerEmbedder, _run
from evals.metrics import percentile
from evals.provenance import commit

ROOT = Path(__file__).resolve().parent.parent


def questions(dataset: Path, n: int) -> list[str]:
    data = json.loads(dataset.read_text(encoding="utf-8"))["data"]
    return [qa["question"] for article in data for p in article["paragraphs"] for qa in p["qas"]][:n]


def sequential(embed: Callable[[Any], object], texts: Sequence[Any]) -> list[float]:
    """Milliseconds of each call of ``embed`` over ``texts``, one at a time, after 10 warm-up calls."""
    for text in texts[:10]:
        embed(text)
    ms = []
    for text in texts:
        started = time.perf_counter()
        embed(text)
        ms.append((time.perf_counter() - started) * 1000)
    return ms


def rate(embed: Callable[[Any], object], texts: Sequence[Any], threads: int, seconds: float) -> float:
    """How many calls of ``embed`` a second ``threads`` threads make together, each going through ``texts``."""
    done = [0] * threads
    stop = time.monotonic() + seconds

    def work(t: int) -> None:
        i = t
        while time.monotonic() < stop:
            embed(texts[i % len(texts)])
            i += 1
            done[t] += 1

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "eval" / "squad2-dev.json")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    texts = questions(args.dataset, args.questions)
    base = SentenceTransformerEmbedder(precision="fp32")
    base.warm_up()
    report: dict[str, Any] = {"command": "python -m bench.query_embed", "commit": commit(), "rows": []}
    report["load_average_at_start"] = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="askdocs-query-") as cache:
        ways: dict[str, Callable[[str], np.ndarray]] = {"encode (fp32)": lambda t: _run(base.model, [t], "fp32", 1)[0]}
        for label, runtime, threads in (
            ("torch", "torch", 2),
            ("onnx, 2 threads", "onnx", 2),
            ("onnx, 1 thread", "onnx", 1),
        ):
            fast = SentenceTransformerEmbedder(query_runtime=runtime, query_threads=threads, cache_dir=Path(cache))
            fast._model, fast._name, fast._model_id = base.model, base.name, base.model_id  # one model in memory
            assert fast.query_encoder.runtime == runtime, f"{label}: fell back to {fast.query_encoder.runtime}"
            ways[label] = fast.embed_query
            if label == "onnx, 2 threads":
                ways["onnx, 2 threads, one run per question"] = fast.query_encoder.inner.encode  # type: ignore[attr-defined]
        reference = np.stack([ways["encode (fp32)"](t) for t in texts])
        for label, embed in ways.items():
            ms = sequential(embed, texts)
            lowest = float(np.min(np.sum(np.stack([embed(t) for t in texts]) * reference, axis=1)))
            row = {"way": label, "median_ms": round(float(np.median(ms)), 2), "p95_ms": round(percentile(ms, 95), 2)}
            row |= {"per_s_16_threads": round(rate(embed, texts, 16, args.seconds), 1), "min_cosine": round(lowest, 6)}
            report["rows"].append(row)
            print(row, flush=True)
    report["load_average_at_end"] = os.getloadavg()[0]
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
