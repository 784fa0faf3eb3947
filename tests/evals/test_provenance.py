"""Evaluation artifacts record the ASKDOCS_* settings in force, not only the command line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from evals.provenance import MASK, askdocs_environment, environment_line, settings_in_force
from tests.cli.runner import run
from tests.evals.test_retrieval import squad_file


def test_the_environment_is_recorded_with_secrets_masked() -> None:
    environ = {
        "ASKDOCS_RETRIEVAL__FUSION": "rrf",
        "ASKDOCS_LLM__API_KEY": "sk-real",
        "ASKDOCS_ADMIN_TOKEN": "hunter2",
        "ASKDOCS_LLM__BASE_URL": "",
        "HOME": "/root",
    }
    assert askdocs_environment(environ) == {
        "ASKDOCS_ADMIN_TOKEN": MASK,
        "ASKDOCS_LLM__API_KEY": MASK,
        "ASKDOCS_LLM__BASE_URL": "",
        "ASKDOCS_RETRIEVAL__FUSION": "rrf",
    }


def test_the_record_holds_the_resolved_settings_and_the_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("ASKDOCS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ASKDOCS_RETRIEVAL__FUSION", "rrf")
    monkeypatch.setenv("ASKDOCS_ADMIN_TOKEN", "hunter2")
    record = settings_in_force()
    assert record["environment"] == {"ASKDOCS_ADMIN_TOKEN": MASK, "ASKDOCS_RETRIEVAL__FUSION": "rrf"}
    assert record["settings"]["retrieval"]["fusion"] == "rrf"
    assert record["settings"]["retrieval"]["mode"] == "hybrid"  # a default, recorded too
    assert "hunter2" not in json.dumps(record)
    assert record["commit"] is None or len(record["commit"].removesuffix("+dirty")) == 40
    line = environment_line(record)
    assert "`ASKDOCS_RETRIEVAL__FUSION=rrf`" in line and "hunter2" not in line


def test_eval_answers_writes_the_settings_in_force(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOCS_")}
    env |= {"ASKDOCS_DATA_DIR": str(tmp_path / "data"), "ASKDOCS_RETRIEVAL__FUSION": "rrf", "COLUMNS": "200"}
    out = tmp_path / "out"
    args = ["eval", "answers", "--dataset", str(squad_file(tmp_path)), "--sample", "4", "--out", str(out)]
    done = run(env, *args)
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "answers-mini-squad.json").read_text())
    record = data["settings_in_force"]
    assert record["environment"]["ASKDOCS_RETRIEVAL__FUSION"] == "rrf"
    assert record["settings"]["retrieval"]["fusion"] == "rrf"
    assert record["settings"]["data_dir"] == str(tmp_path / "data")
    assert "`ASKDOCS_RETRIEVAL__FUSION=rrf`" in (out / "answers-mini-squad.md").read_text()


@pytest.mark.parametrize(("weights", "message"), [("abc", "takes numbers"), ("1,50", "between 0.1 and 10")])
def test_eval_retrieval_rejects_bad_dense_weights(tmp_path: Path, weights: str, message: str) -> None:
    args = ["eval", "retrieval", "--dataset", str(squad_file(tmp_path)), "--dense-weight", weights]
    done = run(os.environ | {"COLUMNS": "200"}, *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
