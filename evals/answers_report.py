"""Tables, JSON and Markdown of ``askdocs eval answers`` results, and the predictions in the official format."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from rich.table import Table

from evals.answers import ModeResult, SweepRow
from evals.answers_chart import compare_chart, idk_rate
from evals.provenance import environment_line, settings_in_force

_ROWS: list[tuple[str, Callable[[ModeResult], str]]] = [
    ("questions", lambda r: str(r.metrics.questions)),
    ("EM", lambda r: f"{r.metrics.exact:.3f}"),
    ("F1", lambda r: f"{r.metrics.f1:.3f}"),
    ("HasAns EM", lambda r: f"{r.metrics.has_ans_exact:.3f}"),
    ("HasAns F1", lambda r: f"{r.metrics.has_ans_f1:.3f}"),
    ("HasAns contains gold", lambda r: f"{r.metrics.has_ans_contains_gold:.3f}"),
    ('HasAns "I do not know"', lambda r: f"{r.metrics.has_ans_abstained:.3f}"),
    ("HasAns questions", lambda r: str(r.metrics.has_ans)),
    ("NoAns accuracy", lambda r: f"{r.metrics.no_ans_accuracy:.3f}"),
    ("NoAns questions", lambda r: str(r.metrics.no_ans)),
    ('all "I do not know"', lambda r: f"{idk_rate(r):.3f}"),
    ("tokens / question", lambda r: f"{r.tokens_per_question:.1f}"),
    ("prompt tokens / question", lambda r: f"{r.prompt_tokens:.1f}"),
    ("latency p50 ms", lambda r: f"{r.latency_p50_ms:.0f}"),
    ("latency p95 ms", lambda r: f"{r.latency_p95_ms:.0f}"),
    ("degraded", lambda r: str(r.degraded)),
]
_SWEEP_HEADER = ["min_score", "NoAns accuracy", "HasAns contains gold", 'HasAns "I do not know"', "EM", "F1"]


def _sweep_cells(row: SweepRow) -> list[str]:
    m = row.metrics
    values = (m.no_ans_accuracy, m.has_ans_contains_gold, m.has_ans_abstained, m.exact, m.f1)
    return [f"{row.min_score:.2f}", *(f"{v:.3f}" for v in values)]


def results_table(results: Sequence[ModeResult], title: str) -> Table:
    table = Table("", *(r.mode for r in results), title=title)
    for label, cell in _ROWS:
        table.add_row(label, *(cell(r) for r in results))
    return table


def sweep_table(rows: Sequence[SweepRow], title: str) -> Table:
    table = Table(*_SWEEP_HEADER, title=title)
    for row in rows:
        table.add_row(*_sweep_cells(row))
    return table


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def markdown_tables(results: Sequence[ModeResult], sweep: Sequence[SweepRow]) -> str:
    text = markdown_table(
        ["", *(r.mode for r in results)], [[label, *(cell(r) for r in results)] for label, cell in _ROWS]
    )
    if sweep:
        text += "\n\nExtractive answers per `min_score` (no answer check):\n\n" + markdown_table(
            _SWEEP_HEADER, [_sweep_cells(r) for r in sweep]
        )
    return text


def write_outputs(
    results: Sequence[ModeResult], sweep: Sequence[SweepRow], out: Path, dataset: str, command: str, setup: str = ""
) -> list[Path]:
    """JSON and Markdown of the scores, and each mode's predictions in the official ``{id: text}`` format."""
    out.mkdir(parents=True, exist_ok=True)
    record = settings_in_force()
    data = {
        "dataset": dataset,
        "command": command,
        "settings_in_force": record,
        "setup": setup,
        "results": [{k: v for k, v in asdict(r).items() if k != "predictions"} for r in results],
        "sweep": [asdict(row) for row in sweep],
    }
    json_path = out / f"answers-{dataset}.json"
    json_path.write_text(json.dumps(data, indent=2))
    md_path = out / f"answers-{dataset}.md"
    md_path.write_text(f"`{command}`\n\n{environment_line(record)}\n\n{setup}\n\n{markdown_tables(results, sweep)}\n")
    paths = [json_path, md_path, compare_chart(results, out / f"answers-{dataset}.png", dataset)]
    for result in results:
        paths.append(out / f"answers-{dataset}-{result.mode}-predictions.json")
        paths[-1].write_text(json.dumps(result.predictions, indent=1))
    return paths
