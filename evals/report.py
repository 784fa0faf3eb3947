"""Tables, JSON and a bar chart of retrieval results."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.table import Table

from evals.provenance import environment_line, settings_in_force
from evals.retrieval import StrategyResult


def results_table(results: Sequence[StrategyResult], title: str) -> Table:
    table = Table(
        "strategy",
        "recall@1",
        "recall@5",
        "recall@10",
        "MRR",
        "nDCG@10",
        "chunks",
        "ingest s",
        "query p50 ms",
        title=title,
    )
    for r in results:
        m = r.metrics
        table.add_row(
            r.name,
            f"{m.recall_at_1:.3f}",
            f"{m.recall_at_5:.3f}",
            f"{m.recall_at_10:.3f}",
            f"{m.mrr:.3f}",
            f"{m.ndcg_at_10:.3f}",
            str(r.chunks),
            f"{r.ingest_s:.1f}",
            f"{r.query_p50_ms:.1f}",
        )
    return table


def markdown_table(results: Sequence[StrategyResult]) -> str:
    lines = [
        "| strategy | recall@1 | recall@5 | recall@10 | MRR | nDCG@10 | chunks | ingest s | query p50 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        m = r.metrics
        lines.append(
            f"| {r.name} | {m.recall_at_1:.3f} | {m.recall_at_5:.3f} | {m.recall_at_10:.3f} | {m.mrr:.3f} | "
            f"{m.ndcg_at_10:.3f} | {r.chunks} | {r.ingest_s:.1f} | {r.query_p50_ms:.1f} |"
        )
    return "\n".join(lines)


def write_outputs(
    results: Sequence[StrategyResult], out: Path, dataset: str, command: str, extra: Mapping[str, Any] | None = None
) -> list[Path]:
    """The JSON (with ``extra`` fields, e.g. each question's ranks), the Markdown table and the chart."""
    out.mkdir(parents=True, exist_ok=True)
    record = settings_in_force()
    data = {
        "dataset": dataset,
        "command": command,
        "settings_in_force": record,
        "results": [asdict(r) for r in results],
        **(extra or {}),
    }
    json_path = out / f"retrieval-{dataset}.json"
    json_path.write_text(json.dumps(data, indent=2))
    md_path = out / f"retrieval-{dataset}.md"
    md_path.write_text(f"`{command}`\n\n{environment_line(record)}\n\n{markdown_table(results)}\n")
    return [json_path, md_path, bar_chart(results, out / f"retrieval-{dataset}.png", dataset)]


def bar_chart(results: Sequence[StrategyResult], path: Path, dataset: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [
        ("recall@1", "recall_at_1"),
        ("recall@5", "recall_at_5"),
        ("recall@10", "recall_at_10"),
        ("MRR", "mrr"),
        ("nDCG@10", "ndcg_at_10"),
    ]
    width = 0.8 / max(1, len(results))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for i, result in enumerate(results):
        values = [getattr(result.metrics, attr) for _, attr in metrics]
        bars = ax.bar([x + i * width for x in range(len(metrics))], values, width, label=result.name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks([x + width * (len(results) - 1) / 2 for x in range(len(metrics))], [m for m, _ in metrics])
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Retrieval on {dataset}")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
