"""Robustness on thousands of real files: every PDF and HTML page of Debian documentation packages, through the
real loaders and the configured chunker (the model's tokenizer counting tokens), each document parsed in the real
child process with its time and memory limit (ingest/parsing.py), so a hang or a crash is counted for that
document, never fatal to the run.

    .venv/bin/python -m bench.robustness [--packages P ...] [--cache ~/.cache/askdocs-bench] [--sample N]
                                         [--embed] [--out docs/bench/robustness.json]

Packages are fetched once with ``apt-get download`` + ``dpkg -x`` into the cache (never committed). ``--sample N``
reads at most N PDFs of each package, evenly spread (HTML pages are all read). ``--embed`` also embeds the chunks.
Prints documents OK / failed by reason, the slowest documents and the peak memory of the parser processes.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from askdocs.errors import LoadError
from bench.ingest import fetch
from ingest.loaders import RawSource
from ingest.parse_limits import ParseBudget
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
    """Every HTML page and PDF under ``root``; with ``sample``, at most that many PDFs, evenly spread."""
    found = sorted(p for p in root.rglob("*") if p.suffix.lower() in _SUFFIXES and p.is_file() and not p.is_symlink())
    pdfs = [p for p in found if p.suffix.lower() == ".pdf"]
    if sample is not None and len(pdfs) > sample:
        step = len(pdfs) / sample
        keep = {pdfs[int(i * step)] for i in range(sample)}
        found = [p for p in found if p.suffix.lower() != ".pdf" or p in keep]
    return found


def reason(error: LoadError) -> str:
    """The failure class: the message with numbers and quoted details taken out."""
    text = error.reason.split(" (", 1)[0]
    return _DIGITS.sub("N", text)[:90]


@dataclass
class Tally:
    ok: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    seconds: list[tuple[float, str]] = field(default_factory=list)
    chunks: int = 0

    def fail(self, kind: str, source: str, message: str) -> None:
        self.failed[kind] += 1
        found = self.examples.setdefault(kind, [])
        if len(found) < 5:  # the first few of each kind, to reproduce
            found.append(f"{source}: {message[:240]}")


def run(args: argparse.Namespace) -> dict[str, object]:
    from askdocs.components import make_embedder
    from askdocs.settings import load_settings
    from ingest.chunking import build_chunker

    settings = load_settings(_env_file=None)
    embedder = make_embedder(settings)  # its tokenizer counts tokens for the chunker, as in askdocs ingest
    c = settings.chunking
    chunker = build_chunker(c.chunker, embedder, c.chunk_size, c.chunk_overlap)
    paths = [(package, p) for package in args.packages for p in files_of(fetch(package, args.cache), args.sample)]
    budget = ParseBudget.from_settings(settings.ingest)  # the time limits of ASKDOCS_INGEST__PARSE_TIMEOUT_*
    parser = ChildParser(ParseLimits(budget, memory_mb=args.memory_mb, ahead=1))
    tally, started = Tally(), time.perf_counter()
    last = started
    raws = (((package, str(path)), _raw(path)) for package, path in paths)
    for (package, source), result in parser.map(raws):
        now = time.perf_counter()
        tally.seconds.append((now - last, source))  # parse (in the child) and chunk of this document
        if isinstance(result, LoadError):
            tally.fail(reason(result), source, result.reason)
        elif result is not None:
            try:  # a chunker or embedder crash is counted for its document, the run goes on
                pieces = chunker.split(result.sections, result.title)
                if args.embed and pieces:
                    embedder.embed_documents([p.embed_text or p.text for p in pieces])
                tally.ok[package] += 1
                tally.chunks += len(pieces)
            except Exception as exc:
                tally.fail(f"chunking: {type(exc).__name__}", source, str(exc))
        last = time.perf_counter()
    return {
        "documents": len(paths),
        "ok": sum(tally.ok.values()),
        "failed": sum(tally.failed.values()),
        "ok_by_package": dict(tally.ok),
        "failed_by_reason": dict(tally.failed.most_common()),
        "examples": tally.examples,
        "chunks": tally.chunks,
        "embedded": bool(args.embed),
        "slowest": [(round(t, 2), s) for t, s in sorted(tally.seconds, reverse=True)[:10]],
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb_parser": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
        "peak_rss_mb_bench": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def _raw(path: Path) -> RawSource:
    return RawSource(str(path), path.read_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", nargs="+", default=list(PACKAGES))
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "askdocs-bench")
    parser.add_argument("--sample", type=int, help="at most this many PDFs per package")
    parser.add_argument("--memory-mb", type=int, default=2048, help="parse memory limit per document")
    parser.add_argument("--embed", action="store_true", help="also embed every document's chunks")
    parser.add_argument("--out", type=Path, help="write the report here as JSON too")
    args = parser.parse_args()
    report = run(args)
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
