"""The retriever half of the fine-tuning loop from the command line, as an operator runs it: `askdocs finetune
embeddings`, `askdocs index reembed|restore` and `askdocs eval retrieval --model --split`, with their errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from askdocs.index.edge import EdgeIndex
from tests.cli.runner import run
from tests.cli.test_cli import env
from tests.conftest import HANDBOOK
from tests.evals.test_retrieval import squad_file

__all__ = ["env"]  # the fixture, shared with test_cli


@pytest.mark.store
def test_finetune_embeddings_says_what_is_wrong(env: dict[str, str], tmp_path: Path) -> None:
    none = run(env, "finetune", "embeddings", "--out", str(tmp_path / "m"))
    assert none.returncode == 2 and "give --from-log, --dataset SQUAD_FILE, or both" in none.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    broken = run(env, "finetune", "embeddings", "--dataset", str(bad), "--out", str(tmp_path / "m"))
    assert broken.returncode == 2 and "bad.json is not JSON" in broken.stderr
    empty_log = run(env, "finetune", "embeddings", "--from-log", "--out", str(tmp_path / "m"))
    assert empty_log.returncode == 2, empty_log.stderr
    assert "only 0 usable (question, passage) pairs" in empty_log.stderr
    assert not (tmp_path / "m").exists()


def test_finetune_on_a_squad_file_then_eval_retrieval_base_against_it(env: dict[str, str], tmp_path: Path) -> None:
    data = squad_file(tmp_path)
    model = tmp_path / "tuned"
    trained = run(env, "finetune", "embeddings", "--dataset", str(data), "--batch-size", "2", "--out", str(model))
    assert trained.returncode == 0, trained.stderr
    assert "4 pairs" in trained.stdout and (model / "modules.json").is_file()
    out = tmp_path / "eval"
    args = ["eval", "retrieval", "--dataset", str(data), "--model", str(model), "--split", "test"]
    evaluated = run(env, *args, "--retrieval", "dense,hybrid", "--no-bm25", "--out", str(out))
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads((out / "retrieval-mini-squad-test-seed0.json").read_text())
    rows = {r["name"]: r["metrics"] for r in report["results"]}
    names = {"base: recursive", "base: recursive + hybrid", "tuned: recursive", "tuned: recursive + hybrid"}
    assert set(rows) == names | {f"{name} [question not asked in the train half]" for name in names}
    assert all(m["questions"] == 2 for m in rows.values())  # the answerable questions of the held-out article
    missing = run(env, "eval", "retrieval", "--dataset", str(data), "--model", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "is not a folder" in missing.stderr


@pytest.mark.store
def test_reembed_and_restore_from_the_command_line(env: dict[str, str], tmp_path: Path, finetuned_model: Path) -> None:
    nothing = run(env, "index", "reembed", "--model", str(finetuned_model))
    assert nothing.returncode == 2 and "is empty: nothing to re-embed" in nothing.stderr
    assert run(env, "index", "restore").stderr.count("records no previous shard") == 1
    folder = tmp_path / "docs"
    shutil.copytree(HANDBOOK, folder)
    assert run(env, "ingest", str(folder)).returncode == 0
    held = EdgeIndex(Path(env["ASKDOCS_DATA_DIR"]) / "qdrant" / "askdocs")  # as a running askdocs serve holds it
    assert held.count() > 0
    locked = run(env, "index", "reembed", "--model", str(finetuned_model))
    held.close()
    assert locked.returncode == 2 and "held by a running askdocs serve" in locked.stderr
    switched = run(env, "index", "reembed", "--model", str(finetuned_model))
    assert switched.returncode == 0, switched.stderr
    assert "re-embedded" in switched.stdout and "kept: askdocs" in switched.stdout
    old_model = run(env, "ask", "How many vacation days do I get?")
    assert old_model.returncode == 2 and "index restore" in old_model.stderr
    new_model = run(env | {"ASKDOCS_EMBEDDING__MODEL_PATH": str(finetuned_model)}, "ask", "How many vacation days?")
    assert new_model.returncode == 0, new_model.stderr
    assert "leave.html" in new_model.stdout
    restored = run(env, "index", "restore")
    assert restored.returncode == 0 and "live: askdocs " in restored.stdout
    assert run(env, "ask", "How many vacation days do I get?").returncode == 0
    assert run(env, "index", "reembed", "--model", str(tmp_path / "nope")).stderr.count("is not a folder") == 1
