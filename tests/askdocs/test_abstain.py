from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from askdocs.components import make_check
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import ConfigError
from askdocs.models import I_DO_NOT_KNOW, Hit
from askdocs.qa.abstain import FEATURES, Evidence, LogisticCheck, features
from askdocs.qa.extractive import ExtractiveGenerator
from askdocs.qa.generate import Query
from askdocs.settings import Settings
from tests.chunks import make_chunk

LEAVE = "Annual leave. Every employee gets 25 vacation days per calendar year. Unused days expire in March."
PARKING = "Parking. The garage under building B opens at 6 am; badges work at both gates."


def hit(text: str, relevance: float) -> Hit:
    return Hit(make_chunk(text[:8], text=text), relevance)


def check(threshold: float, weights: tuple[float, ...] | None = None) -> LogisticCheck:
    n = len(FEATURES)
    return LogisticCheck((0.0,) * n, (1.0,) * n, weights or (0.0,) * n, 0.0, threshold)


def test_features_measure_closeness_and_the_question_words_the_passage_holds() -> None:
    evidence = Evidence(
        "How many vacation days does Acme give in Berlin?",
        [hit(LEAVE, 0.61), hit(PARKING, 0.12)],
        ["Every employee gets 25 vacation days per calendar year.", "Unused days expire in March."],
        np.array([0.72, 0.31]),
    )
    x = dict(zip(FEATURES, features(evidence), strict=True))
    assert (x["top_relevance"], x["best_sentence"], x["second_sentence"]) == (0.61, 0.72, 0.31)
    assert (x["second_relevance"], x["passages"]) == (0.12, 2)
    # Content words: many, vacation, days, acme, give, berlin; the passage holds vacation and days.
    assert x["words_in_passage"] == pytest.approx(2 / 6) and x["words_missing"] == 4
    assert x["words_in_sentence"] == pytest.approx(2 / 6)
    # Names past the first word: Acme and Berlin, neither in the passage.
    assert (x["names_in_passage"], x["names_missing"]) == (0.0, 2)


def test_no_sentences_and_no_names_are_not_errors() -> None:
    x = features(Evidence("what is it", [hit(PARKING, 0.3)], [], np.zeros(0)))
    assert x.shape == (len(FEATURES),) and x[1] == x[2] == 0.0
    assert x[FEATURES.index("names_in_passage")] == 1.0  # nothing to look for is nothing missing


def test_a_check_is_validated_and_answers_by_its_threshold() -> None:
    n = len(FEATURES)
    with pytest.raises(ValueError, match="must each have"):
        LogisticCheck((0.0,), (1.0,) * n, (0.0,) * n, 0.0, 0.5)
    with pytest.raises(ValueError, match=r"threshold must be within \[0, 1\], got 1.5"):
        check(1.5)
    with pytest.raises(ValueError, match="fitted on features"):
        LogisticCheck((0.0,) * n, (1.0,) * n, (0.0,) * n, 0.0, 0.5, features=("top_relevance",) * n)
    leaning_on_relevance = check(0.5, (4.0,) + (0.0,) * (n - 1))
    close = Evidence("q", [hit(LEAVE, 0.6)], ["s"], np.array([0.5]))
    far = Evidence("q", [hit(LEAVE, -0.6)], ["s"], np.array([0.5]))
    assert leaning_on_relevance.should_answer(close) and not leaning_on_relevance.should_answer(far)
    assert float(leaning_on_relevance.probability(np.zeros(n))) == 0.5  # sigmoid(0)


def test_a_saved_check_loads_and_a_broken_file_is_named(tmp_path: Path) -> None:
    saved = tmp_path / "check.json"
    check(0.4, tuple(float(i) for i in range(len(FEATURES)))).save(saved)
    assert LogisticCheck.load(saved) == check(0.4, tuple(float(i) for i in range(len(FEATURES))))
    shipped = LogisticCheck.load()
    assert shipped.features == FEATURES and 0 < shipped.threshold < 1 and "squad2-dev" in shipped.fitted_on
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"mean": [0.0]}))
    with pytest.raises(ConfigError, match=r"cannot load the answer check .*broken.json"):
        LogisticCheck.load(broken)
    with pytest.raises(ConfigError, match=r"missing\.json"):
        LogisticCheck.load(tmp_path / "missing.json")


def test_the_extractive_answer_gives_way_to_i_do_not_know_when_the_check_says_so(
    embedder: SentenceTransformerEmbedder,
) -> None:
    text = "How many vacation days do I get?"
    query = Query(text, embedder.embed_query(text))
    contexts = [hit(LEAVE, 0.6), hit(PARKING, 0.1)]
    unchecked = ExtractiveGenerator(embedder).generate(query, contexts)
    assert "25 vacation days" in unchecked.text and "[1]" in unchecked.text
    assert ExtractiveGenerator(embedder, check=check(0.0)).generate(query, contexts) == unchecked
    assert ExtractiveGenerator(embedder, check=check(1.0)).generate(query, contexts).text == I_DO_NOT_KNOW
    draft, evidence = ExtractiveGenerator(embedder).draft(query, contexts)
    assert draft == unchecked and evidence.sentences[int(np.argmax(evidence.cosines))] in unchecked.text
    # The shipped check trusts this one: the passage is close and holds the question's words.
    assert ExtractiveGenerator(embedder, check=LogisticCheck.load()).generate(query, contexts) == unchecked


def test_the_check_is_off_unless_asked_for_and_its_threshold_can_be_set(tmp_path: Path) -> None:
    def settings(**extractive: object) -> Settings:
        return Settings(data_dir=tmp_path, extractive=extractive, _env_file=None)  # type: ignore[call-arg]

    assert make_check(settings()) is None
    assert make_check(settings(check=True)) == LogisticCheck.load()
    tuned = make_check(settings(check=True, check_threshold=0.7))
    assert tuned is not None and tuned.threshold == 0.7 and tuned.weights == LogisticCheck.load().weights
    with pytest.raises(ConfigError, match=r"nowhere\.json"):
        make_check(settings(check=True, check_file=str(tmp_path / "nowhere.json")))
