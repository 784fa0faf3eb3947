"""FinanceBench's layout: ``pdfs/<doc_name>.pdf`` and ``questions.jsonl`` (one question a line: ``question``,
``company``, ``doc_name``, ``evidence[]`` with ``doc_name`` and the 0-based ``evidence_page_num``).

Gold is page-level: a question is answered by the pages its evidence names. askdocs numbers PDF pages from 1 (the
page a citation shows), so the gold page is ``evidence_page_num + 1``. The set comes as its tarball or unpacked.
"""

from __future__ import annotations

import hashlib
import json
import random
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from askdocs.errors import InputError

QUESTIONS = "questions.jsonl"
PDFS = "pdfs"
SPLITS = ("train", "test", "all")


@dataclass(frozen=True, slots=True)
class PageQuestion:
    qid: str
    question: str
    company: str
    doc: str  # the gold document: a PDF's file name without ".pdf"
    pages: tuple[tuple[str, int], ...]  # the evidence pages: (document, page numbered from 1)


@dataclass(frozen=True, slots=True)
class PageSet:
    name: str
    pdfs: Mapping[str, Path]  # document name -> its PDF
    questions: list[PageQuestion]

    def fingerprint(self) -> str:
        """A hash of the PDFs (names and bytes): the index built from them depends on nothing else of the set."""
        digest = hashlib.sha256()
        for name, path in sorted(self.pdfs.items()):
            digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()


def is_financebench(path: Path) -> bool:
    """A folder with ``questions.jsonl`` beside a ``pdfs`` folder (at any depth), or a tarball holding one."""
    if path.is_dir():
        return any((q.parent / PDFS).is_dir() for q in path.rglob(QUESTIONS))
    if not path.name.endswith((".tar.gz", ".tgz", ".tar")):
        return False
    try:
        with tarfile.open(path) as tar:
            return any(Path(name).name == QUESTIONS for name in tar.getnames())
    except (OSError, tarfile.TarError):
        return False


@contextmanager
def open_financebench(path: Path) -> Iterator[PageSet]:
    """The set from its folder, or from its tarball unpacked into a temporary folder (removed on exit)."""
    if path.is_dir():
        yield _load_folder(path)
        return
    with tempfile.TemporaryDirectory(prefix="askdocs-financebench-") as tmp:
        try:
            with tarfile.open(path) as tar:
                tar.extractall(tmp, filter="data")
        except (OSError, tarfile.TarError) as exc:
            raise InputError(f"cannot unpack {path}: {exc}") from exc
        yield _load_folder(Path(tmp))


def _load_folder(folder: Path) -> PageSet:
    found = sorted(q for q in folder.rglob(QUESTIONS) if (q.parent / PDFS).is_dir())
    if not found:
        raise InputError(f"{folder} has no {QUESTIONS} beside a {PDFS}/ folder: expected FinanceBench's layout")
    root = found[0].parent
    pdfs = {p.stem: p for p in sorted((root / PDFS).glob("*.pdf"))}
    if not pdfs:
        raise InputError(f"{root / PDFS} holds no PDF")
    return PageSet(root.name, pdfs, read_questions(root / QUESTIONS, pdfs))


def read_questions(path: Path, pdfs: Mapping[str, Path]) -> list[PageQuestion]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    questions = []
    for n, line in enumerate(lines, start=1):
        if line.strip():
            questions.append(_question(line, f"{path} line {n}", pdfs))
    if not questions:
        raise InputError(f"{path} holds no question")
    return questions


def _question(line: str, where: str, pdfs: Mapping[str, Path]) -> PageQuestion:
    try:
        row: Any = json.loads(line)
        doc = str(row["doc_name"])
        pages = tuple((str(e["doc_name"]), int(e["evidence_page_num"]) + 1) for e in row["evidence"])
        question = PageQuestion(str(row.get("financebench_id") or where), str(row["question"]), "", doc, pages)
        company = str(row.get("company") or doc.split("_", 1)[0])
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} is not JSON: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"{where}: malformed question ({type(exc).__name__}: {exc}); needs question, doc_name and evidence[] "
            "with doc_name and evidence_page_num"
        ) from exc
    if missing := sorted({doc, *(d for d, _ in pages)} - set(pdfs)):
        raise InputError(f"{where}: no PDF for document {missing[0]!r} (looked for {missing[0]}.pdf in {PDFS}/)")
    if not pages:
        raise InputError(f"{where}: no evidence page, so nothing to score the question on")
    return PageQuestion(question.qid, question.question, company, doc, pages)


def split_companies(questions: list[PageQuestion], part: str, seed: int = 0) -> list[PageQuestion]:
    """The questions of one half of the companies (shuffled with ``seed``, the first half rounded up: ``train``);
    ``all``: every question. The index keeps every filing: a held-out question still searches them all."""
    if part not in SPLITS:
        raise InputError(f"unknown split {part!r}; available: {', '.join(SPLITS)}")
    if part == "all":
        return questions
    companies = sorted({q.company for q in questions})
    if len(companies) < 2:
        raise InputError(f"the questions name {len(companies)} company; a split by company needs at least 2")
    random.Random(seed).shuffle(companies)
    train = set(companies[: (len(companies) + 1) // 2])
    return [q for q in questions if (q.company in train) == (part == "train")]
