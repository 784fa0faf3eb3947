from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.container import Container
from app.deps import ContainerDep
from app.errors import error_status
from app.schemas import AskRequest, AskResponse
from askdocs.qa.pipeline import AskOptions, AskResult, Prepared, sources_for
from askdocs.qa.response import answer_body
from askdocs.store.interactions import Channel, interaction_of

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
    result = container.asker.ask(body.question, _options(body))
    return response_of(result, logged(container, body.question, result, "api"))


@router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": _STREAM_DOC}},
)
def ask_stream(body: AskRequest, container: ContainerDep) -> StreamingResponse:
    """Answer as /ask does, streaming the answer as it is generated (Server-Sent Events)."""
    # Search before the response starts, so that a bad question or filter is still a plain 422.
    prepared = container.asker.prepare(body.question, _options(body))
    return StreamingResponse(
        _events(container, body.question, prepared),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _options(body: AskRequest) -> AskOptions:
    return AskOptions(body.top_k, body.filters, body.retrieval, body.mode, body.groups)


def response_of(result: AskResult, interaction_id: str | None = None) -> AskResponse:
    return AskResponse.model_validate(answer_body(result) | {"interaction_id": interaction_id})


def logged(container: Container, question: str, result: AskResult, channel: Channel) -> str | None:
    """Hand the answer to the interaction log (which never blocks nor fails the answer); its id, or None."""
    if container.log is None:
        return None
    redact = container.settings.log.redact_questions
    interaction = interaction_of(result, question=question, channel=channel, redact=redact)
    container.log.record(interaction)
    return interaction.interaction_id


def _events(container: Container, question: str, prepared: Prepared) -> Iterator[str]:
    yield _event("sources", [asdict(s) for s in sources_for(prepared.contexts)])
    try:
        for item in container.asker.stream(prepared):
            if isinstance(item, AskResult):
                response = response_of(item, logged(container, question, item, "stream"))
                yield _event("done", response.model_dump(mode="json"))
            else:
                yield _event("token", {"text": item.text})
    except Exception as exc:  # the status line is sent: the error can only be an event, and never a trace
        yield _event("error", {"detail": error_status(exc)[1]})


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
