from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from app.deps import ContainerDep
from app.schemas import AskRequest, AskResponse

router = APIRouter(tags=["ask"])


@router.post("/ask", response_model=AskResponse)
def ask(body: AskRequest, container: ContainerDep) -> AskResponse:
    """Answer a question from the indexed documents, citing sources as [n]."""
    result = container.asker.ask(body.question, top_k=body.top_k, filters=body.filters, retrieval=body.retrieval)
    answer = result.answer
    return AskResponse(
        answer=answer.answer,
        sources=[asdict(s) for s in answer.sources],
        mode=answer.mode,
        timings_ms=asdict(answer.timings_ms),
        degraded=result.degraded,
        reason=result.reason or None,
    )
