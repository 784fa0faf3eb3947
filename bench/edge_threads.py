"""Whether the embedded engine's searches run side by side: searches a second from 1, 2 and 4 threads, and how
fast a pure-Python thread counts beside them (against counting alone), on an existing embedded shard.

    .venv/bin/python -m bench.edge_threads --shard /tmp/idx52k/qdrant/askdocs [--limit 400] [--seconds 5]

Random unit query vectors, dense, with the anonymous caller's groups filter (no ACL), ``--limit`` results as a
hybrid search asks for (4 x the 100 candidates). A search that released the GIL would let threads add up on two
cores and leave the counting thread its speed.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

import numpy as np
import qdrant_edge as qe

from bench.query_embed import rate


def searches_per_s(shard: Any, vectors: np.ndarray, limit: int, threads: int, seconds: float) -> float:
    flt = qe.Filter(must=[qe.Filter(should=[qe.IsEmptyCondition("acl")])])

    def search(vector: np.ndarray) -> object:
        query = qe.Query.Nearest(vector.tolist(), using="dense")
        return shard.query(qe.QueryRequest(limit=limit, query=query, filter=flt, with_payload=False, with_vector=False))

    return rate(search, list(vectors), threads, seconds)


def counting_rate(seconds: float, beside: Any = None) -> float:
    """How far a pure-Python loop counts a second, alone or while ``beside`` runs in this thread."""
    stop, count = [False], [0]

    def spin() -> None:
        while not stop[0]:
            count[0] += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    started, before = time.monotonic(), count[0]
    if beside is None:
        time.sleep(seconds)
    else:
        while time.monotonic() - started < seconds:
            beside()
    rate = (count[0] - before) / (time.monotonic() - started)
    stop[0] = True
    spinner.join()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shard", required=True)
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    shard = qe.EdgeShard.load(args.shard)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((256, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    report: dict[str, Any] = {"shard": args.shard, "limit": args.limit}
    for threads in (1, 2, 4):
        report[f"searches_per_s_{threads}_threads"] = round(
            searches_per_s(shard, vectors, args.limit, threads, args.seconds), 1
        )
    alone = counting_rate(args.seconds)
    beside = counting_rate(args.seconds, lambda: searches_per_s(shard, vectors, args.limit, 1, 0.05))
    report["counting_beside_searches_share"] = round(beside / alone, 3)
    shard.close()
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
