"""Parse time per page of real filings, through the real child parser with the configured limits.

    .venv/bin/python -m bench.parse_time --pdfs /tmp/eval/financebench-dev/pdfs [--busy] [--inline]
                                         [--only NAME ...] [--out docs/bench/parse-time.json]

Each PDF is parsed by ``ChildParser`` with the limits of ``ASKDOCS_INGEST__*`` (the defaults unless set), one
document handed ahead as ``askdocs ingest`` does; a document's time is from its result to the next one's (the child
is busy the whole time). ``--busy`` runs one CPU-bound process beside the bench (``python -c "while True: pass"``)
for the whole run, as a second job on the machine would. The load average is sampled every 5 s.

``--inline`` instead loads each PDF in this process (``ingest.loaders.load``) and times its CPU seconds, which
depend less on what else the machine runs, and keeps a SHA-256 of its title and text: run it on two checkouts to
compare a change's speed and text (it runs on checkouts older than the budget).

Prints and writes: per document its pages, MB, seconds, seconds per page, time budget (with the pages: what
the child parser grants once the loader has counted them), whether it took a second try, and its outcome; seconds per
page over the documents (p50, p95, max); the largest documents' totals; the load average during the run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from askdocs.errors import LoadError
from askdocs.settings import load_settings
from ingest.loaders import RawSource, load
from ingest.parsing import ChildParser


def pages_of(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


@contextmanager
def busy(enabled: bool) -> Iterator[None]:
    """A CPU-bound process beside the bench while the block runs."""
    if not enabled:
        yield
        return
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        hog.kill()
        hog.wait()


class LoadSampler:
    """The 1-minute load average every ``every_s`` seconds, in a thread."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True)

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self, every_s: float) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(every_s)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Retries(logging.Handler):
    """The parser's "trying once more" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def measure_inline(paths: list[Path]) -> list[dict[str, Any]]:
    """CPU seconds of the loader in this process, and a hash of what it read."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        raw, pages = RawSource(path.name, path.read_bytes()), pages_of(path)
        started = time.process_time()
        document = load(raw)
        cpu = time.process_time() - started
        text = "\x00".join([document.title, *(s.text for s in document.sections)])
        row = {"document": path.name, "pages": pages, "mb": round(len(raw.data) / 2**20, 2), "seconds": round(cpu, 2)}
        row |= {"s_per_page": round(cpu / pages, 4), "retried": False, "sections": len(document.sections)}
        row["text_sha256"] = hashlib.sha256(text.encode()).hexdigest()
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def measure(paths: list[Path]) -> list[dict[str, Any]]:
    from ingest.loaders.work import Work

    parser = ChildParser.from_settings(load_settings(_env_file=None).ingest)
    retries = Retries()
    logging.getLogger("ingest.parsing").addHandler(retries)
    rows: list[dict[str, Any]] = []
    raws = ((path, RawSource(str(path), path.read_bytes())) for path in paths)
    last = time.perf_counter()
    for path, result in parser.map(raws):
        now = time.perf_counter()
        pages, size = pages_of(path), path.stat().st_size
        row: dict[str, Any] = {"document": path.name, "pages": pages, "mb": round(size / 2**20, 2)}
        row |= {"seconds": round(now - last, 2), "s_per_page": round((now - last) / pages, 4)}
        row["budget_s"] = round(parser.budget.seconds(size, Work(pages=pages)), 1)  # with the pages counted
        row["retried"] = any(message.startswith(f"{path}: ") for message in retries.messages)
        row["error" if isinstance(result, LoadError) else "sections"] = (
            result.reason if isinstance(result, LoadError) else len(result.sections) if result else 0
        )
        rows.append(row)
        print(json.dumps(row), flush=True)
        last = time.perf_counter()
    return rows


def summary(rows: list[dict[str, Any]], loads: list[float]) -> dict[str, Any]:
    per_page = [r["s_per_page"] for r in rows]
    largest = sorted(rows, key=lambda r: r["pages"], reverse=True)[:5]
    return {
        "documents": len(rows),
        "failed": [f"{r['document']}: {r['error']}" for r in rows if "error" in r],
        "retried": [r["document"] for r in rows if r["retried"]],
        "pages": sum(r["pages"] for r in rows),
        "seconds": round(sum(r["seconds"] for r in rows), 1),
        "s_per_page_p50": round(statistics.median(per_page), 4),
        "s_per_page_p95": round(percentile(per_page, 0.95), 4),
        "s_per_page_max": max(per_page),
        "slowest_per_page": max(rows, key=lambda r: r["s_per_page"])["document"],
        "largest": [{k: r[k] for k in ("document", "pages", "seconds")} for r in largest],
        "load_average": {
            "min": min(loads, default=0),
            "mean": round(statistics.fmean(loads), 2) if loads else 0,
            "max": max(loads, default=0),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdfs", type=Path, required=True, help="folder of PDFs (all *.pdf in it)")
    parser.add_argument("--only", nargs="*", default=None, help="just these file names")
    parser.add_argument("--busy", action="store_true", help="a CPU-bound process beside the bench")
    parser.add_argument("--inline", action="store_true", help="CPU seconds of the loader in this process")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    paths = sorted(args.pdfs.glob("*.pdf"))
    if args.only:
        paths = [p for p in paths if p.name in args.only]
    if not paths:
        raise SystemExit(f"no PDFs in {args.pdfs}")
    started = time.perf_counter()
    with busy(args.busy), LoadSampler() as loads:
        rows = measure_inline(paths) if args.inline else measure(paths)
    result = {
        "command": " ".join(["python -m bench.parse_time", *sys.argv[1:]]),
        "busy": args.busy,
        "clock": "CPU seconds in this process" if args.inline else "wall seconds through the child parser",
        "cpus": os.cpu_count(),
        "limits": {k: v for k, v in load_settings(_env_file=None).ingest.model_dump().items() if "parse" in k},
        "wall_s": round(time.perf_counter() - started, 1),
        "summary": summary(rows, loads.samples),
        "documents": rows,
    }
    print(json.dumps(result["summary"], indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
