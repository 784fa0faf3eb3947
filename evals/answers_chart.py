"""The modes side by side as a PNG: quality on the left, cost (prompt tokens, latency) on the right."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evals.answers import ModeResult


def idk_rate(result: ModeResult) -> float:
    """Share of all questions answered "I do not know" (an empty prediction)."""
    values = list(result.predictions.values())
    return sum(not p for p in values) / len(values) if values else 0.0


def compare_chart(results: Sequence[ModeResult], path: Path, dataset: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    quality = [
        ("EM", lambda r: r.metrics.exact),
        ("F1", lambda r: r.metrics.f1),
        ('"I do not know"', idk_rate),
    ]
    cost = [
        ("prompt tokens / request", lambda r: r.prompt_tokens),
        ("latency p50 ms", lambda r: r.latency_p50_ms),
        ("latency p95 ms", lambda r: r.latency_p95_ms),
    ]
    width = 0.8 / max(1, len(results))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, metrics, title in ((axes[0], quality, "quality"), (axes[1], cost, "cost per question")):
        for i, result in enumerate(results):
            values = [float(get(result)) for _, get in metrics]
            bars = ax.bar([x + i * width for x in range(len(metrics))], values, width, label=result.mode)
            ax.bar_label(bars, fmt="%.2f" if metrics is quality else "%.0f", fontsize=7)
        ax.set_xticks([x + width * (len(results) - 1) / 2 for x in range(len(metrics))], [m for m, _ in metrics])
        ax.set_title(f"{title}: {dataset}")
        ax.legend(fontsize=8)
    axes[0].set_ylim(0, 1.05)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
