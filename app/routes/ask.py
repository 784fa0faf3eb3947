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
from app.security import Caller, CallerDep, asker_of, groups_for, person_for
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
    entry = _asked(body, caller, request, "api", container)  # first: the person's rate limit before any work
    result = container.pipeline.ask(body.question, _options(body, caller))
    return response_of(result, log_answer(container, result, entry))


@router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": _STREAM_DOC}},
)
def ask_stream(body: AskRequest, container: ContainerDep, caller: CallerDep, request: Request) -> StreamingResponse:
    """Answer as /ask does, streaming the answer as it is generated (Server-Sent Events)."""
    # Search before the response starts, so that a bad question or filter is still a plain 422.
    entry = _asked(body, caller, request, "stream", container)
    prepared = container.pipeline.prepare(body.question, _options(body, caller))
    return StreamingResponse(
        _events(container, entry, prepared),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _options(body: AskRequest, caller: Caller) -> AskOptions:
    """The request's options; the groups are the caller's (or, from a frontend key, the asker's it vouches for)."""
    return AskOptions(body.top_k, body.filters, body.retrieval, body.mode, groups_for(caller, body.groups))


def _asked(body: AskRequest, caller: Caller, request: Request, channel: Channel, container: Container) -> LogEntry:
    """The log's entry for this request: the person is the caller, or the one a frontend vouches for."""
    asked_by = person_for(caller, body.asked_by, "asked_by", container.rate_limit)
    request_id = getattr(request.state, "request_id", None)
    return LogEntry(body.question, channel, asked_by, request_id, asker_of(caller, body.asked_by))


@dataclass(frozen=True, slots=True)
class LogEntry:
    """Who asked what, where: what the interaction log keeps beside the answer."""

    question: str
    channel: Channel
    asked_by: str | None  # the caller's name, the person a frontend vouches for, or None (anonymous)
    request_id: str | None = None
    asker: str | None = None  # asked_by with its kind (app/security.py asker_of)


def response_of(result: AskResult, interaction_id: str | None = None) -> AskResponse:
    return AskResponse.model_validate(answer_body(result) | {"interaction_id": interaction_id})


def log_answer(container: Container, result: AskResult, entry: LogEntry) -> str | None:
    """Count the answer in the metrics and hand it to the interaction log (which never blocks nor fails the
    answer); its id, or None when the log is off. The Slack bot inside the service logs through it too."""
    answer = result.answer
    record_answer(answer.mode, answer.idk, result.degraded, asdict(answer.timings_ms))
    if container.interactions is None:
        return None
    interaction = interaction_of(
        result,
        question=entry.question,
        channel=entry.channel,
        asked_by=entry.asked_by,
        redact=container.settings.log.redact_questions,
        request_id=entry.request_id,
        asker=entry.asker,
    )
    container.interactions.record(interaction)
    return interaction.interaction_id


def _events(container: Container, entry: LogEntry, prepared: Prepared) -> Iterator[str]:
    yield _event("sources", [asdict(s) for s in sources_for(prepared.contexts)])
    try:
        for item in container.pipeline.stream(prepared):
            if isinstance(item, AskResult):
                response = response_of(item, log_answer(container, item, entry))
                yield _event("done", response.model_dump(mode="json"))
            else:
                yield _event("token", {"text": item.text})
    except Exception as exc:  # the status line is sent: the error can only be an event, and never a trace
        yield _event("error", {"detail": error_status(exc)[1]})


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
