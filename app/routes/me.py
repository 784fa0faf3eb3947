"""Who the caller is, and the questions they asked lately: what the ask page shows beside its question box."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from app.deps import ContainerDep
from app.schemas import AskedOut, MeOut
from app.security import CallerDep, asker_of
from askdocs.store.interactions import LogQuery

router = APIRouter(tags=["ask"])


@router.get("/me", response_model=MeOut)
def me(caller: CallerDep) -> MeOut:
    """The caller as the service knows it: name, scope, the groups its searches use, whether it is an admin."""
    scope = caller.scope if caller.scope in ("ask", "admin", "frontend", "proxy") else "anonymous"
    return MeOut(name=caller.name, scope=scope, groups=list(caller.groups), admin=caller.scope == "admin")


@router.get("/me/questions", response_model=list[AskedOut])
async def my_questions(
    caller: CallerDep, container: ContainerDep, limit: Annotated[int, Query(ge=1, le=50)] = 10
) -> list[AskedOut]:
    """The caller's own latest questions from the interaction log, newest first. None for an anonymous caller
    (nothing tells one from another) or with the log off; redacted questions are left out."""
    asker = asker_of(caller)
    if asker is None or container.interactions is None:
        return []
    found = await run_in_threadpool(container.interactions.find, LogQuery(asker=asker, limit=limit))
    return [
        AskedOut(
            interaction_id=item.interaction.interaction_id,
            question=item.interaction.question,
            created_at=item.interaction.created_at,
            idk=item.interaction.idk,
            rating=item.feedback.rating if item.feedback else None,
        )
        for item in found
        if item.interaction.question is not None
    ]
