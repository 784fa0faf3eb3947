"""Extractive answers before/after stored sentence vectors (issue 26 item 2): one ingest per data set, then the
same seeded question samples as ``askdocs eval answers --sample N`` (same selection, same scoring), with the
``generate`` timing of every answer and how many texts the embedder was asked to embed after ingest.

    cd <checkout> && PYTHONPATH=. python -m bench.extractive --sample 500 --out result.json --tmp EMPTY_DIR

For the code before this script existed: copy it out of bench/ (its folder must not be first on sys.path: bench/
has an ``ingest`` module) and run it from that checkout, ``PYTHONPATH=. python /tmp/extractive.py ...``. The
samples, seeds and settings are the same either way.
``--ingest-rounds N`` instead times the ingest of each set N times each way in one process, alternating: with the
candidates' vectors, and without (the embedder hidden behind one that only has ``embed_documents``, which is
how this version ingests for an embedder without token offsets: the chunk vectors alone, as before).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from askdocs.components import make_embedder, make_pipeline
from askdocs.index.edge import EdgeIndex
from askdocs.qa.candidates import candidates
from askdocs.settings import Settings
from evals.abstain import split_articles
from evals.answers import mode_settings, score_answers, select_questions
from evals.squad import load_dataset
from evals.squad_metrics import prediction_text
from ingest.pipeline import Ingestor


class Counting:
    """The real embedder, counting the texts it is asked to embed with ``embed_documents``."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls = 0
        self.texts = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        return self._inner.embed_documents(texts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def run(
    settings: Settings, embedder: Counting, dataset: Path, sample: int, held_out: bool, tmp: Path, only: str = ""
) -> dict:
    data = load_dataset(dataset)
    index = EdgeIndex(tmp / data.name)
    started = time.perf_counter()
    ingestor = Ingestor(embedder, index, settings.chunking)
    for document in data.documents:
        ingestor.ingest_document(document)
    ingest_s = time.perf_counter() - started
    out: dict[str, Any] = {"dataset": data.name, "ingest_s": round(ingest_s, 2), "chunks": index.count()}
    runs = [("extractive", data.questions, False)]
    if held_out:
        held = split_articles(data)[1]
        runs.append(("check held-out", [q for q in data.questions if q.doc_id in held], True))
    if only:
        runs = [r for r in runs if r[0] == only]
    for label, pool, check in runs:
        questions = select_questions(pool, sample=sample, seed=0)
        s = mode_settings(settings, "extractive")
        s = s.model_copy(update={"extractive": s.extractive.model_copy(update={"check": check})})
        pipeline = make_pipeline(s, embedder, index)
        embedder.calls = embedder.texts = 0
        predictions, generate, seen = [], [], 0
        for q in questions:
            result = pipeline.ask(q.question)
            seen += sum(len(candidates(h.answer_text)) for h in result.retrieved.contexts[:3])
            predictions.append(prediction_text(result.answer.text))
            generate.append(result.answer.timings_ms.generate)
        metrics = score_answers(questions, predictions)
        out[label] = {
            "questions": len(questions),
            "metrics": {k: round(v, 4) if isinstance(v, float) else v for k, v in vars_of(metrics).items()},
            "generate_p50_ms": round(statistics.median(generate), 2),
            "generate_p95_ms": round(float(np.percentile(generate, 95)), 2),
            "embed_documents_calls": embedder.calls,
            "texts_embedded": embedder.texts,
            "candidates": seen,
            "predictions": {q.qid: p for q, p in zip(questions, predictions, strict=True)},
        }
    index.close()
    return out


class Plain:
    """The real embedder without ``embed_documents_and_spans``: ingest stores chunk vectors only."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "embed_documents_and_spans":
            raise AttributeError(name)
        return getattr(self._inner, name)


def time_ingest(settings: Settings, embedder: Any, dataset: Path, rounds: int, tmp: Path) -> dict[str, list[float]]:
    """Wall and CPU seconds (this process, all its threads) to ingest the set, ``rounds`` times each way,
    alternating (the same load for both); CPU seconds are the steadier figure on a shared machine."""
    data = load_dataset(dataset)
    seconds: dict[str, list[float]] = {}
    for r in range(rounds):
        for label, how in (("chunk vectors only", Plain(embedder)), ("with candidates' vectors", embedder)):
            index = EdgeIndex(tmp / f"{data.name}-{r}-{label[:4]}")
            started, cpu = time.perf_counter(), time.process_time()
            ingestor = Ingestor(how, index, settings.chunking)
            for document in data.documents:
                ingestor.ingest_document(document)
            seconds.setdefault(f"{label}: wall s", []).append(round(time.perf_counter() - started, 2))
            seconds.setdefault(f"{label}: cpu s", []).append(round(time.process_time() - cpu, 2))
            index.close()
    return seconds


def vars_of(metrics: Any) -> dict[str, Any]:
    return {name: getattr(metrics, name) for name in metrics.__dataclass_fields__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tmp", type=Path, required=True, help="an empty folder for the throwaway indexes")
    parser.add_argument("--data", type=Path, default=Path("../shared/eval"), help="squad2-dev.json, policyqa-dev.json")
    parser.add_argument("--sets", default="squad,policyqa")
    parser.add_argument("--only", default="", help="only this run: 'extractive' or 'check held-out'")
    parser.add_argument("--ingest-rounds", type=int, default=0, help="time ingest both ways instead (see above)")
    args = parser.parse_args()
    settings = Settings()
    if args.ingest_rounds:
        timed, model = {}, make_embedder(settings)
        for name in args.sets.split(","):
            path = args.data / ("squad2-dev.json" if name == "squad" else "policyqa-dev.json")
            timed[name] = time_ingest(settings, model, path, args.ingest_rounds, args.tmp)
            print(name, timed[name], flush=True)
        args.out.write_text(json.dumps(timed, indent=1))
        return
    embedder = Counting(make_embedder(settings))
    results = []
    for name in args.sets.split(","):
        path = args.data / ("squad2-dev.json" if name == "squad" else "policyqa-dev.json")
        results.append(run(settings, embedder, path, args.sample, name == "squad", args.tmp, args.only))
        args.out.write_text(json.dumps(results, indent=1))
    for r in results:
        print(r["dataset"], "ingest", r["ingest_s"], "s", r["chunks"], "chunks")
        for label in ("extractive", "check held-out"):
            if label in r:
                x = r[label]
                print(
                    " ",
                    label,
                    x["metrics"],
                    "generate p50",
                    x["generate_p50_ms"],
                    "texts",
                    x["texts_embedded"],
                    "of",
                    x["candidates"],
                )


if __name__ == "__main__":
    main()
