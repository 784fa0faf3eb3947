"""The interaction log over HTTP: feedback from anyone who was answered, the log itself for admins."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from app.deps import ContainerDep
from app.schemas import FeedbackIn, FeedbackOut
from app.security import AdminCaller as AdminDep
from app.security import CallerDep, person_for
from askdocs.store.interactions import Feedback, LogQuery, parse_age
from askdocs.store.sqllog import BackgroundLog
from askdocs.store.stats import log_stats

router = APIRouter(tags=["feedback"])  # needs a caller: see ``feedback``
admin = APIRouter(tags=["interactions"], dependencies=[AdminDep])


def _interactions(container: ContainerDep) -> BackgroundLog:
    if container.interactions is None:
        raise HTTPException(503, "the interaction log is off on this service (ASKDOCS_LOG__ENABLED=false)")
    return container.interactions


@router.post("/feedback", response_model=FeedbackOut)
async def feedback(body: FeedbackIn, container: ContainerDep, caller: CallerDep) -> FeedbackOut:
    """Rate an answer by its interaction_id (from /ask); a second rating replaces the first."""
    rated_by = await run_in_threadpool(person_for, caller, body.rated_by, "rated_by", container.rate_limit)
    rating = Feedback(body.interaction_id, body.rating, body.comment, body.corrected_answer, rated_by, time.time())
    try:
        replaced = await run_in_threadpool(_interactions(container).rate, rating)
    except LookupError:
        raise HTTPException(404, f"no interaction {body.interaction_id!r} in the log") from None
    said = "replaced the earlier rating" if replaced else "recorded"
    return FeedbackOut(interaction_id=body.interaction_id, rating=body.rating, replaced=replaced, detail=said)


def _since(since: str | None) -> float | None:
    if since is None:
        return None
    try:
        return time.time() - parse_age(since)
    except ValueError as exc:
        raise HTTPException(422, f"since: {exc}") from exc


@admin.get("/interactions")
def interactions(
    container: ContainerDep,
    rating: Literal["helpful", "not_helpful"] | None = None,
    mode: Literal["extractive", "prompted", "finetuned"] | None = None,
    since: Annotated[str | None, Query(description="An age: 7d, 12h, 30m.")] = None,
    idk: Annotated[bool | None, Query(description='true: only "I do not know" answers.')] = None,
    channel: Literal["api", "stream", "cli", "slack"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    asked_by: Annotated[str | None, Query(description="Only this person's questions (a key's name, a user).")] = None,
) -> list[dict[str, Any]]:
    """Logged answers, newest first, with their feedback (admin token)."""
    query = LogQuery(rating, mode, _since(since), idk, channel, limit, asked_by or None)
    return [item.to_json() for item in _interactions(container).find(query)]


@admin.get("/interactions/stats")
def stats(
    container: ContainerDep, since: Annotated[str | None, Query(description="An age: 7d, 12h, 30m.")] = "7d"
) -> dict[str, Any]:
    """Questions per day, answered vs "I do not know", ratings, latency by mode, frequent open questions."""
    found = _interactions(container).find(LogQuery(since=_since(since), limit=1_000_000))
    return {"since": since} | asdict(log_stats(found))


@admin.get("/interactions/{interaction_id}")
def interaction(interaction_id: str, container: ContainerDep) -> dict[str, Any]:
    """One logged answer with everything that led to it, and its feedback (admin token)."""
    found = _interactions(container).get(interaction_id)
    if found is None:
        raise HTTPException(404, f"no interaction {interaction_id!r} in the log")
    return found.to_json()
