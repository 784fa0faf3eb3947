from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from app.container import Container
from app.deps import ContainerDep
from app.errors import error_status
from app.metrics import record_answer
from app.schemas import AskRequest, AskResponse
from app.security import Caller, CallerDep, groups_for, person_for
from askdocs.qa.generate import I_DO_NOT_KNOW
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
def ask(body: AskRequest, container: ContainerDep, caller: CallerDep, request: Request) -> AskResponse:
    """Answer a question from the indexed documents, citing sources as [n]."""
    result = container.asker.ask(body.question, _options(body, caller))
    return response_of(result, logged(container, _asked(body, caller, request), result, "api"))


@router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": _STREAM_DOC}},
)
def ask_stream(body: AskRequest, container: ContainerDep, caller: CallerDep, request: Request) -> StreamingResponse:
    """Answer as /ask does, streaming the answer as it is generated (Server-Sent Events)."""
    # Search before the response starts, so that a bad question or filter is still a plain 422.
    prepared = container.asker.prepare(body.question, _options(body, caller))
    return StreamingResponse(
        _events(container, _asked(body, caller, request), prepared),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _asked(body: AskRequest, caller: Caller, request: Request) -> Asked:
    return Asked(body.question, caller, request, person_for(caller, body.asked_by, "asked_by"))


def _options(body: AskRequest, caller: Caller) -> AskOptions:
    """The request's options; the groups are the caller's (or, from a frontend key, the asker's it vouches for)."""
    return AskOptions(body.top_k, body.filters, body.retrieval, body.mode, groups_for(caller, body.groups))


@dataclass(frozen=True, slots=True)
class Asked:
    """Who asked what, for the log."""

    question: str
    caller: Caller
    request: Request
    asker: str | None  # who the log names: the caller, or the person a frontend vouches for

    @property
    def request_id(self) -> str | None:
        return getattr(self.request.state, "request_id", None)


def response_of(result: AskResult, interaction_id: str | None = None) -> AskResponse:
    return AskResponse.model_validate(answer_body(result) | {"interaction_id": interaction_id})


def logged(container: Container, asked: Asked, result: AskResult, channel: Channel) -> str | None:
    """Count the answer in the metrics and hand it to the interaction log (which never blocks nor fails the
    answer); its id, or None."""
    return log_answer(container, result, asked.question, channel, asked.asker, asked.request_id)


def log_answer(
    container: Container,
    result: AskResult,
    question: str,
    channel: Channel,
    caller: str | None,
    request_id: str | None = None,
) -> str | None:
    """``logged`` for callers without an HTTP request (the Slack bot in the service)."""
    answer = result.answer
    record_answer(answer.mode, answer.answer == I_DO_NOT_KNOW, result.degraded, asdict(answer.timings_ms))
    if container.log is None:
        return None
    interaction = interaction_of(
        result,
        question=question,
        channel=channel,
        caller=caller,
        redact=container.settings.log.redact_questions,
        request_id=request_id,
    )
    container.log.record(interaction)
    return interaction.interaction_id


def _events(container: Container, question: Asked, prepared: Prepared) -> Iterator[str]:
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
