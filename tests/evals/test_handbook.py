"""``python -m evals.handbook``: the committed command behind docs/EVAL.md's handbook figures."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from askdocs.models import Chunk, Hit
from evals.handbook import main, right_source


def hit(source: str, page: int | None) -> Hit:
    chunk = Chunk(
        point_id="p",
        doc_id="d",
        source=source,
        title="t",
        text="x",
        embed_text="x",
        chunk_index=0,
        chunk_count=1,
        chunker="structural",
        version="v",
        ingested_at="now",
        page=page,
    )
    return Hit(chunk, 0.5)


def test_the_right_source_is_the_file_and_for_a_pdf_the_page() -> None:
    assert right_source(hit("/x/examples/handbook/leave.html", None), {"source": "leave.html", "page": None})
    assert not right_source(hit("/x/leave.html", None), {"source": "oncall.html", "page": None})
    assert right_source(hit("/x/travel.pdf", 3), {"source": "travel.pdf", "page": 3})
    assert not right_source(hit("/x/travel.pdf", 2), {"source": "travel.pdf", "page": 3})


@pytest.mark.slow
def test_the_command_writes_retrieval_and_answer_check_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its ``main`` in this process (it runs ``askdocs ingest`` in a subprocess itself)."""
    for name in [name for name in os.environ if name.startswith("ASKDOCS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ASKDOCS_DATA_DIR", str(tmp_path / "unused"))
    monkeypatch.setenv("ASKDOCS_RETRIEVAL__TOP_K", "3")
    monkeypatch.chdir(tmp_path)  # no .env
    out = tmp_path / "handbook.json"
    main(["--chunker", "structural", "--out", str(out)])
    printed = capsys.readouterr().out
    data: dict[str, Any] = json.loads(out.read_text())
    rows = data["retrieval"]
    assert [(r["retrieval"], r["fusion"]) for r in rows] == [("dense", "dbsf"), ("hybrid", "dbsf"), ("hybrid", "rrf")]
    for row in rows:
        assert row["questions"] == 34
        assert 0 < row["first"] <= row["found"] <= 34
        assert len(row["not_found"]) == 34 - row["found"]
    off, on = data["answer_check"]["off"], data["answer_check"]["on"]
    assert off["refused"] < on["refused"] <= 34, (off, on)  # the check only ever adds refusals
    assert set(off["refused_questions"]) <= set(on["refused_questions"])
    assert data["settings_in_force"]["environment"]["ASKDOCS_RETRIEVAL__TOP_K"] == "3"
    assert data["settings_in_force"]["settings"]["retrieval"]["top_k"] == 3
    assert "structural     hybrid (dbsf)" in printed
