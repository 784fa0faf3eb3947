from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import InputError
from askdocs.qa.abstain import LogisticCheck
from askdocs.settings import Settings
from evals.abstain import choose_threshold, fit, observe, predictions, report_rows, split_articles, sweep
from evals.answers import PipelineFactory, evaluate_answers, ingested, score_answers
from evals.squad import load_dataset
from tests.cli.runner import run
from tests.evals.test_retrieval import squad_file


def test_fit_on_one_half_of_the_articles_judge_on_the_other(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    dataset = load_dataset(squad_file(tmp_path))
    fitting_ids, held_out_ids = split_articles(dataset)
    assert fitting_ids == {dataset.documents[0].doc_id} and held_out_ids == {dataset.documents[1].doc_id}
    # min_score -1: every question, "What colour is the moon?" too, gets passages and a draft to judge.
    settings = Settings(data_dir=tmp_path / "data", retrieval={"min_score": -1}, _env_file=None)  # type: ignore[call-arg]
    factory = PipelineFactory(settings, embedder)
    with ingested(dataset, factory) as index:
        observed = observe(settings, embedder, index, dataset.questions)
        [plain] = evaluate_answers(dataset, factory, ["extractive"], dataset.questions, index=index)
    # Without a check, the drafts are exactly the answers of the AnswerPipeline with the check turned off.
    assert predictions(None, observed) == [plain.predictions[q.qid] for q in dataset.questions]
    assert all(o.features is not None for o in observed)

    fitting = [o for o in observed if o.question.doc_id in fitting_ids]
    check = choose_threshold(fit(fitting), fitting, target_noans=1.0)
    fitted = score_answers([o.question for o in fitting], predictions(check, fitting))
    assert fitted.no_ans_accuracy == 1.0
    # The lowest such threshold: one step lower refuses less.
    lower = check.with_threshold(round(check.threshold - 0.005, 3))
    assert score_answers([o.question for o in fitting], predictions(lower, fitting)).no_ans_accuracy < 1.0

    held_out = [o for o in observed if o.question.doc_id in held_out_ids]
    rows = sweep(check, held_out, (0.0, 0.5, 1.0))
    assert [r.metrics.no_ans_accuracy for r in (rows[0], rows[2])] == [0.0, 1.0]
    assert rows[2].metrics.has_ans_abstained == 1.0 and rows[0].metrics.has_ans_abstained == 0.0
    report = report_rows(check, held_out)
    assert report[0][0] == "no check (min_score only)" and "(chosen)" in report[1][0]
    assert report[-1][0].startswith("top passage cosine >=")


def test_fitting_needs_both_kinds_of_questions(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    dataset = load_dataset(squad_file(tmp_path))
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    with ingested(dataset, PipelineFactory(settings, embedder)) as index:
        observed = observe(settings, embedder, index, dataset.answerable)
    with pytest.raises(InputError, match="needs both right drafts and wrong or unanswerable ones"):
        fit(observed)


def test_cli_fits_saves_and_the_asker_uses_the_saved_check(tmp_path: Path) -> None:
    data, out, saved = str(squad_file(tmp_path)), tmp_path / "out", tmp_path / "check.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOCS_") or k == "ASKDOCS_DATABASE__URL"}
    env |= {"ASKDOCS_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200", "ASKDOCS_RETRIEVAL__MIN_SCORE": "-1"}
    args = ["eval", "abstain", "--dataset", data, "--target-noans", "1", "--out", str(out), "--save", str(saved)]
    done = run(env, *args)
    assert done.returncode == 0, done.stderr
    assert "fitted on 4 questions (1 articles), scored on 4 held-out questions" in done.stdout
    check = LogisticCheck.load(saved)
    assert "even-numbered articles of mini-squad" in check.fitted_on
    report = json.loads((out / "abstain-mini-squad.json").read_text())
    assert report["check"]["threshold"] == check.threshold and report["rows"][1][0].endswith("(chosen)")

    # Refusing every answer: the held-out half then gets "I do not know" to everything.
    env |= {"ASKDOCS_EXTRACTIVE__CHECK": "true", "ASKDOCS_EXTRACTIVE__CHECK_FILE": str(saved)}
    env |= {"ASKDOCS_EXTRACTIVE__CHECK_THRESHOLD": "1"}
    args = ["eval", "answers", "--dataset", data, "--articles", "held-out", "--out", str(out)]
    done = run(env, *args)
    assert done.returncode == 0, done.stderr
    assert "4 questions (2 answerable) of held-out articles" in done.stdout, done.stdout
    result = json.loads((out / "answers-mini-squad.json").read_text())["results"][0]["metrics"]
    assert (result["no_ans_accuracy"], result["has_ans_abstained"]) == (1.0, 1.0)
    bad = run(env, "eval", "answers", "--dataset", data, "--articles", "odd")
    assert bad.returncode != 0 and "unknown --articles 'odd'; available: all, held-out" in bad.stderr
