"""The interaction log: every answer askdocs gives, what led to it, and the feedback on it."""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from askdocs.qa.pipeline import AskResult

Channel = Literal["api", "stream", "cli", "slack"]
Rating = Literal["helpful", "not_helpful"]
RATINGS: tuple[Rating, ...] = ("helpful", "not_helpful")


@dataclass(frozen=True, slots=True)
class Interaction:
    interaction_id: str
    created_at: float
    channel: str
    asked_by: str | None  # the key's name, or the person a frontend vouches for; None: anonymous
    question: str | None  # as asked; None when redacted
    question_hash: str
    sanitized: str | None  # None when redacted
    signals: list[str]
    retrieval: str
    hits: list[dict[str, Any]]  # every retrieved chunk: point_id, doc_id, source, score, relevance, rank
    context: str  # the numbered passages the model saw
    prompt: str  # the exact text sent to the model
    answer: str
    idk: bool
    mode: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    timings: dict[str, float]
    degraded: bool
    reason: str | None
    cited: list[str] = field(default_factory=list)  # point ids of the passages the answer cites
    request_id: str | None = None
    asker: str | None = None  # who asked, with its kind: "key:NAME", "user:NAME", ... (app/security.py asker_of)


@dataclass(frozen=True, slots=True)
class Feedback:
    interaction_id: str
    rating: Rating
    comment: str | None = None
    corrected_answer: str | None = None
    rated_by: str | None = None
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Logged:
    """An interaction with its feedback, if any."""

    interaction: Interaction
    feedback: Feedback | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self.interaction) | {"feedback": asdict(self.feedback) if self.feedback else None}


@dataclass(frozen=True, slots=True)
class LogQuery:
    rating: Rating | None = None
    mode: str | None = None
    since: float | None = None
    idk: bool | None = None  # True: only "I do not know" answers
    channel: str | None = None
    limit: int = 100
    asked_by: str | None = None  # only the questions of this name (a key's, a user's, a vouched person's)
    asker: str | None = None  # only this asker's questions, its kind and name (Interaction.asker)


class InteractionLog(Protocol):
    def record(self, interaction: Interaction) -> None: ...

    def get(self, interaction_id: str) -> Logged | None: ...

    def rate(self, feedback: Feedback) -> bool:
        """Store the feedback; True when it replaced an earlier rating. LookupError for an unknown id."""
        ...

    def find(self, query: LogQuery) -> list[Logged]: ...

    def prune(self, before: float) -> int:
        """Delete interactions (and their feedback) older than ``before``; returns how many."""
        ...


def question_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_interaction_id() -> str:
    return uuid.uuid4().hex


def interaction_of(
    result: AskResult,
    *,
    question: str,
    channel: Channel,
    asked_by: str | None = None,
    redact: bool = False,
    interaction_id: str | None = None,
    request_id: str | None = None,
    asker: str | None = None,
) -> Interaction:
    """What the log keeps of one answer. ``redact``: hashes instead of the question's texts."""
    retrieved = result.retrieved
    return Interaction(
        interaction_id=interaction_id or new_interaction_id(),
        created_at=time.time(),
        channel=channel,
        asked_by=asked_by,
        question=None if redact else question,
        question_hash=question_hash(question),
        sanitized=None if redact else retrieved.question,
        signals=list(retrieved.signals),
        retrieval=retrieved.retrieval,
        hits=_hits(result),
        context=result.context,
        prompt=result.prompt,
        answer=result.answer.text,
        idk=result.answer.idk,
        mode=result.answer.mode,
        model=result.model,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        timings=asdict(result.answer.timings_ms),
        degraded=result.degraded,
        reason=result.reason or None,
        cited=[h.point_id for h in result.contexts],
        request_id=request_id,
        asker=asker,
    )


def _hits(result: AskResult) -> list[dict[str, Any]]:
    return [
        {
            "rank": rank,
            "point_id": hit.point_id,
            "doc_id": hit.doc_id,
            "source": hit.chunk.source,
            "score": round(hit.score, 6),
            "relevance": round(hit.relevance, 6),
        }
        for rank, hit in enumerate(result.retrieved.hits, start=1)
    ]


def parse_age(text: str) -> float:
    """'90d', '12h', '30m' or '45s' as seconds; ValueError otherwise."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    text = text.strip().lower()
    if len(text) < 2 or text[-1] not in units or not text[:-1].replace(".", "", 1).isdigit():
        raise ValueError(f"{text!r} is not an age such as 90d, 12h, 30m or 45s")
    return float(text[:-1]) * units[text[-1]]
