"""The 10-Q set's reader (real PDFs made with fpdf2, a small qna_data.csv) and document-level scoring."""

from __future__ import annotations

import csv
import tarfile
from pathlib import Path

import pytest
from fpdf import FPDF

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import InputError
from askdocs.settings import Settings
from evals.docugami import is_docugami, load_docugami
from evals.retrieval import RetrievalPlan, evaluate, first_document_hit, first_hit, grouped
from evals.squad import Dataset, EvalQuestion

REPORTS = {
    "2023 Q1 ACME.pdf": "Acme Corp quarterly report. Net revenue for the first quarter was 17,606 million dollars.",
    "2023 Q2 ACME.pdf": "Acme Corp quarterly report. Net revenue for the second quarter was 18,201 million dollars.",
    "2023 Q1 BOLT.pdf": "Bolt Inc quarterly report. The company opened three lithium mines in Chile this quarter.",
}
ROWS = [
    ("What was Acme's net revenue in the first quarter?", "2023 Q1 ACME.pdf", "Single-Doc Single-Chunk RAG"),
    ("Where did Bolt open lithium mines?", "*BOLT*", "Single-Doc Single-Chunk RAG"),
    ("How did Acme's net revenue change across quarters?", "*ACME*", "Multi-Doc RAG"),
]


def make_set(root: Path) -> Path:
    (root / "docs").mkdir(parents=True)
    for name, text in REPORTS.items():
        pdf = FPDF()
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 8, text)
        pdf.output(str(root / "docs" / name))
    with (root / "qna_data.csv").open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Question", "Source Docs", "Question Type", "Source Chunk Type", "Answer"])
        writer.writerows([(q, docs, kind, "Text", "an answer") for q, docs, kind in ROWS])
    return root


def test_reads_the_folder_and_the_tarball_alike(tmp_path: Path) -> None:
    folder = make_set(tmp_path / "sec-10-q")
    tarball = tmp_path / "sec.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(folder, arcname="sec-10-q")
    for path in (folder, tarball):
        assert is_docugami(path)
        data = load_docugami(path)
        assert len(data.documents) == 3 and "17,606" in " ".join(d.text for d in data.documents)
        ids = {Path(d.source).name: d.doc_id for d in data.documents}
        gold = [q.gold_docs for q in data.questions]
        assert gold == [
            (ids["2023 Q1 ACME.pdf"],),
            (ids["2023 Q1 BOLT.pdf"],),
            (ids["2023 Q1 ACME.pdf"], ids["2023 Q2 ACME.pdf"]),
        ]
        assert all(q.answerable for q in data.questions)
        assert data.groups == {"single-doc": frozenset({"q001", "q002"})}


def test_bad_sets_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no qna_data\.csv"):
        load_docugami(tmp_path)
    root = make_set(tmp_path / "set")
    (root / "qna_data.csv").write_text("Question,Source Docs,Question Type\nWhat?,*NOPE*,Multi-Doc RAG\n")
    with pytest.raises(InputError, match=r"line 2: Source Docs '\*NOPE\*' matches no PDF"):
        load_docugami(root)
    (root / "qna_data.csv").write_text("Question,Answer\nWhat?,x\n")
    with pytest.raises(InputError, match="lacks column"):
        load_docugami(root)
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    with pytest.raises(InputError, match="cannot unpack"):
        load_docugami(junk)


def test_document_level_scoring_exact() -> None:
    found = [("c", (0, 5)), ("b", (0, 5)), ("a", (9, 20))]
    assert first_document_hit(("a", "b"), found) == 2
    assert first_document_hit(("z",), found) is None
    question = EvalQuestion("q1", "?", "a", (), ("x",), gold_docs=("a",))
    assert first_hit(question, found) == 3  # any chunk of the gold document, whatever its span
    questions = [
        question,
        EvalQuestion("q2", "?", "b", (), ("x",), gold_docs=("b", "c")),
        EvalQuestion("q3", "?", "z", (), (), gold_docs=("z",)),
    ]
    data = Dataset("set", [], questions, {"single-doc": frozenset({"q1", "q3"})})
    rows = dict(grouped(data, "dense", questions, [3, 1, None]))
    assert rows["dense"].recall_at_1 == pytest.approx(1 / 3) and rows["dense"].recall_at_5 == pytest.approx(2 / 3)
    assert rows["dense"].mrr == pytest.approx((1 / 3 + 1) / 3)
    single = rows["dense [single-doc]"]
    assert single.questions == 2 and single.recall_at_1 == 0.0 and single.recall_at_5 == 0.5


def test_evaluates_the_set_through_the_service(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    data = load_docugami(make_set(tmp_path / "sec-10-q"))
    plan = RetrievalPlan(chunkers=["structural"], size=200, overlap=20, top_k=3, modes=["dense", "sparse"], bm25=True)
    rows = {r.name: r for r in evaluate(data, plan, Settings(_env_file=None), embedder, data.questions)}  # type: ignore[call-arg]
    assert set(rows) == {
        "structural",
        "structural [single-doc]",
        "structural + sparse",
        "structural + sparse [single-doc]",
        "bm25 (structural chunks)",
    }
    assert rows["structural"].metrics.questions == 3 and rows["structural [single-doc]"].metrics.questions == 2
    assert rows["structural"].metrics.recall_at_1 == 1.0  # three tiny one-chunk documents: the gold ranks first
