"""The answer as callers receive it: the body of ``POST /ask``, which ``askdocs ask --json`` prints too."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from askdocs.qa.pipeline import AskResult, sources_for

CLOSEST = 3  # passages offered with an "I do not know"


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
        "idk": answer.idk,
        "closest": closest_sources(result),
    }


def closest_sources(result: AskResult) -> list[dict[str, Any]]:
    """With an "I do not know", the passages the search found nearest (none close enough to answer from), for the
    asker to read; they come from the same search, so the caller's groups were applied. Otherwise none."""
    if not result.answer.idk:
        return []
    return [asdict(s) for s in sources_for(result.retrieved.hits[:CLOSEST])]
