"""SQuAD-format data sets: ``data[] -> {title, paragraphs[] -> {context, qas[] -> {id, question, answers[]}}}``.

Each article becomes one document whose text is its paragraphs joined by a blank line, so chunkers can cross
paragraph boundaries; gold answers become absolute character spans in that text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from askdocs.errors import InputError
from askdocs.models import Document, Section
from chunkers.base import SECTION_SEPARATOR
from ingest.loaders import content_hash


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    qid: str
    question: str
    doc_id: str
    spans: tuple[tuple[int, int], ...]  # gold answer spans in the article text; empty = unanswerable
    answers: tuple[str, ...]
    reference: bool = False  # answerable by a reference answer alone (no spans: logged, rated questions)
    gold_docs: tuple[str, ...] = ()  # document-level gold (the 10-Q set): any chunk of one of these is a hit

    @property
    def answerable(self) -> bool:
        return bool(self.spans or self.gold_docs) or self.reference


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    documents: list[Document]
    questions: list[EvalQuestion]
    groups: dict[str, frozenset[str]] = field(default_factory=dict)  # extra rows: a subset of question ids

    @property
    def answerable(self) -> list[EvalQuestion]:
        return [q for q in self.questions if q.answerable]


def load_dataset(path: Path) -> Dataset:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read data set {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
        raise InputError(f"{path} is not in SQuAD format: expected an object with a 'data' list of articles")
    documents, questions = [], []
    for a, article in enumerate(raw["data"]):
        document, article_questions = _article(article, a, path)
        documents.append(document)
        questions.extend(article_questions)
    return Dataset(path.stem, documents, questions)


def _article(article: Any, a: int, path: Path) -> tuple[Document, list[EvalQuestion]]:
    try:
        paragraphs = article["paragraphs"]
        title = str(article.get("title") or f"article {a}").replace("_", " ")
        contexts = [str(p["context"]) for p in paragraphs]
    except (KeyError, TypeError) as exc:
        raise InputError(f"{path}: article {a} is missing {exc} (needs 'paragraphs' with 'context')") from exc
    doc_id = f"{path.stem}-{a:04d}"
    text = SECTION_SEPARATOR.join(contexts)
    document = Document(doc_id, f"{path.name}#{title}", title, (Section(text, (title,)),), content_hash(text))
    questions, offset = [], 0
    for p, paragraph in enumerate(paragraphs):
        for qa in paragraph.get("qas", []):
            try:
                answers = [] if qa.get("is_impossible") else qa["answers"]
                spans = tuple(
                    (offset + int(ans["answer_start"]), offset + int(ans["answer_start"]) + len(ans["text"]))
                    for ans in answers
                )
                texts = tuple(str(ans["text"]) for ans in answers)
                questions.append(EvalQuestion(str(qa["id"]), str(qa["question"]), doc_id, spans, texts))
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"{path}: article {a} paragraph {p}: malformed question ({exc})") from exc
        offset += len(contexts[p]) + len(SECTION_SEPARATOR)
    return document, questions
