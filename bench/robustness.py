"""Robustness on thousands of real files: every PDF and HTML page of Debian documentation packages, through the
real loaders and the default chunker, each document in the real child-process parser with its time and memory
limit (ingest/parsing.py), so a hang or a crash is counted for that document, never fatal to the run.

    .venv/bin/python -m bench.robustness [--packages P ...] [--cache ~/.cache/askdocs-bench] [--sample N]
                                         [--timeout 120] [--embed] [--out docs/bench/robustness.json]

Packages are fetched once with ``apt-get download`` + ``dpkg -x`` into the cache (never committed). ``--sample N``
takes every k-th file of each package so that at most N are read from it. ``--embed`` also embeds the chunks.
Prints documents OK / failed by reason, the slowest documents and the peak memory of the parser processes.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from collections import Counter
from pathlib import Path

from askdocs.errors import LoadError
from bench.ingest import fetch
from ingest.loaders import RawSource
from ingest.parsing import ChildParser, ParseLimits

PACKAGES = (
    "texlive-latex-extra-doc",
    "texlive-pictures-doc",
    "r-doc-pdf",
    "debian-reference-en",
    "python3.11-doc",
    "postgresql-doc-15",
)
_SUFFIXES = {".pdf", ".html", ".htm"}
_DIGITS = re.compile(r"\d+(\.\d+)?")


def files_of(root: Path, sample: int | None) -> list[Path]:
    found = sorted(p for p in root.rglob("*") if p.suffix.lower() in _SUFFIXES and p.is_file() and not p.is_symlink())
    if sample and len(found) > sample:
        step = len(found) / sample
        found = [found[int(i * step)] for i in range(sample)]
    return found


def reason(error: LoadError) -> str:
    """The failure class: the message with numbers and quoted details taken out."""
    text = error.reason.split(" (", 1)[0]
    return _DIGITS.sub("N", text)[:90]


def chunk_count(document: object, embed: bool) -> int:
    from chunkers import make_chunker

    # Words stand in for model tokens: the chunker's code paths are the same, without loading the model.
    chunker = make_chunker("structural", lambda texts: [len(t.split()) for t in texts], size=256, overlap=32)
    pieces = chunker.split(document.sections, document.title)  # type: ignore[attr-defined]
    return len(pieces)


def run(args: argparse.Namespace) -> dict[str, object]:
    paths: list[tuple[str, Path]] = []
    for package in args.packages:
        root = fetch(package, args.cache)
        paths += [(package, p) for p in files_of(root, args.sample)]
    parser = ChildParser(ParseLimits(timeout_s=args.timeout, memory_mb=args.memory_mb, ahead=1))
    ok, failed, crashed = Counter[str](), Counter[str](), 0
    examples: dict[str, str] = {}
    times: list[tuple[float, str]] = []
    started = time.perf_counter()
    last = started

    def items():  # type: ignore[no-untyped-def]
        for package, path in paths:
            yield (package, str(path)), RawSource(str(path), path.read_bytes())

    for (package, source), result in parser.map(items()):
        now = time.perf_counter()
        times.append((now - last, source))
        last = now
        try:
            if isinstance(result, LoadError):
                failed[reason(result)] += 1
                examples.setdefault(reason(result), f"{source}: {result.reason[:200]}")
            else:
                chunk_count(result, args.embed)
                ok[package] += 1
        except Exception as exc:  # a chunker crash: counted, the run goes on
            crashed += 1
            failed[f"chunker {type(exc).__name__}"] += 1
            examples.setdefault(f"chunker {type(exc).__name__}", f"{source}: {exc}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return {
        "documents": len(paths),
        "ok": sum(ok.values()),
        "ok_by_package": dict(ok),
        "failed_by_reason": dict(failed.most_common()),
        "examples": examples,
        "chunker_crashes": crashed,
        "slowest": [(round(t, 2), s) for t, s in sorted(times, reverse=True)[:10]],
        "seconds": round(time.perf_counter() - started, 1),
        "peak_parser_rss_mb": children,
        "peak_bench_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", nargs="+", default=list(PACKAGES))
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "askdocs-bench")
    parser.add_argument("--sample", type=int, help="at most this many files per package")
    parser.add_argument("--timeout", type=float, default=120.0, help="parse time limit per document, seconds")
    parser.add_argument("--memory-mb", type=int, default=2048, help="parse memory limit per document")
    parser.add_argument("--embed", action="store_true", help="(not implemented yet) also embed the chunks")
    parser.add_argument("--out", type=Path)
    report = run(parser.parse_args())
    print(json.dumps(report, indent=1))
    out = parser.parse_args().out
    if out:
        out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
