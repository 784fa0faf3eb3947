"""An evaluation's index of PDFs, built once and kept on disk, keyed by everything that shaped it.

Ingesting 41 annual reports costs many minutes of parsing and embedding on two cores, while most experiments
change only how questions are searched. So the index of a set of PDFs is kept under a key of the PDFs' bytes, the
chunking settings, the embedding model, the source of the code that turns PDFs into stored points (loaders,
chunkers, the BM25 encoder, the payload) and the versions of the packages it calls (PDF reader, tokenizer,
model): a run with other query-time settings opens it again, and any change that would store other points builds
a new one. A build that stops half-way is resumed (the ingest skips the documents it already holds whole); only a
finished build is used as it is.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.edge import EdgeIndex
from askdocs.models import DocumentStatus, Provenance
from askdocs.settings import ChunkingSettings, EmbeddingSettings
from evals.provenance import ROOT
from ingest.loaders import RawSource
from ingest.pipeline import Ingestor

Progress = Callable[[str, int], Callable[[int], None]]
DEFAULT_ROOT = Path.home() / ".cache" / "askdocs-eval" / "indexes"
MANIFEST = "manifest.json"
# The code and the packages whose change changes what the index holds for the same PDFs and settings.
SHAPING_PACKAGES = ("pypdf", "qdrant-edge-py", "sentence-transformers", "transformers", "torch")
SHAPING_CODE = (
    "ingest/loaders/*.py",
    "chunkers/*.py",
    "ingest/chunking.py",
    "askdocs/sparse.py",
    "askdocs/index/points.py",
)


@dataclass(frozen=True, slots=True)
class BuiltIndex:
    folder: Path
    names: dict[str, str]  # doc_id -> document name
    titles: dict[str, str]  # document name -> the title askdocs gave it
    failed: dict[str, str]  # document name -> why it was not ingested
    chunks: int
    ingest_s: float  # of the build (a reused index keeps the figure of the run that built it)
    reused: bool = False

    def open(self) -> EdgeIndex:
        return EdgeIndex(self.folder / "shard")


def index_key(
    fingerprint: str, chunking: ChunkingSettings, embedding: EmbeddingSettings, embedder: SentenceTransformerEmbedder
) -> str:
    code = hashlib.sha256()
    for pattern in SHAPING_CODE:
        for path in sorted(ROOT.glob(pattern)):
            code.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    parts = {
        "data": fingerprint,
        "chunking": chunking.model_dump(mode="json"),
        "model": embedder.model_id,
        "embedding": embedding.model_dump(mode="json", exclude={"batch_size", "query_prefix"}),
        "code": code.hexdigest(),
        "packages": {name: _version(name) for name in SHAPING_PACKAGES},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def built_index(
    name: str,
    pdfs: Mapping[str, Path],
    key: str,
    chunking: ChunkingSettings,
    embedder: SentenceTransformerEmbedder,
    root: Path = DEFAULT_ROOT,
    progress: Progress = lambda label, total: lambda n: None,
) -> BuiltIndex:
    """The index of ``pdfs`` (document name -> file) under ``key``: reused when a finished build is on disk, else
    built (or a stopped build resumed) and kept. Each PDF's source is ``<name>/<file name>``, so its doc_id does
    not depend on where the set was unpacked."""
    folder = root / f"{name}-{chunking.chunker}-{key[:16]}"
    if (folder / MANIFEST).is_file():
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return BuiltIndex(folder=folder, reused=True, **manifest)
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    built = _build(name, pdfs, partial, chunking, embedder, progress)
    (partial / MANIFEST).write_text(json.dumps(_manifest(built), indent=1), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return BuiltIndex(folder, built.names, built.titles, built.failed, built.chunks, built.ingest_s)


def _build(
    name: str,
    pdfs: Mapping[str, Path],
    folder: Path,
    chunking: ChunkingSettings,
    embedder: SentenceTransformerEmbedder,
    progress: Progress,
) -> BuiltIndex:
    index = EdgeIndex(folder / "shard")
    by_source = {f"{name}/{path.name}": doc for doc, path in pdfs.items()}
    names, titles, failed = {}, {}, {}
    advance = progress(f"{chunking.chunker}: ingest {len(pdfs)} PDFs", len(pdfs))
    started = time.perf_counter()
    try:
        items = ((RawSource(f"{name}/{path.name}", path.read_bytes()), Provenance()) for path in pdfs.values())
        for outcome in Ingestor(embedder, index, chunking).ingest_stream(items):
            doc = by_source[outcome.source]
            if outcome.status is DocumentStatus.FAILED:
                failed[doc] = outcome.error
            else:
                names[outcome.doc_id], titles[doc] = doc, outcome.title
            advance(1)
        chunks = index.count()
    finally:
        index.close()
    return BuiltIndex(folder, names, titles, failed, chunks, round(time.perf_counter() - started, 1))


def _manifest(built: BuiltIndex) -> dict[str, object]:
    record = asdict(built)
    del record["folder"], record["reused"]
    return record
