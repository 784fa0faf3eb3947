from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from app.deps import ContainerDep
from app.errors import error_status
from app.metrics import Metrics
from app.schemas import AskRequest, AskResponse
from app.security import Identity, IdentityDep, search_groups
from askdocs.qa.pipeline import Asker, AskOptions, AskResult, Prepared, sources_for
from askdocs.qa.response import answer_body

router = APIRouter(tags=["ask"])

_STREAM_DOC = """Server-Sent Events, in this order:

- `sources`: the passages as the model sees them, numbered from 1, none cited yet;
- `token` (repeated): `{"text": ...}`, pieces of the answer as generated;
- `done`: the /ask response: the final answer with its citations checked, the sources cited first, renumbered.

If the LLM fails while answering, `done` holds the extractive answer with `degraded: true`. An error after the
stream has started is an `error` event `{"detail": ...}`; a bad request is a normal HTTP error before it.
"""


@router.post("/ask", response_model=AskResponse)
def ask(body: AskRequest, container: ContainerDep, identity: IdentityDep, request: Request) -> AskResponse:
    """Answer a question from the indexed documents, citing sources as [n]."""
    result = container.asker.ask(body.question, _options(body, identity))
    request.app.state.metrics.answered(result)
    return response_of(result)


@router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": _STREAM_DOC}},
)
def ask_stream(body: AskRequest, container: ContainerDep, identity: IdentityDep, request: Request) -> StreamingResponse:
    """Answer as /ask does, streaming the answer as it is generated (Server-Sent Events)."""
    # Search before the response starts, so that a bad question or filter is still a plain 422.
    prepared = container.asker.prepare(body.question, _options(body, identity))
    return StreamingResponse(
        _events(container.asker, prepared, request.app.state.metrics),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _options(body: AskRequest, identity: Identity) -> AskOptions:
    # The groups searched with come from the caller's identity (app.security), never from the body alone.
    return AskOptions(body.top_k, body.filters, body.retrieval, body.mode, search_groups(identity, body.groups))


def response_of(result: AskResult) -> AskResponse:
    return AskResponse.model_validate(answer_body(result))


def _events(asker: Asker, prepared: Prepared, metrics: Metrics) -> Iterator[str]:
    yield _event("sources", [asdict(s) for s in sources_for(prepared.contexts)])
    try:
        for item in asker.stream(prepared):
            if isinstance(item, AskResult):
                metrics.answered(item)
                yield _event("done", response_of(item).model_dump(mode="json"))
            else:
                yield _event("token", {"text": item.text})
    except Exception as exc:  # the status line is sent: the error can only be an event, and never a trace
        yield _event("error", {"detail": error_status(exc)[1]})


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
