"""The answer as callers receive it: the body of ``POST /ask``, which ``askdocs ask --json`` prints too."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from askdocs.qa.pipeline import AskResult


def answer_body(result: AskResult) -> dict[str, Any]:
    """The /ask response fields (the HTTP layer validates them against its schema)."""
    answer = result.answer
    return {
        "answer": answer.text,
        "sources": [asdict(s) for s in answer.sources],
        "mode": answer.mode,
        "timings_ms": asdict(answer.timings_ms),
        "degraded": result.degraded,
        "reason": result.reason or None,
        "uncited": result.uncited,
    }
