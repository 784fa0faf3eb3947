"""Ingest throughput on real documentation: Debian's Python 3.11 HTML manual and R's PDF manuals.

    .venv/bin/python -m bench.ingest [--corpus-dir ~/.cache/askdocs-bench] [--html-dir DIR] [--pdf-dir DIR]
                                     [--sample N] [--out docs/bench/ingest.json]

The corpus is fetched once into the cache with ``apt-get download`` and ``dpkg -x`` (never committed):
``python3.11-doc`` (its 530 HTML pages) and five manuals of ``r-doc-pdf`` (R-intro, R-data, R-admin,
R-lang, R-FAQ: 360 pages). ``--html-dir``/``--pdf-dir`` use other folders instead.

Per corpus: the real pipeline (``expand`` + ``Reader`` + ``Ingestor.run`` with the ``ChildParser``, the ``askdocs
ingest`` defaults: the next documents parsed in a child process while this one is embedded) into
a fresh embedded index, timed end to end after the model is loaded; then bare ``model.encode`` on exactly the texts
the pipeline embedded, same model instance, same batch size. ratio = pipeline chunks/s / bare chunks/s; on a
shared machine read the same ratio of CPU seconds too (the work added, whatever share of the cores a phase got;
this process's only: the child's parsing is not in them).
A last serial pass times parsing and chunking on their own (inside the pipeline they overlap embedding).
Peak memory is the process's peak resident set during each phase (model included), reset between phases.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
HTML_PACKAGE, HTML_FOLDER = "python3.11-doc", "usr/share/doc/python3.11/html"
PDF_PACKAGE, PDF_FOLDER = "r-doc-pdf", "usr/share/R/doc/manual"
PDF_MANUALS = ("R-intro.pdf", "R-data.pdf", "R-admin.pdf", "R-lang.pdf", "R-FAQ.pdf")


# -- the corpus ----------------------------------------------------------------------------------------
def fetch(package: str, cache: Path) -> Path:
    """The package's files, extracted under ``cache/package`` on first use."""
    target = cache / package
    if (target / ".deb").is_file():
        return target
    if not (shutil.which("apt-get") and shutil.which("dpkg")):
        raise SystemExit(
            f"fetching {package} needs apt-get and dpkg (a Debian or Ubuntu machine); "
            "elsewhere pass --html-dir and --pdf-dir with folders of HTML pages and PDF files"
        )
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(["apt-get", "download", package], cwd=tmp, capture_output=True, text=True)
        debs = sorted(Path(tmp).glob("*.deb"))
        if done.returncode != 0 or not debs:
            raise SystemExit(f"apt-get download {package} failed (run apt-get update first?): {done.stderr.strip()}")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        subprocess.run(["dpkg", "-x", str(debs[0]), str(target)], check=True)
        (target / ".deb").write_text(debs[0].name)
    return target


@dataclass
class Corpus:
    name: str
    files: list[Path]
    pages: int
    origin: str  # the Debian package file, or the folder given


def html_corpus(args: argparse.Namespace) -> Corpus:
    root = args.html_dir or fetch(HTML_PACKAGE, args.corpus_dir) / HTML_FOLDER
    origin = str(args.html_dir) if args.html_dir else (args.corpus_dir / HTML_PACKAGE / ".deb").read_text()
    files = sorted(Path(root).rglob("*.html"))[:: args.sample]  # the pages, not the _sources/*.txt beside them
    return Corpus("html", files, len(files), origin)


def pdf_corpus(args: argparse.Namespace) -> Corpus:
    from pypdf import PdfReader

    if args.pdf_dir:
        files, origin = sorted(Path(args.pdf_dir).rglob("*.pdf")), str(args.pdf_dir)
    else:
        folder = fetch(PDF_PACKAGE, args.corpus_dir) / PDF_FOLDER
        files, origin = [folder / m for m in PDF_MANUALS], (args.corpus_dir / PDF_PACKAGE / ".deb").read_text()
    files = files[:: args.sample]
    return Corpus("pdf", files, sum(len(PdfReader(f).pages) for f in files), origin)


# -- timing the parts the pipeline is handed ---------------------------------------------------------------
class Clock:
    """Seconds per stage, added from any thread."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    def timed(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds[stage] += time.perf_counter() - started

        return call


class Timed:
    """Delegates to ``inner``, timing the named methods as stages. The texts embedded are kept: the chunks' (given
    to ``embed_documents_and_spans``, the pass that also pools the answer candidates' vectors) in ``embedded``, the
    short candidates embedded alone (``embed_documents``) in ``alone``."""

    def __init__(self, inner: Any, clock: Clock, stages: dict[str, str]) -> None:
        self._inner, self._clock, self._stages = inner, clock, stages
        self.embedded: list[str] = []
        self.alone: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name in ("embed_documents", "embed_documents_and_spans"):
            attribute = self._keeping(attribute, self.alone if name == "embed_documents" else self.embedded)
        return self._clock.timed(self._stages[name], attribute) if name in self._stages else attribute

    def _keeping(self, fn: Callable[..., Any], into: list[str]) -> Callable[..., Any]:
        def embed(texts: Sequence[str], *args: Any) -> Any:
            into.extend(texts)
            return fn(texts, *args)

        return embed


# -- measuring ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def phase(into: dict[str, Any]) -> Iterator[None]:
    """Wall and CPU seconds, peak resident memory (reset first where Linux allows) and load averages."""
    _reset_peak_rss()
    into["load_avg_before"] = [round(x, 2) for x in os.getloadavg()]
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    into["seconds"] = round(time.perf_counter() - wall, 2)
    into["cpu_seconds"] = round(time.process_time() - cpu, 2)
    into["peak_rss_mib"] = _peak_rss_mib()
    into["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]


def _reset_peak_rss() -> None:
    with contextlib.suppress(OSError):  # if Linux refuses, the figure is the high-water mark so far
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@dataclass
class Result:
    corpus: str
    origin: str
    documents: int
    pages: int
    failed: list[str] = field(default_factory=list)
    chunks: int = 0
    alone: int = 0  # short answer candidates embedded on their own (the chunks' pass pools the others' vectors)
    pipeline: dict[str, Any] = field(default_factory=dict)
    bare: dict[str, Any] = field(default_factory=dict)
    stages_in_pipeline: dict[str, float] = field(default_factory=dict)
    stages_serial: dict[str, float] = field(default_factory=dict)
    ratio: float = 0.0  # bare wall seconds / pipeline wall seconds
    cpu_ratio: float = 0.0  # the same with CPU seconds: the work added, whatever share of the cores the run got


def measure(corpus: Corpus, embedder: Any, settings: Any, options: dict[str, int]) -> Result:
    from askdocs.components import check_dimension
    from askdocs.index.factory import open_index
    from askdocs.index.protocol import VectorIndex
    from askdocs.sparse import Bm25Encoder
    from ingest.parsing import ChildParser
    from ingest.pipeline import Ingestor
    from ingest.sources import Reader, expand

    refs, missing = expand([str(f) for f in corpus.files])
    result = Result(corpus.name, corpus.origin, len(refs), corpus.pages, [e.source for e in missing])
    clock = Clock()
    stages = {"embed_documents": "embed alone", "embed_documents_and_spans": "embed", "count_tokens": "count_tokens"}
    timed_embedder = Timed(embedder, clock, stages)
    index = open_index(settings)
    check_dimension(index, embedder)
    timed_index = Timed(index, clock, {"upsert": "store", "delete_document": "store", "stored_version": "store"})
    sparse = Timed(Bm25Encoder(), clock, {"encode_documents": "sparse"})
    index_ = cast(VectorIndex, timed_index)
    parser = ChildParser.from_settings(settings.ingest)  # as `askdocs ingest`: parsed ahead, in a child process
    ingestor = Ingestor(
        cast(Any, timed_embedder), index_, settings.chunking, sparse=sparse, parser=parser, **cast(Any, options)
    )
    reader = Timed(Reader.from_settings(settings.ingest), clock, {"read": "read"})
    try:
        with phase(result.pipeline):
            report = ingestor.run(refs, cast(Reader, reader))
    finally:
        index.close()
    result.failed += [f"{Path(o.source).name}: {o.error}" for o in report.failed]
    result.chunks = report.chunks
    result.stages_in_pipeline = {k: round(v, 2) for k, v in sorted(clock.seconds.items())}
    texts = timed_embedder.embedded
    result.alone = len(timed_embedder.alone)
    if len(texts) != report.chunks:  # the bare pass must encode exactly what the pipeline stored
        raise RuntimeError(f"the pipeline embedded {len(texts)} texts but stored {report.chunks} chunks")
    with phase(result.bare):
        embedder.model.encode(
            texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
    result.stages_serial = serial_stages(refs, embedder, settings)
    result.ratio = round(result.bare["seconds"] / result.pipeline["seconds"], 3)
    result.cpu_ratio = round(result.bare["cpu_seconds"] / result.pipeline["cpu_seconds"], 3)
    return result


def serial_stages(refs: list[Any], embedder: Any, settings: Any) -> dict[str, float]:
    """Parsing and chunking alone, one document after another (inside the pipeline they overlap embedding)."""
    from askdocs.errors import LoadError
    from ingest.chunking import build_chunker
    from ingest.loaders import load
    from ingest.sources import Reader

    clock = Clock()
    counter = Timed(embedder, clock, {"count_tokens": "chunk: count_tokens"})
    c = settings.chunking
    chunker = build_chunker(c.chunker, counter, c.chunk_size, c.chunk_overlap)
    reader = Reader.from_settings(settings.ingest)
    for ref in refs:
        try:
            document = clock.timed("parse", load)(clock.timed("read", reader.read)(ref))
        except LoadError:
            continue
        clock.timed("chunk", chunker.split)(document.sections, document.title)
    return {k: round(v, 2) for k, v in sorted(clock.seconds.items())}


# -- reporting ---------------------------------------------------------------------------------------
def summary(r: Result) -> list[str]:
    p, b = r.pipeline["seconds"], r.bare["seconds"]
    return [
        f"{r.corpus}: {r.documents} documents, {r.pages} pages, {r.chunks} chunks, {len(r.failed)} failed",
        f"  pipeline {p:8.1f} s  {r.pages / p:6.2f} pages/s  {r.chunks / p:6.2f} chunks/s  "
        f"peak RSS {r.pipeline['peak_rss_mib']} MiB  CPU {r.pipeline['cpu_seconds'] / p:.2f} cores",
        f"  bare     {b:8.1f} s                  {r.chunks / b:6.2f} chunks/s  "
        f"peak RSS {r.bare['peak_rss_mib']} MiB  CPU {r.bare['cpu_seconds'] / b:.2f} cores",
        f"  ratio {r.ratio:.3f} (CPU seconds {r.cpu_ratio:.3f})   in pipeline: {r.stages_in_pipeline}",
        f"  serial: {r.stages_serial}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--corpus-dir", type=Path, default=Path("~/.cache/askdocs-bench").expanduser())
    parser.add_argument("--html-dir", type=Path, help="a folder of HTML pages instead of python3.11-doc")
    parser.add_argument("--pdf-dir", type=Path, help="a folder of PDF files instead of the R manuals")
    parser.add_argument("--sample", type=int, default=1, help="keep every Nth document (quick runs)")
    parser.add_argument("--only", choices=["html", "pdf"], help="one corpus only")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/bench/ingest.json")
    parser.add_argument("--window", type=int, help="the Ingestor's window (chunks per embedding call)")
    args = parser.parse_args()
    corpora = [make(args) for name, make in (("html", html_corpus), ("pdf", pdf_corpus)) if args.only in (None, name)]
    for name in [k for k in os.environ if k.startswith("ASKDOCS_")]:
        del os.environ[name]  # the defaults of `askdocs ingest`, whatever this shell has set
    from askdocs.components import make_embedder
    from askdocs.settings import load_settings

    options = {"window": args.window} if args.window is not None else {}
    info = machine() | {"ingestor_options": options}  # before the runs: the commit measured is the one imported now
    from evals.provenance import settings_in_force

    info["settings_in_force"] = settings_in_force(load_settings(_env_file=None), os.environ)  # no ASKDOCS_* left
    embedder = make_embedder(load_settings(_env_file=None))
    embedder.model.encode(["warm-up"] * 64, batch_size=64)  # first-call costs out of the figures
    results = []
    for corpus in corpora:
        with tempfile.TemporaryDirectory() as data:
            os.environ["ASKDOCS_DATA_DIR"] = data
            result = measure(corpus, embedder, load_settings(_env_file=None), options)
        print("\n".join(summary(result)), flush=True)
        results.append(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"machine": info, "sample": args.sample, "results": [asdict(r) for r in results]}, indent=1) + "\n"
    )
    print(f"wrote {args.out}")


def machine() -> dict[str, Any]:
    import torch

    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "ingest", "askdocs", "chunkers")),
    }


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


if __name__ == "__main__":
    main()
