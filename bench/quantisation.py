"""What scalar int8 quantisation costs retrieval: recall@1/5/10 and MRR on SQuAD 2.0 dev and PolicyQA dev, dense and
hybrid, with the real embedding model, on a real Qdrant server (the pinned v1.16.3 binary of tests/qdrant.py).

    .venv/bin/python -m bench.quantisation [--limit N] [--out docs/bench/quantisation.json]

`askdocs eval retrieval` measures on a throwaway embedded index, which has no quantisation; this reuses its parts
(``evals.retrieval``: the service's own ``AnswerPipeline.retrieve``, the hit rule, the metrics) over a server
collection made by askdocs' server adapter. Each data set is ingested once (structural chunks, 200 tokens, overlap
40: the defaults; PolicyQA searched within the question's policy, as docs/EVAL.md does), then asked four times:

1. float32, Qdrant's defaults: a collection this small (under 10,000 KB of vectors) is searched exhaustively;
2. float32 with the HNSW graph built (``indexing_threshold`` 1 KB), as a collection of 100,000 chunks is searched;
3. int8 in RAM, originals on disk (the change docs/DEPLOY.md gives), Qdrant's default search: the graph walks the
   int8 vectors and the candidates are rescored with the originals;
4. the same without rescoring: what int8 alone does to the ranking (askdocs never asks for this; it shows how much
   the rescoring in 3 repairs).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from askdocs.components import make_embedder, make_pipeline
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.server import ServerIndex
from askdocs.models import Hit, RetrievalMode
from askdocs.settings import ChunkingSettings, LLMSettings, Settings, load_settings
from bench.qdrant_ops import index_from, load_average, physical, quantise_int8, wait_optimised
from evals.provenance import settings_in_force
from evals.retrieval import RetrievalPlan, _ranks, grouped
from evals.squad import Dataset, EvalQuestion, load_dataset
from ingest.pipeline import Ingestor
from tests.qdrant import VERSION, qdrant_binary, start_node

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
DATASETS = ((EVAL / "squad2-dev.json", False), (EVAL / "policyqa-dev.json", True))  # (path, per article)
MODES: tuple[RetrievalMode, ...] = ("dense", "hybrid")


class CachedQueries:
    """The real embedder, with every question embedded once up front in batches (four configurations ask the same
    questions: the vectors are identical, the time is not worth spending four times)."""

    def __init__(self, model: SentenceTransformerEmbedder, questions: Sequence[str]) -> None:
        self._model = model
        self._cache = dict(zip(questions, model.embed_queries(list(questions)), strict=True))
        self.name, self.model_id, self.dimension = model.name, model.model_id, model.dimension
        self.max_tokens = model.max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._model.count_tokens(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._cache[text] if text in self._cache else self._model.embed_query(text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.embed_query(t) for t in texts])


class WithoutRescoring(ServerIndex):
    """The server adapter asking Qdrant to rank by the int8 vectors alone (row 4; askdocs itself never does)."""

    def _query(self, vector: np.ndarray, requests: list[models.QueryRequest]) -> list[list[Hit]]:
        params = models.SearchParams(quantization=models.QuantizationSearchParams(rescore=False))
        return super()._query(vector, [r.model_copy(update={"params": params}) for r in requests])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, help="only the first N answerable questions of each set (a quick run)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = load_settings()
    report: dict[str, Any] = {
        "command": "python -m bench.quantisation " + " ".join(sys.argv[1:]),
        "qdrant": VERSION,
        "load_average_at_start": load_average(),
        "settings_in_force": settings_in_force(settings),
        "datasets": {},
    }
    model = make_embedder(settings)
    with tempfile.TemporaryDirectory(prefix="askdocs-quantisation-") as tmp:
        node = start_node(qdrant_binary(), Path(tmp))
        try:
            client = QdrantClient(url=node.url, timeout=120, check_compatibility=False)
            for path, per_article in DATASETS:
                data = load_dataset(path)
                questions = data.answerable[: args.limit] if args.limit else data.answerable
                measured = measure(client, data, questions, per_article, model, settings)
                report["datasets"][data.name] = measured
                print(json.dumps({data.name: measured["rows"]}, indent=1), flush=True)
        finally:
            node.stop()
    report["load_average_at_end"] = load_average()
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


def measure(
    client: QdrantClient,
    data: Dataset,
    questions: list[EvalQuestion],
    per_article: bool,
    model: SentenceTransformerEmbedder,
    settings: Settings,
) -> dict[str, Any]:
    chunking = ChunkingSettings()
    base = settings.model_copy(update={"chunking": chunking, "llm": LLMSettings()})  # no LLM: no query rewriting
    embedder = CachedQueries(model, [q.question for q in questions])
    r = base.retrieval
    index = ServerIndex(client, f"eval-{data.name}", fusion=r.fusion, dense_weight=r.dense_weight)
    ingestor = Ingestor(embedder, index, chunking)
    for document in data.documents:
        ingestor.ingest_document(document)
    name = physical(client, f"eval-{data.name}")
    plan = RetrievalPlan([chunking.chunker], chunking.chunk_size, chunking.chunk_overlap, per_article=per_article)
    rows: list[dict[str, Any]] = []
    collections: dict[str, Any] = {}

    def ask(config: str, searched: ServerIndex) -> None:
        collections[config] = wait_optimised(client, name)
        pipeline = make_pipeline(base, embedder, searched)
        for mode in MODES:
            ranks, p50 = _ranks(pipeline, plan, mode, questions, lambda n: None)
            for label, metrics in grouped(data, f"{config} {mode}", questions, ranks):
                rows.append({"row": label, "query_p50_ms": round(p50, 1), **dataclasses.asdict(metrics)})

    ask("float32 exhaustive", index)
    index_from(client, name, 1)
    ask("float32 hnsw", index)
    quantise_int8(client, name)
    ask("int8 rescored", index)
    ask(
        "int8 not rescored", WithoutRescoring(client, f"eval-{data.name}", fusion=r.fusion, dense_weight=r.dense_weight)
    )
    return {
        "questions": len(questions),
        "documents": len(data.documents),
        "chunks": index.count(),
        "per_article": per_article,
        "collection": collections,
        "load_average": load_average(),
        "rows": rows,
    }


if __name__ == "__main__":
    main()
