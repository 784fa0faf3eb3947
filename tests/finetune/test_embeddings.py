"""Fine-tuning the embedding model for real (a few dozen handbook pairs, one epoch), and the pairs it learns from."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from askdocs.embedding import FINETUNE_MANIFEST, SentenceTransformerEmbedder, default_model_path
from askdocs.errors import ConfigError, InputError
from askdocs.store.interactions import Feedback, Interaction, Logged
from cli.main import app as cli
from finetune.embeddings import MIN_PAIRS, Pair, TrainPlan, train_embeddings, unique_pairs
from finetune.source import pairs_from_log, passages_of
from tests.conftest import handbook_pairs


def test_the_finetuned_folder_loads_as_the_embedding_model_and_moved_towards_the_pairs(
    finetuned_model: Path,
    embedder: SentenceTransformerEmbedder,
    handbook_dir: Path,
    handbook_questions: list[dict[str, Any]],
) -> None:
    manifest = json.loads((finetuned_model / FINETUNE_MANIFEST).read_text())
    pairs = handbook_pairs(handbook_dir, handbook_questions)
    assert manifest["pairs"] == len(pairs) >= 25 and manifest["steps"] >= 1 and manifest["epochs"] == 1
    tuned = SentenceTransformerEmbedder(finetuned_model)  # as ASKDOCS_EMBEDDING__MODEL_PATH loads it
    assert tuned.model_id == manifest["model_id"] != embedder.model_id
    assert tuned.dimension == embedder.dimension
    questions = [p.question for p in pairs]
    passages = [p.passage for p in pairs]
    before = np.einsum("ij,ij->i", embedder.embed_queries(questions), embedder.embed_documents(passages))
    after = np.einsum("ij,ij->i", tuned.embed_queries(questions), tuned.embed_documents(passages))
    vectors = tuned.embed_documents(passages)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    # trained on these very pairs: each question moved closer to its own passage, on average
    assert after.mean() > before.mean()


def test_too_few_pairs_a_used_folder_and_a_bad_base_are_clear_errors(tmp_path: Path) -> None:
    few = [Pair(f"question {i}", f"passage {i}") for i in range(MIN_PAIRS - 1)]
    with pytest.raises(InputError, match=f"only {MIN_PAIRS - 1} usable .* at least {MIN_PAIRS}"):
        train_embeddings(default_model_path(), [*few, few[0], Pair(" ", "blank")], tmp_path / "out", TrainPlan())
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("x")
    enough = [Pair(f"question {i}", f"passage {i}") for i in range(MIN_PAIRS)]
    with pytest.raises(InputError, match="exists and is not empty"):
        train_embeddings(default_model_path(), enough, used, TrainPlan())
    with pytest.raises(ConfigError, match="not a sentence-transformers model folder"):
        train_embeddings(tmp_path, enough, tmp_path / "new", TrainPlan())
    with pytest.raises(InputError, match="batch size must be at least 2"):
        TrainPlan(batch_size=1)


def test_duplicates_and_blanks_are_dropped() -> None:
    pairs = [Pair("q", "p"), Pair(" q ", "p"), Pair("q", "other"), Pair("", "p")]
    kept, removed = unique_pairs(pairs)
    assert kept == [Pair("q", "p"), Pair("q", "other")] and removed == 2


CONTEXT = "[1] Leave — Vacation\nYou get 25 days of vacation.\n\n[2] Expenses\nReceipts within 30 days.\n[3] x\n\n"


def logged(answer: str, rating: str | None, question: str | None = "How many vacation days?", **kw: Any) -> Logged:
    interaction = Interaction(
        "i", 0.0, "api", None, question, "h", question, [], "hybrid", [], CONTEXT, "", answer, False, "prompted",
        "m", 0, 0, {}, False, None,
    )  # fmt: skip
    return Logged(interaction, Feedback("i", rating, **kw) if rating else None)  # type: ignore[arg-type]


def test_log_pairs_are_the_passages_a_helpful_answer_cites() -> None:
    assert passages_of(CONTEXT) == {
        1: "Leave — Vacation\nYou get 25 days of vacation.",
        2: "Expenses\nReceipts within 30 days.",
        3: "x",
    }
    found = pairs_from_log(
        [
            logged("You get 25 days [1].", "helpful"),
            logged("Within 30 days [2][1].", "helpful", question="Receipts?"),
            logged("25 days.", "helpful", question="Days off?"),  # no marker: its first passage
            logged("Wrong [2].", "not_helpful"),  # not helpful, not corrected: nothing
            logged("Wrong.", "not_helpful", question="Fixed?", corrected_answer="Receipts: 30 days [2]."),
            logged("Redacted [1].", "helpful", question=None),
            logged("Unrated [1].", None),
        ]
    )
    assert [(p.question, p.passage[:8]) for p in found.pairs] == [
        ("How many vacation days?", "Leave — "),
        ("Receipts?", "Expenses"),
        ("Receipts?", "Leave — "),
        ("Days off?", "Leave — "),
        ("Fixed?", "Expenses"),
    ]
    assert found.helpful == 5 and found.without_passage == 1


def test_without_the_train_extra_the_error_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """``datasets`` and ``accelerate`` are the optional ``train`` extra; a None in sys.modules is how Python marks
    a module that cannot be imported."""
    monkeypatch.setitem(sys.modules, "datasets", None)
    pairs = [Pair(f"question {i}", f"passage {i}") for i in range(MIN_PAIRS)]
    with pytest.raises(
        ConfigError, match=r"needs the 'train' extra \(datasets not installed\): pip install 'askdocs\[train\]'"
    ):
        train_embeddings(default_model_path(), pairs, tmp_path / "out", TrainPlan(progress=False))
    assert not (tmp_path / "out").exists()
    monkeypatch.setenv("ASKDOCS_DATA_DIR", str(settings.data_dir))
    said = CliRunner().invoke(cli, ["finetune", "embeddings", "--from-log", "--out", str(tmp_path / "out")])
    assert said.exit_code == 2 and "pip install 'askdocs[train]'" in said.output
