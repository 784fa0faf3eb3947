"""The speed of askdocs against the floor every peer stands on, in one run on the same texts: `make bench`.

    .venv/bin/python -m bench.speed [--dataset ../shared/eval/squad2-dev.json] [--clients 1,4,16,64]
                                    [--seconds 20] [--queries 200] [--out docs/bench/speed.json]

The corpus is a SQuAD-format set's articles, each written as a Markdown file (title and paragraphs) into a
temporary folder; a few of them again under `restricted/` with the ACL group `hr`, so that every answer can be
checked for a leak (nobody in the load run is a member).
1. Ingest: the project's pipeline over those files into a fresh embedded index (bench/ingest.py's `measure`: files
   read, parsed, chunked, embedded and stored, timed after the model is loaded), then bare fp32
   `model.encode` on exactly the texts the pipeline embedded (what LangChain, LlamaIndex, PrivateGPT and Onyx all
   do): ratio = bare seconds / pipeline seconds, and the same with CPU seconds. Peak RSS of each phase.
2. One question: the medians of `embed_query` (askdocs) and of bare fp32 `model.encode([question])` over the
   set's first `--queries` questions; then bare single-question encode with 1 and 16 threads for `--seconds`
   each: the rate /ask is compared with.
3. `/ask` (extractive, no keys, no interaction log) over real HTTP against `askdocs serve` on the index just
   built, at each `--clients`: req/s, p50/p95/p99, errors and leaks (bench/load.py's client loop).
The table (Markdown) goes to stdout with the CPU's name and the flags that matter; everything to `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ("amx_bf16", "amx_int8", "amx_tile", "avx512_bf16", "avx512_vnni", "avx512f", "avx2")
RESTRICTED_ARTICLES = 3


def cpu() -> dict[str, Any]:
    """The CPU's model name and the instruction sets that decide the speed of the model here."""
    text = (
        Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace") if Path("/proc/cpuinfo").is_file() else ""
    )
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "?")
    words = set(text.split())
    return {"model": name, "cores": os.cpu_count(), "flags": [f for f in FLAGS if f in words]}


def write_corpus(dataset: Path, folder: Path, articles: int | None = None) -> tuple[list[Path], list[str]]:
    """The set's articles as Markdown files (the first few again under restricted/), and its questions."""
    from evals.squad import load_dataset

    data = load_dataset(dataset)
    files = []
    for n, document in enumerate(data.documents[:articles]):
        body = f"# {document.title}\n\n{document.sections[0].text}\n"
        path = folder / "public" / f"{n:03d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
        files.append(path)
        if n < RESTRICTED_ARTICLES:
            secret = folder / "restricted" / f"{n:03d}.md"
            secret.parent.mkdir(parents=True, exist_ok=True)
            secret.write_text(body, encoding="utf-8")
    kept = {d.doc_id for d in data.documents[:articles]}
    return files, [q.question for q in data.questions if q.doc_id in kept]


def add_restricted(folder: Path, embedder: Any, settings: Any) -> int:
    """The restricted copies, ingested with the ACL group ``hr``: chunks no anonymous caller may see."""
    from askdocs.index.factory import open_index
    from askdocs.models import Provenance
    from ingest.loaders import RawSource
    from ingest.pipeline import Ingestor

    index = open_index(settings)
    try:
        ingestor = Ingestor(embedder, index, settings.chunking)
        items = [
            (RawSource(str(p.resolve()), p.read_bytes()), Provenance(acl=("hr",)))
            for p in sorted((folder / "restricted").glob("*.md"))
        ]
        return sum(outcome.chunks for outcome in ingestor.ingest_stream(items))
    finally:
        index.close()


def query_latency(embedder: Any, questions: list[str]) -> dict[str, float]:
    """Medians (ms) of one question embedded by askdocs and by bare fp32 ``model.encode``, alternating."""
    ours, bare = [], []
    for question in questions:
        mark = time.perf_counter()
        embedder.embed_query(question)
        ours.append(time.perf_counter() - mark)
        mark = time.perf_counter()
        embedder.model.encode([question], normalize_embeddings=True, show_progress_bar=False)
        bare.append(time.perf_counter() - mark)
    return {
        "askdocs_p50_ms": round(statistics.median(ours) * 1000, 2),
        "askdocs_p95_ms": round(sorted(ours)[int(0.95 * len(ours))] * 1000, 2),
        "bare_fp32_p50_ms": round(statistics.median(bare) * 1000, 2),
    }


def bare_rate(embedder: Any, questions: list[str], threads: int, seconds: float) -> float:
    """Questions per second of bare fp32 ``model.encode([question])`` called from ``threads`` threads at once."""
    done = [0] * threads
    deadline = time.monotonic() + seconds

    def work(t: int) -> None:
        i = t
        while time.monotonic() < deadline:
            embedder.model.encode([questions[i % len(questions)]], normalize_embeddings=True, show_progress_bar=False)
            done[t] += 1
            i += threads

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return round(sum(done) / (time.perf_counter() - started), 2)


def ask_load(data_dir: Path, questions: list[str], levels: list[int], seconds: float, restricted: str) -> list[dict]:
    """`askdocs serve` on ``data_dir``; each number of clients for ``seconds``."""
    from bench.load import Client, run_clients, service_env, wait_ready
    from evals.metrics import percentile

    port = 8797
    log = data_dir / "serve.log"
    askdocs = str(Path(sys.executable).parent / "askdocs")
    with log.open("w") as out:
        server = subprocess.Popen(
            [askdocs, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=service_env(str(data_dir)),
            stdout=out,
            stderr=out,
        )
    rows = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, None, server)
        asyncio.run(run_clients(base, [Client(0, False, None)], questions, 3, 50, restricted))  # warm-up
        for n in levels:
            clients = [Client(i, False, None) for i in range(n)]
            tally, wall = asyncio.run(run_clients(base, clients, questions, seconds, 100_000, restricted))
            lat = sorted(tally.latencies)
            rows.append(
                {
                    "clients": n,
                    "answered": len(lat),
                    "req_per_s": round(len(lat) / wall, 2),
                    "p50_ms": round(percentile(lat, 50) * 1000, 1) if lat else None,
                    "p95_ms": round(percentile(lat, 95) * 1000, 1) if lat else None,
                    "p99_ms": round(percentile(lat, 99) * 1000, 1) if lat else None,
                    "errors": dict(tally.errors),
                    "leaks": len(tally.leaks),
                }
            )
            print(f"  /ask at {n} clients: {rows[-1]}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return rows


def table(report: dict[str, Any]) -> str:
    c, i, q = report["cpu"], report["ingest"], report["query"]
    lines = [
        f"CPU: {c['model']}, {c['cores']} cores; flags: {', '.join(c['flags']) or 'none of ' + ', '.join(FLAGS)}; "
        f"askdocs embeds in {report['precision']}",
        f"Corpus: {report['corpus']} ({i['documents']} documents, {i['chunks']} chunks; {i['alone']} short answer "
        f"candidates embedded on their own besides); commit {report['commit']}",
        "",
        "| what | figure |",
        "|---|---|",
        f"| bare fp32 `model.encode` of the chunks | {i['bare']['seconds']} s ({i['chunks'] / i['bare']['seconds']:.1f}"
        f" chunks/s, peak RSS {i['bare']['peak_rss_mib']} MiB) |",
        f"| askdocs ingest (read, parse, chunk, embed, store) | {i['pipeline']['seconds']} s"
        f" ({i['chunks'] / i['pipeline']['seconds']:.1f} chunks/s, peak RSS {i['pipeline']['peak_rss_mib']} MiB) |",
        f"| **ingest ratio** (bare / askdocs; CPU seconds) | **{i['ratio']}x** ({i['cpu_ratio']}x) |",
        f"| one question: askdocs `embed_query` p50 / p95 | {q['askdocs_p50_ms']} / {q['askdocs_p95_ms']} ms |",
        f"| one question: bare fp32 `model.encode` p50 | {q['bare_fp32_p50_ms']} ms |",
    ]
    for n, rate in report["bare_rate"].items():
        lines.append(f"| bare fp32 single-question encode, {n} threads | {rate} questions/s |")
    lines += [
        "",
        "| `/ask` clients | req/s | p50 ms | p95 ms | p99 ms | errors | leaks | vs bare encode |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["ask"]:
        base = report["bare_rate"].get(str(row["clients"])) or report["bare_rate"][max(report["bare_rate"], key=int)]
        errors = sum(row["errors"].values())
        lines.append(
            f"| {row['clients']} | {row['req_per_s']} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | "
            f"{errors} | {row['leaks']} | {row['req_per_s'] / base:.2f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared/eval/squad2-dev.json")
    parser.add_argument("--clients", default="1,4,16,64")
    parser.add_argument("--seconds", type=float, default=20, help="per /ask level and per bare-rate run")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--articles", type=int, help="the first N articles only (a quick run)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/bench/speed.json")
    args = parser.parse_args()
    levels = [int(n) for n in args.clients.split(",")]
    for name in [k for k in os.environ if k.startswith("ASKDOCS_")]:
        del os.environ[name]  # the defaults, whatever this shell has set
    from askdocs.components import make_embedder
    from askdocs.settings import load_settings
    from bench.ingest import Corpus, machine, measure

    report: dict[str, Any] = {"cpu": cpu(), "corpus": args.dataset.name, "command": "python -m bench.speed"}
    report |= {"commit": machine()["commit"], "date": time.strftime("%Y-%m-%d %H:%M")}
    with tempfile.TemporaryDirectory() as tmp:
        folder, data = Path(tmp) / "docs", Path(tmp) / "data"
        files, questions = write_corpus(args.dataset, folder, args.articles)
        os.environ["ASKDOCS_DATA_DIR"] = str(data)
        settings = load_settings(_env_file=None)
        embedder = make_embedder(settings)
        embedder.model.encode(["warm-up"] * 64, batch_size=64)  # first-call costs out of the figures
        embedder.embed_query("warm-up")  # the question path built (an ONNX export the first time) before timing
        report["precision"] = embedder.precision.precision
        print(f"ingest: {len(files)} articles of {args.dataset.name}", flush=True)
        result = measure(Corpus(args.dataset.stem, files, len(files), str(args.dataset)), embedder, settings, {})
        report["ingest"] = {k: v for k, v in result.__dict__.items() if k not in ("corpus", "origin", "stages_serial")}
        report["restricted_chunks"] = add_restricted(folder, embedder, settings)
        sample = questions[: args.queries]
        report["query"] = query_latency(embedder, sample)
        report["bare_rate"] = {str(n): bare_rate(embedder, sample, n, args.seconds) for n in sorted({1, 16})}
        print(json.dumps(report["query"] | {"bare_rate": report["bare_rate"]}), flush=True)
        del embedder  # the service loads its own
        report["ask"] = ask_load(data, questions, levels, args.seconds, str((folder / "restricted").resolve()))
    print(table(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")
    if any(row["errors"] or row["leaks"] for row in report["ask"]):
        raise SystemExit("errors or leaks under load: see the table")


if __name__ == "__main__":
    main()
