"""The sample handbook through the service's own path: is the right source found, and does the answer check refuse?

    .venv/bin/python -m evals.handbook [--chunker structural,recursive,small-to-big] [--out docs/eval/handbook.json]

For each chunker, ``askdocs ingest examples/handbook`` (the real command, in a subprocess) fills a fresh embedded
index; then every question of ``evals/handbook_questions.json`` goes through ``AnswerPipeline.retrieve()`` (what
``/ask`` runs: sanitising, search, context selection) with dense retrieval and with hybrid retrieval fused by DBSF
and by RRF. A question counts as **first** when the first selected passage comes from its source file (and page,
for the PDF), and **found** when any selected passage does (the sources ``/ask`` returns, ``ASKDOCS_RETRIEVAL__TOP_K``
of them at most).

Then, for the default chunker and retrieval, every question is answered in extractive mode by ``AnswerPipeline.ask()``
with the answer check off and on (``ASKDOCS_EXTRACTIVE__CHECK``, shipped weights and threshold unless the
``ASKDOCS_EXTRACTIVE__*`` variables say otherwise): how many answers are "I do not know." and how many hold the
expected text. Every ``ASKDOCS_*`` variable set applies (except the data directory) and is recorded in the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from askdocs.components import make_embedder, make_pipeline, open_checked_index
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.models import Hit
from askdocs.settings import Settings, load_settings
from evals.provenance import environment_line, settings_in_force

ROOT = Path(__file__).resolve().parent.parent
HANDBOOK = ROOT / "examples" / "handbook"
QUESTIONS = Path(__file__).with_name("handbook_questions.json")
ASKDOCS = str(Path(sys.executable).parent / "askdocs")
RETRIEVALS = [("dense", "dbsf"), ("hybrid", "dbsf"), ("hybrid", "rrf")]


def load_questions() -> list[dict[str, Any]]:
    """The handbook's questions: each with its source file (and page), and a text its answer holds."""
    questions: list[dict[str, Any]] = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    return questions


def ingest(chunker: str, data_dir: Path) -> None:
    """The real ``askdocs ingest``, with the chosen chunker, into its own data directory."""
    env = os.environ | {"ASKDOCS_DATA_DIR": str(data_dir), "ASKDOCS_CHUNKING__CHUNKER": chunker}
    done = subprocess.run([ASKDOCS, "ingest", str(HANDBOOK)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"askdocs ingest failed for {chunker}:\n{done.stdout}\n{done.stderr}")


def configured(base: Settings, data_dir: Path, retrieval: str, fusion: str, check: bool | None = None) -> Settings:
    updates: dict[str, Any] = {"mode": retrieval, "fusion": fusion}
    extractive = base.extractive if check is None else base.extractive.model_copy(update={"check": check})
    return base.model_copy(
        update={"data_dir": data_dir, "retrieval": base.retrieval.model_copy(update=updates), "extractive": extractive}
    )


def right_source(hit: Hit, question: dict[str, Any]) -> bool:
    chunk = hit.chunk
    return Path(chunk.source).name == question["source"] and question["page"] in (None, chunk.page)


def retrieval_row(
    settings: Settings, embedder: SentenceTransformerEmbedder, questions: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    index = open_checked_index(settings, embedder)
    try:
        pipeline = make_pipeline(settings, embedder, index)
        first = found = 0
        missed: list[str] = []
        for q in questions:
            contexts = pipeline.retrieve(q["question"]).contexts
            first += bool(contexts) and right_source(contexts[0], q)
            hit = any(right_source(h, q) for h in contexts)
            found += hit
            if not hit:
                missed.append(q["question"])
        return {"first": first, "found": found, "questions": len(questions), "not_found": missed}
    finally:
        index.close()


def answers_row(
    settings: Settings, embedder: SentenceTransformerEmbedder, questions: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    index = open_checked_index(settings, embedder)
    try:
        pipeline = make_pipeline(settings, embedder, index)
        refused, holds = [], 0
        for q in questions:
            answer = pipeline.ask(q["question"]).answer
            if answer.idk:
                refused.append(q["question"])
            holds += q["answer_contains"].lower() in answer.text.lower()
        return {
            "refused": len(refused),
            "answer_contains": holds,
            "questions": len(questions),
            "refused_questions": refused,
        }
    finally:
        index.close()


def evaluate_chunker(
    chunker: str, data_dir: Path, base: Settings, embedder: SentenceTransformerEmbedder, questions: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One chunker's retrieval rows, and (for the configured chunker) the answer check off and on."""
    ingest(chunker, data_dir)
    rows, checks = [], {}
    for retrieval, fusion in RETRIEVALS:
        row = retrieval_row(configured(base, data_dir, retrieval, fusion), embedder, questions)
        rows.append({"chunker": chunker, "retrieval": retrieval, "fusion": fusion, **row})
        name = f"{retrieval} ({fusion})" if retrieval == "hybrid" else retrieval
        print(f"{chunker:14s} {name:15s} first {row['first']:2d} / {len(questions)}   found {row['found']:2d}")
    if chunker == base.chunking.chunker:
        for check, label in ((False, "off"), (True, "on")):
            settings = configured(base, data_dir, base.retrieval.mode, base.retrieval.fusion, check=check)
            checks[label] = answers_row(settings, embedder, questions)
            print(f"answer check {label:3s}: {checks[label]['refused']} of {len(questions)} answered 'I do not know.'")
    return rows, checks


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--chunker", default="structural,recursive,small-to-big", help="comma-separated chunkers")
    parser.add_argument("--out", type=Path, help="write the results and the settings in force here (JSON)")
    args = parser.parse_args(argv)
    base = load_settings()
    record = settings_in_force(base)  # now: the commit measured is the one imported, whatever happens meanwhile
    questions: list[dict[str, Any]] = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    embedder = make_embedder(base)
    rows: list[dict[str, Any]] = []
    checks: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for chunker in [c.strip() for c in args.chunker.split(",") if c.strip()]:
            chunker_rows, chunker_checks = evaluate_chunker(chunker, Path(tmp) / chunker, base, embedder, questions)
            rows += chunker_rows
            checks |= chunker_checks
    print(environment_line(record))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        command = "python -m evals.handbook " + " ".join(sys.argv[1:] if argv is None else argv)
        body = {"command": command, "settings_in_force": record, "retrieval": rows, "answer_check": checks}
        args.out.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
