from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import InputError
from askdocs.models import Hit
from askdocs.settings import Settings
from evals.metrics import contains, ranking_metrics
from evals.report import write_outputs
from evals.retrieval import RetrievalPlan, evaluate, evaluate_bm25, evaluate_dense, first_hit, found_in
from evals.squad import EvalQuestion, load_dataset
from tests.chunks import make_chunk

ARTICLES = {
    "Lighthouse keeping": [
        "The Brannock lighthouse was built in 1842 on a granite reef. Its lamp burned whale oil until 1870.",
        "Keepers worked in shifts of six hours. The last keeper, Ada Morrow, left the tower in 1961.",
    ],
    "Alpine cheese": [
        "Vellard cheese is aged for fourteen months in limestone caves above the village of Sorn.",
        "Each wheel weighs about forty kilograms and is turned by hand every second day.",
    ],
}
QUESTIONS = [
    ("Lighthouse keeping", 0, "When was the Brannock lighthouse built?", "1842"),
    ("Lighthouse keeping", 1, "Who was the last keeper of the tower?", "Ada Morrow"),
    ("Alpine cheese", 0, "How long is Vellard cheese aged?", "fourteen months"),
    ("Alpine cheese", 1, "How much does a wheel of the cheese weigh?", "about forty kilograms"),
]


def squad_file(tmp_path: Path) -> Path:
    data = []
    for title, paragraphs in ARTICLES.items():
        paras = []
        for p, context in enumerate(paragraphs):
            qas = [
                {"id": f"{title}-{p}", "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
                for t, pi, q, a in QUESTIONS
                if t == title and pi == p
            ]
            qas.append(
                {"id": f"{title}-{p}-x", "question": "What colour is the moon?", "answers": [], "is_impossible": True}
            )
            paras.append({"context": context, "qas": qas})
        data.append({"title": title, "paragraphs": paras})
    path = tmp_path / "mini-squad.json"
    path.write_text(json.dumps({"version": "v2.0", "data": data}))
    return path


def test_gold_spans_point_at_the_answer_in_the_article_text(tmp_path: Path) -> None:
    dataset = load_dataset(squad_file(tmp_path))
    assert len(dataset.documents) == 2 and len(dataset.questions) == 8 and len(dataset.answerable) == 4
    texts = {d.doc_id: d.sections[0].text for d in dataset.documents}
    for question in dataset.answerable:
        start, end = question.spans[0]
        assert texts[question.doc_id][start:end] == question.answers[0]


def test_metrics_have_exact_values() -> None:
    m = ranking_metrics([1, 2, None, 6])
    assert (m.recall_at_1, m.recall_at_5, m.recall_at_10) == (0.25, 0.5, 0.75)
    assert m.mrr == pytest.approx((1 + 1 / 2 + 1 / 6) / 4)
    assert m.ndcg_at_10 == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(7)) / 4)
    assert contains((10, 50), [(12, 20)]) and not contains((10, 50), [(45, 55)])


def test_a_hit_needs_the_right_document_and_the_whole_answer() -> None:
    q = EvalQuestion("q", "?", "doc-a", ((100, 110),), ("x",))
    assert first_hit(q, [("doc-b", (0, 500)), ("doc-a", (90, 120))]) == 2
    assert first_hit(q, [("doc-a", (105, 200))]) is None
    parent = Hit(make_chunk("p", doc_id="doc-a", start=0, end=20, context_start=50, context_end=150), 1.0)
    assert first_hit(q, found_in([parent])) == 1  # small-to-big is judged by the context it answers from


def test_bad_data_sets_are_refused_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"articles": []}')
    with pytest.raises(InputError, match="not in SQuAD format"):
        load_dataset(bad)
    with pytest.raises(InputError, match="cannot read data set"):
        load_dataset(tmp_path / "missing.json")


def test_dense_and_bm25_rows_on_a_small_set(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    dataset = load_dataset(squad_file(tmp_path))
    plan = RetrievalPlan(
        ["recursive"], size=32, overlap=0, top_k=3, modes=("dense", "hybrid"), dense_weights=(1, 2), bm25=True
    )
    dense, hybrid, heavy, lexical = evaluate(dataset, plan, Settings(_env_file=None), embedder, dataset.answerable)  # type: ignore[call-arg]
    assert hybrid.name == "recursive + hybrid (dense x1)" and hybrid.metrics.recall_at_1 == 1.0
    assert heavy.name == "recursive + hybrid (dense x2)" and heavy.metrics.recall_at_1 == 1.0
    assert lexical.name == "bm25 (recursive chunks)"
    assert dense.metrics.questions == 4 and dense.chunks == lexical.chunks == 4
    assert dense.metrics.recall_at_1 == 1.0 and lexical.metrics.recall_at_1 == 1.0
    paths = write_outputs([dense, lexical], tmp_path / "out", dataset.name, "askdocs eval retrieval ...")
    assert [p.suffix for p in paths] == [".json", ".md", ".png"]
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| recursive | 1.000 |" in paths[1].read_text()


def test_per_article_scopes_generic_questions_to_their_document(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    towers = {
        "North tower": "The tower was built in 1842 by the harbour board.",
        "South tower": "The tower was built in 1907 by the railway company.",
    }
    data = [
        {
            "title": t,
            "paragraphs": [
                {
                    "context": c,
                    "qas": [
                        {
                            "id": t,
                            "question": "When was the tower built?",
                            "answers": [{"text": c[21:25], "answer_start": 21}],
                        }
                    ],
                }
            ],
        }
        for t, c in towers.items()
    ]
    path = tmp_path / "towers.json"
    path.write_text(json.dumps({"data": data}))
    dataset = load_dataset(path)
    plan = RetrievalPlan(["recursive"], size=32, overlap=0, top_k=1)
    [corpus] = evaluate_dense(dataset, "recursive", embedder, plan, dataset.answerable)
    scoped_plan = replace(plan, per_article=True)
    [scoped] = evaluate_dense(dataset, "recursive", embedder, scoped_plan, dataset.answerable)
    assert corpus.metrics.recall_at_1 == 0.5  # the same question cannot find both towers
    assert scoped.metrics.recall_at_1 == 1.0
    lexical = evaluate_bm25(dataset, embedder, scoped_plan, dataset.answerable)
    assert lexical.metrics.recall_at_1 == 1.0
