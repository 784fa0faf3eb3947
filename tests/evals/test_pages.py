"""FinanceBench's page-level retrieval evaluation: its reader, the scoring, the index kept between runs, the command."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import InputError
from askdocs.settings import ChunkingSettings, EmbeddingSettings
from evals.financebench import PageQuestion, is_financebench, open_financebench, split_companies
from evals.index_cache import built_index, index_key
from evals.pages import page_ranks
from tests.cli.runner import clean_env, run
from tests.conftest import FIXTURES

LOADERS = FIXTURES / "loaders"
REAL = FIXTURES / "financebench"  # two real filings of FinanceBench's set, with their questions


def question(qid: str, text: str, doc: str, *pages: int, company: str = "") -> dict[str, object]:
    """A questions.jsonl row; ``pages`` 0-based, as FinanceBench numbers them."""
    evidence = [{"doc_name": doc, "evidence_page_num": p, "evidence_text": "..."} for p in pages]
    return {"financebench_id": qid, "company": company, "question": text, "doc_name": doc, "evidence": evidence}


def make_set(root: Path, rows: list[dict[str, object]]) -> Path:
    """A FinanceBench-layout folder: two PDFs written for askdocs' tests (a 2-page 10-Q, a 1-page statement)."""
    (root / "pdfs").mkdir(parents=True)
    shutil.copy(LOADERS / "sec-cover.pdf", root / "pdfs" / "NORTHWIND_2023Q1_10Q.pdf")
    shutil.copy(LOADERS / "table.pdf", root / "pdfs" / "ACME_2022_10K.pdf")
    (root / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


ROWS = [
    question("q1", "What was Northwind's gross margin in Q1 2023?", "NORTHWIND_2023Q1_10Q", 1, company="Northwind"),
    question("q2", "Why did Acme's revenue grow in 2022?", "ACME_2022_10K", 0, company="Acme"),
]


def test_pages_are_counted_from_one_and_scored_three_ways() -> None:
    gold = PageQuestion("q", "?", "Acme", "ACME_10K", (("ACME_10K", 60), ("ACME_10K", 58)))
    found = [("OTHER_10K", 60), ("ACME_10K", 12), ("ACME_10K", 61), ("ACME_10K", 58)]
    ranks = page_ranks(gold, found)
    assert (ranks.page, ranks.near, ranks.doc) == (4, 3, 2)  # any evidence page counts; +-1 on either
    assert page_ranks(gold, [("OTHER_10K", 60), ("ACME_10K", None)]) == type(ranks)(None, None, 2)
    assert page_ranks(gold, [("OTHER_10K", 59)]) == type(ranks)(None, None, None)  # the page of another filing


def test_reads_the_folder_and_the_tarball_alike(tmp_path: Path) -> None:
    folder = make_set(tmp_path / "fb", ROWS)
    tarball = tmp_path / "fb.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(folder, arcname="financebench-dev")
    for path in (folder, tarball):
        assert is_financebench(path)
        with open_financebench(path) as data:
            assert sorted(data.pdfs) == ["ACME_2022_10K", "NORTHWIND_2023Q1_10Q"]
            assert [q.pages for q in data.questions] == [
                (("NORTHWIND_2023Q1_10Q", 2),),  # evidence_page_num 1 is askdocs' page 2
                (("ACME_2022_10K", 1),),
            ]
            assert [q.company for q in data.questions] == ["Northwind", "Acme"]
    assert not is_financebench(tmp_path / "nothing.tar.gz")


def test_bad_questions_are_named_by_line(tmp_path: Path) -> None:
    root = make_set(tmp_path / "fb", ROWS)
    cases = {
        '{"question": "x"': "line 1 is not JSON",
        json.dumps({"question": "x", "doc_name": "ACME_2022_10K"}): "line 1: malformed question",
        json.dumps(question("q", "x", "NOPE_10K", 3)): "line 1: no PDF for document 'NOPE_10K'",
        json.dumps(question("q", "x", "ACME_2022_10K")): "line 1: no evidence page",
    }
    for line, message in cases.items():
        (root / "questions.jsonl").write_text(line + "\n")
        with pytest.raises(InputError, match=message), open_financebench(root):
            pass
    with (
        pytest.raises(InputError, match=r"no questions\.jsonl beside a pdfs/ folder"),
        open_financebench(tmp_path / "fb/pdfs"),
    ):
        pass


def test_a_split_by_company_keeps_every_question_of_a_company_together() -> None:
    questions = [PageQuestion(f"q{i}", "?", company, "D", (("D", 1),)) for i, company in enumerate("AABBCCD")]
    train, test = split_companies(questions, "train", 3), split_companies(questions, "test", 3)
    assert sorted(q.qid for q in train + test) == [q.qid for q in questions]
    assert not {q.company for q in train} & {q.company for q in test}
    assert len({q.company for q in train}) == 2 and split_companies(questions, "all") == questions
    with pytest.raises(InputError, match="unknown split 'half'"):
        split_companies(questions, "half")


def test_the_index_is_built_once_and_reused(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    root = make_set(tmp_path / "fb", ROWS)
    with open_financebench(root) as data:
        chunking, embedding = ChunkingSettings(), EmbeddingSettings()
        key = index_key(data.fingerprint(), chunking, embedding, embedder)
        first = built_index(data.name, data.pdfs, key, chunking, embedder, tmp_path / "cache")
        again = built_index(data.name, data.pdfs, key, chunking, embedder, tmp_path / "cache")
    assert not first.reused and again.reused and again.chunks == first.chunks > 0
    assert again.names == first.names and set(first.names.values()) == set(data.pdfs)
    assert (
        again.titles["NORTHWIND_2023Q1_10Q"] == "Northwind Labs, Inc. Form 10-Q, quarterly period ended March 31, 2023"
    )
    smaller = ChunkingSettings(chunk_size=100)
    assert index_key(data.fingerprint(), smaller, embedding, embedder) != key  # other chunks: another index
    (root / "pdfs" / "ACME_2022_10K.pdf").write_bytes((LOADERS / "sec-cover.pdf").read_bytes())
    assert index_key(data.fingerprint(), chunking, embedding, embedder) != key  # other PDFs: another index


def test_eval_retrieval_scores_pages_and_reuses_its_index(tmp_path: Path) -> None:
    root = make_set(tmp_path / "fb", ROWS)
    env = clean_env(ASKDOCS_DATA_DIR=str(tmp_path / "data"))
    args = ["eval", "retrieval", "--dataset", str(root), "--chunker", "structural", "--retrieval", "dense,hybrid"]
    args += ["--index-cache", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    first = run(env, *args)
    assert first.returncode == 0, first.stderr
    assert "built in" in first.stdout and "2 filings" in first.stdout
    report = json.loads((tmp_path / "out" / "retrieval-fb.json").read_text())
    rows = {r["name"]: r["metrics"] for r in report["results"]}
    assert set(rows) == {f"structural{how} [{s}]" for how in ("", " + hybrid") for s in ("page", "page +-1", "doc")}
    assert rows["structural [page]"]["questions"] == 2 and rows["structural [doc]"]["recall_at_10"] == 1.0
    assert report["per_question"]["ranks"]["structural"]["q1"][0] is not None
    second = run(env, *args, "--split", "test", "--split-seed", "1")
    assert second.returncode == 0, second.stderr
    assert "reused" in second.stdout and "fb-test-seed1: 1 questions" in second.stdout
    assert "structural + hybrid: page recall@10 " in second.stdout


@pytest.mark.slow
def test_real_filings_find_their_evidence_pages(tmp_path: Path) -> None:
    """Two real filings (Ulta Beauty's FY2023 earnings release, Amcor's 8-K of 2022-07-01) and FinanceBench's
    five questions on them, through the command as a user runs it."""
    env = clean_env(ASKDOCS_DATA_DIR=str(tmp_path / "data"))
    args = ["eval", "retrieval", "--dataset", str(REAL), "--chunker", "structural", "--retrieval", "hybrid"]
    done = run(env, *args, "--index-cache", str(tmp_path / "cache"), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    rows = {
        r["name"]: r["metrics"]
        for r in json.loads((tmp_path / "out" / "retrieval-financebench.json").read_text())["results"]
    }
    assert rows["structural + hybrid [doc]"]["recall_at_1"] == 1.0  # two companies: the right filing comes first
    assert rows["structural + hybrid [page]"]["recall_at_1"] >= 0.8  # 4 of the 5 evidence pages come first
