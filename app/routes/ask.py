from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.deps import ContainerDep
from app.schemas import AskRequest, AskResponse
from askdocs.errors import AskdocsError, GenerationError, IndexError_
from askdocs.qa.pipeline import Asker, AskResult, Prepared, sources_for

log = logging.getLogger("askdocs.app")
router = APIRouter(tags=["ask"])

_STREAM_DOC = """Server-Sent Events, in this order:

- `sources`: the passages as the model sees them, numbered from 1, none cited yet;
- `token` (repeated): `{"text": ...}`, pieces of the answer as generated;
- `done`: the /ask response: the final answer with its citations checked, the sources cited first, renumbered.

If the LLM fails while answering, `done` holds the extractive answer with `degraded: true`. An error after the
stream has started is an `error` event `{"detail": ...}`; a bad request is a normal HTTP error before it.
"""


@router.post("/ask", response_model=AskResponse)
def ask(body: AskRequest, container: ContainerDep) -> AskResponse:
    """Answer a question from the indexed documents, citing sources as [n]."""
    return response_of(container.asker.ask(body.question, **_options(body)))


@router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": _STREAM_DOC}},
)
def ask_stream(body: AskRequest, container: ContainerDep) -> StreamingResponse:
    """Answer as /ask does, streaming the answer as it is generated (Server-Sent Events)."""
    # Search before the response starts, so that a bad question or filter is still a plain 422.
    prepared = container.asker.prepare(body.question, **_options(body))
    return StreamingResponse(
        _events(container.asker, prepared),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _options(body: AskRequest) -> dict[str, Any]:
    """The request's optional fields, as Asker.ask and Asker.prepare take them."""
    return {
        "top_k": body.top_k,
        "filters": body.filters,
        "retrieval": body.retrieval,
        "mode": body.mode,
        "groups": body.groups,
    }


def response_of(result: AskResult) -> AskResponse:
    answer = result.answer
    return AskResponse(
        answer=answer.answer,
        sources=[asdict(s) for s in answer.sources],
        mode=answer.mode,
        timings_ms=asdict(answer.timings_ms),
        degraded=result.degraded,
        reason=result.reason or None,
        uncited=result.uncited,
    )


def _events(asker: Asker, prepared: Prepared) -> Iterator[str]:
    yield _event("sources", [asdict(s) for s in sources_for(prepared.contexts)])
    try:
        for item in asker.stream(prepared):
            if isinstance(item, AskResult):
                yield _event("done", response_of(item).model_dump(mode="json"))
            else:
                yield _event("token", {"text": item.text})
    except Exception as exc:  # the status line is sent: the error can only be an event, and never a trace
        yield _event("error", {"detail": _detail(exc)})


def _detail(exc: Exception) -> str:
    """What the HTTP error handlers would have said (app.main)."""
    if isinstance(exc, IndexError_):
        log.error("index error while streaming: %s", exc)
        return f"the index is unavailable: {exc}"
    if isinstance(exc, GenerationError):
        return f"the language model failed: {exc}"
    if isinstance(exc, AskdocsError):
        log.error("error while streaming: %s", exc)
        return str(exc)
    log.exception("unexpected error while streaming")
    return "internal error; see the service log"


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
