"""Docugami's SEC 10-Q set: PDFs under ``docs/`` and ``qna_data.csv`` (``Question``, ``Source Docs`` as a file
pattern such as ``*AAPL*`` or ``2023 Q1 AAPL.pdf``, ``Question Type``, ``Source Chunk Type``, ``Answer``).

Gold is document-level: the documents the pattern matches. A multi-document question counts as found when a
chunk of any of its gold documents is retrieved; the single-document questions are also scored on their own.
"""

from __future__ import annotations

import csv
import fnmatch
import sys
import tarfile
import tempfile
from pathlib import Path

from askdocs.errors import InputError, LoadError
from askdocs.models import Document
from evals.squad import Dataset, EvalQuestion
from ingest.loaders import RawSource, load

QNA = "qna_data.csv"
COLUMNS = ("Question", "Source Docs", "Question Type")


def is_docugami(path: Path) -> bool:
    """A folder holding ``qna_data.csv`` (at any depth below it), or a tarball."""
    return path.is_dir() or path.name.endswith((".tar.gz", ".tgz", ".tar"))


def load_docugami(path: Path) -> Dataset:
    """The set from its unpacked folder or its tarball (unpacked into a temporary folder, removed after)."""
    if path.is_dir():
        return _load_folder(path)
    try:
        with tempfile.TemporaryDirectory(prefix="askdocs-docugami-") as tmp, tarfile.open(path) as tar:
            tar.extractall(tmp, filter="data")
            return _load_folder(Path(tmp), name=path.name.split(".")[0])
    except (OSError, tarfile.TarError) as exc:
        raise InputError(f"cannot unpack {path}: {exc}") from exc


def _load_folder(folder: Path, name: str | None = None) -> Dataset:
    found = sorted(folder.rglob(QNA))
    if not found:
        raise InputError(f"{folder} has no {QNA}: expected Docugami's 10-Q layout (docs/*.pdf and {QNA})")
    root = found[0].parent
    pdfs = sorted((root / "docs").glob("*.pdf")) or sorted(root.glob("*.pdf"))
    if not pdfs:
        raise InputError(f"{root} has {QNA} but no PDFs (looked in {root / 'docs'} and {root})")
    by_name: dict[str, Document] = {}
    for pdf in pdfs:
        try:
            by_name[pdf.name] = load(RawSource(str(pdf.resolve()), pdf.read_bytes()))
        except LoadError as exc:  # reported; its questions keep it as gold, so the miss counts against every mode
            print(f"warning: {pdf.name} not loaded: {exc}", file=sys.stderr)
    questions, groups = _questions(root / QNA, {p.name: by_name.get(p.name) for p in pdfs})
    return Dataset(name or root.name, list(by_name.values()), questions, groups)


def _questions(path: Path, by_name: dict[str, Document | None]) -> tuple[list[EvalQuestion], dict[str, frozenset[str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    if rows and (missing := [c for c in COLUMNS if c not in rows[0]]):
        raise InputError(f"{path} lacks column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    questions: list[EvalQuestion] = []
    single: set[str] = set()
    for n, row in enumerate(rows, start=2):
        gold = gold_documents(row["Source Docs"], by_name)
        if not gold:
            raise InputError(f"{path} line {n}: Source Docs {row['Source Docs']!r} matches no PDF")
        qid = f"q{n - 1:03d}"
        answer = (row.get("Answer") or "").strip()
        questions.append(EvalQuestion(qid, row["Question"].strip(), gold[0], (), (answer,), gold_docs=gold))
        if row["Question Type"].startswith("Single-Doc"):
            single.add(qid)
    return questions, {"single-doc": frozenset(single)}


def gold_documents(pattern: str, by_name: dict[str, Document | None]) -> tuple[str, ...]:
    """The doc_ids of the PDFs a ``Source Docs`` pattern names (``*AAPL*``, ``2023 Q1 AAPL.pdf``; several may be
    separated by commas), in file-name order; a PDF that did not load keeps its place as the id of its path."""
    patterns = [p.strip() for p in pattern.split(",") if p.strip()]
    return tuple(
        doc.doc_id if doc else f"unloaded:{file_name}"
        for file_name, doc in sorted(by_name.items())
        if any(fnmatch.fnmatchcase(file_name, p) or fnmatch.fnmatchcase(file_name, p + ".pdf") for p in patterns)
    )
