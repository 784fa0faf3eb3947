from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import ConfigError, UnknownNameError
from askdocs.settings import Settings
from evals.answers import (
    PipelineFactory,
    evaluate_answers,
    ingested,
    mode_settings,
    score_answers,
    select_questions,
    sweep_min_score,
)
from evals.answers_report import write_outputs
from evals.squad import Dataset, EvalQuestion, load_dataset
from evals.squad_metrics import contains_gold, exact_match, f1, normalize_answer, prediction_text
from tests.cli.runner import run
from tests.evals.test_retrieval import squad_file
from tests.servers import FakeOpenAI, serve


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    return load_dataset(squad_file(tmp_path))


@pytest.fixture
def no_llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ASKDOCS_LLM__BASE_URL", "ASKDOCS_LLM__API_KEY"):
        monkeypatch.delenv(name, raising=False)


def make_settings(tmp_path: Path, **groups: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None, **groups)  # type: ignore[call-arg]


def test_normalisation_is_the_official_one() -> None:
    assert normalize_answer("The  Quick, brown fox!") == "quick brown fox"
    assert normalize_answer("An apple a day") == "apple day"
    assert normalize_answer("Theatre at the end") == "theatre at end"  # articles only as whole words
    assert normalize_answer("  U.S.\tArmy's ") == "us armys"


def test_exact_match_and_f1_have_the_official_values() -> None:
    assert exact_match("the Broncos!", ["Broncos"]) == 1.0
    assert exact_match("Denver", ["Denver Broncos"]) == 0.0
    # 3 shared tokens; precision 3/4, recall 3/3.
    assert f1("the cat sat on the mat", ["cat on mat"]) == pytest.approx(2 * 0.75 / 1.75)
    # Tokens are counted as a multiset: one x and one y in common.
    assert f1("x x y", ["x y y"]) == pytest.approx(2 / 3)
    # Max over the gold answers: 2/3 against the first, 1/2 against the second.
    assert f1("Denver", ["Denver Broncos", "the Broncos of Denver"]) == pytest.approx(2 / 3)
    assert exact_match("Broncos", ["Denver Broncos", "Broncos"]) == 1.0
    assert f1("Paris", ["London"]) == 0.0


def test_an_unanswerable_question_is_only_answered_by_the_empty_string() -> None:
    assert exact_match("", []) == 1.0 and f1("", []) == 1.0
    assert exact_match("Paris", []) == 0.0 and f1("Paris", []) == 0.0
    assert exact_match("", ["Paris"]) == 0.0 and f1("", ["Paris"]) == 0.0
    assert exact_match("", ["the"]) == 1.0  # a gold answer that normalises to nothing counts as none


def test_askdocs_answers_become_squad_predictions() -> None:
    assert prediction_text("Ada Morrow [1].") == "Ada Morrow."
    assert prediction_text("Built in 1842 [1][2] and lit [3].") == "Built in 1842 and lit."
    for abstention in ("I do not know.", "I do not know", "i do not know", "I DO NOT KNOW.", "I do not know [2]."):
        assert prediction_text(abstention) == ""
    assert prediction_text("I do not know the keeper's name.") != ""
    assert exact_match(prediction_text("Ada Morrow [1]."), ["Ada Morrow"]) == 1.0
    assert exact_match(prediction_text("I do not know."), []) == 1.0


def test_contains_gold_matches_whole_words_after_normalisation() -> None:
    assert contains_gold("The last keeper, Ada Morrow, left the tower in 1961.", ["ada morrow"])
    assert contains_gold("It is aged for fourteen months [1].", ["the moon", "Fourteen months"])
    assert not contains_gold("It opened in 1950.", ["5"])
    assert not contains_gold("", ["Ada Morrow"]) and not contains_gold("anything", [])


def test_scores_split_into_answerable_and_unanswerable_halves() -> None:
    questions = [
        EvalQuestion("a", "?", "d", ((0, 4),), ("1842",)),
        EvalQuestion("b", "?", "d", ((0, 4),), ("Ada Morrow",)),
        EvalQuestion("c", "?", "d", (), ()),
        EvalQuestion("d", "?", "d", (), ()),
    ]
    m = score_answers(questions, ["It was built in 1842.", "", "", "Grey."])
    assert (m.questions, m.has_ans, m.no_ans) == (4, 2, 2)
    assert (m.has_ans_exact, m.has_ans_contains_gold, m.has_ans_abstained, m.no_ans_accuracy) == (0, 0.5, 0.5, 0.5)
    assert m.has_ans_f1 == pytest.approx((1 / 3) / 2)  # "1842" among 5 tokens: P 1/5, R 1
    assert m.exact == 0.25 and m.f1 == pytest.approx((1 / 3 + 1) / 4)


def test_a_seeded_sample_keeps_the_mix_and_the_order() -> None:
    questions = [
        EvalQuestion(str(i), "?", "d", ((0, 1),) if i % 2 else (), ("x",) if i % 2 else ()) for i in range(1000)
    ]
    sample = select_questions(questions, sample=200, seed=0)
    assert sample == select_questions(questions, sample=200) != select_questions(questions, sample=200, seed=1)
    assert len(sample) == 200 and [int(q.qid) for q in sample] == sorted(int(q.qid) for q in sample)
    assert 80 <= sum(q.answerable for q in sample) <= 120
    assert select_questions(questions, sample=200, limit=10) == sample[:10]
    assert select_questions(questions[:5], sample=50) == questions[:5]


def test_extractive_answers_on_a_small_set(
    tmp_path: Path, dataset: Dataset, embedder: SentenceTransformerEmbedder
) -> None:
    [result] = evaluate_answers(
        dataset, PipelineFactory(make_settings(tmp_path), embedder), ["extractive"], dataset.questions
    )
    m = result.metrics
    assert (result.mode, m.questions, m.has_ans, m.no_ans) == ("extractive", 8, 4, 4)
    keeper = result.predictions["Lighthouse keeping-1"]
    assert "Ada Morrow" in keeper and keeper.endswith(".") and "[" not in keeper
    assert m.has_ans_contains_gold == 1.0 and m.no_ans_accuracy == 1.0
    assert result.tokens_per_question == 0 and result.degraded == 0
    assert 0 < result.latency_p50_ms <= result.latency_p95_ms


@pytest.fixture
def fake_llm() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    with serve(fake.app()) as url:
        yield fake, f"{url}/v1"


def test_prompted_answers_are_scored_with_the_servers_token_usage(
    tmp_path: Path, dataset: Dataset, embedder: SentenceTransformerEmbedder, fake_llm: tuple[FakeOpenAI, str]
) -> None:
    fake, url = fake_llm
    # In the data set's order: answerable, unanswerable, answerable, unanswerable, ...
    fake.replies = [
        "It was built in 1842 [1].",
        "I do not know.",
        "Ada Morrow [1].",
        "I do not know [2].",
        "I do not know.",  # an answerable question the model gives up on
        "i do not know",
        "About forty kilograms [1][2].",
        "The moon is grey [1].",  # an answer to an unanswerable question
    ]
    llm = {"base_url": url, "api_key": "sk-test", "model": "stand-in-model", "finetuned_model": "ft-model"}
    settings = make_settings(
        tmp_path,
        llm=llm | {"max_retries": 0, "timeout_s": 5},
        retrieval={"min_score": -1},  # every question reaches the model
    )
    factory = PipelineFactory(settings, embedder)
    prompted, finetuned = evaluate_answers(dataset, factory, ["prompted", "finetuned"], dataset.questions)

    assert len(fake.requests) == 16 and prompted.degraded == finetuned.degraded == 0
    assert (prompted.prompt_tokens, prompted.completion_tokens, prompted.tokens_per_question) == (100, 10, 110)
    assert prompted.predictions["Lighthouse keeping-0-x"] == prompted.predictions["Lighthouse keeping-1-x"] == ""
    m = prompted.metrics
    assert (m.has_ans_exact, m.has_ans_contains_gold, m.has_ans_abstained, m.no_ans_accuracy) == (0.5, 0.75, 0.25, 0.75)
    assert m.has_ans_f1 == pytest.approx((1 / 3 + 1 + 0 + 1) / 4)
    assert m.exact == 5 / 8 and m.f1 == pytest.approx((1 / 3 + 1 + 0 + 1 + 3) / 8)
    # The finetuned mode asks the fine-tuned model with its bare template; the stand-in then says it does not know.
    [message] = fake.requests[8]["messages"]
    assert fake.requests[8]["model"] == "ft-model" and message["content"].startswith("Question: ")
    assert finetuned.mode == "finetuned" and finetuned.tokens_per_question == 110
    assert (finetuned.metrics.has_ans_abstained, finetuned.metrics.no_ans_accuracy) == (1.0, 1.0)


def test_min_score_sweep_matches_the_asker_and_abstains_more_as_it_rises(
    tmp_path: Path, dataset: Dataset, embedder: SentenceTransformerEmbedder
) -> None:
    # The sweep is of min_score alone: the AnswerPipeline it is compared with has no answer check.
    factory = PipelineFactory(make_settings(tmp_path, extractive={"check": False}), embedder)
    thresholds = (-1.0, 0.15, 0.22, 0.3, 0.4, 0.5, 0.95)
    with ingested(dataset, factory) as index:
        [asked] = evaluate_answers(dataset, factory, ["extractive"], dataset.questions, index=index)
        rows = sweep_min_score(dataset, factory, dataset.questions, thresholds, index=index)
    assert [r.min_score for r in rows] == list(thresholds)
    no_ans = [r.metrics.no_ans_accuracy for r in rows]
    assert no_ans == sorted(no_ans) and no_ans[0] == 0.0 and no_ans[-1] == 1.0
    assert rows[-1].metrics.has_ans_abstained == 1.0 and rows[0].metrics.has_ans_abstained == 0.0
    assert rows[2].metrics == asked.metrics  # 0.22 is the configured threshold the AnswerPipeline used

    paths = write_outputs([asked], rows, tmp_path / "out", dataset.name, "askdocs eval answers ...")
    assert [p.name for p in paths] == [
        "answers-mini-squad.json",
        "answers-mini-squad.md",
        "answers-mini-squad.png",
        "answers-mini-squad-extractive-predictions.json",
    ]
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(paths[0].read_text())
    assert data["results"][0]["metrics"]["has_ans"] == 4 and "predictions" not in data["results"][0]
    assert len(data["sweep"]) == len(thresholds) and "| NoAns accuracy | 1.000 |" in paths[1].read_text()
    assert set(json.loads(paths[3].read_text())) == {q.qid for q in dataset.questions}


def test_llm_modes_without_an_endpoint_name_the_variables(
    tmp_path: Path, dataset: Dataset, embedder: SentenceTransformerEmbedder, no_llm_env: None
) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(ConfigError, match="ASKDOCS_LLM__BASE_URL"):
        mode_settings(settings, "finetuned")
    with pytest.raises(ConfigError, match=r"answer mode 'prompted' needs .* ASKDOCS_LLM__BASE_URL"):
        evaluate_answers(dataset, PipelineFactory(settings, embedder), ["extractive", "prompted"], dataset.questions)
    with pytest.raises(UnknownNameError, match="unknown answer mode 'llm'; available: extractive, finetuned, prompted"):
        mode_settings(settings, "llm")
    assert not mode_settings(settings, "extractive").llm.enabled


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOCS_") or k == "ASKDOCS_DATABASE__URL"}
    return base | {"ASKDOCS_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}


def test_cli_prints_the_table_and_writes_the_reports(tmp_path: Path, env: dict[str, str]) -> None:
    data = str(squad_file(tmp_path))
    refused = run(env, "eval", "answers", "--dataset", data, "--compare", "extractive,prompted")
    assert refused.returncode == 2 and "ASKDOCS_LLM__BASE_URL" in refused.stderr

    out = tmp_path / "out"
    args = ["eval", "answers", "--dataset", data, "--sample", "6", "--sweep-min-score", "--out", str(out)]
    done = run(env, *args)
    assert done.returncode == 0, done.stderr
    assert "mini-squad: 6 questions" in done.stdout and "NoAns accuracy" in done.stdout
    assert "0.50" in done.stdout  # the last sweep row
    assert (out / "answers-mini-squad.md").is_file() and (
        out / "answers-mini-squad-extractive-predictions.json"
    ).is_file()
