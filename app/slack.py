"""The Slack bot inside the service: the Events API at ``/slack/events``, answered by the service's own pipeline.

The route exists only when ``ASKDOCS_SLACK__BOT_TOKEN`` and ``__SIGNING_SECRET`` are set. slack-bolt checks the
signature and the 5-minute window (401 otherwise) and answers ``url_verification``; the dispatch runs in a worker
thread so the event loop never waits on it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

from app.container import Container
from app.routes.ask import LogEntry, log_answer
from askdocs.errors import StoreError
from askdocs.qa.pipeline import AskOptions
from askdocs.qa.response import answer_body
from askdocs.store.interactions import Feedback
from slackbot.answerer import Rating, Reply
from slackbot.bot import build_bolt_app
from slackbot.memory import SqlSlackMemory
from slackbot.policy import load_slack_config

router = APIRouter(tags=["slack"], include_in_schema=False)


class ServiceAnswerer:
    """The service's AnswerPipeline and interaction log, in-process."""

    def __init__(self, container: Container) -> None:
        self._container = container

    def ask(self, question: str, groups: Sequence[str], asked_by: str) -> Reply:
        result = self._container.pipeline.ask(question, AskOptions(groups=tuple(groups)))
        interaction_id = log_answer(self._container, result, LogEntry(question, "slack", asked_by))
        return Reply.from_body(answer_body(result) | {"interaction_id": interaction_id})

    def rate(self, interaction_id: str, rating: Rating, rated_by: str) -> None:
        if self._container.interactions is None:
            raise StoreError("the interaction log is off on this service (ASKDOCS_LOG__ENABLED=false)")
        self._container.interactions.rate(Feedback(interaction_id, rating, rated_by=rated_by, created_at=time.time()))


def slack_app(container: Container) -> App:
    """The bolt app for this service (the lifespan builds it; nothing reaches Slack until the first event)."""
    settings = container.settings.slack
    memory = SqlSlackMemory(container.store.engine) if container.store is not None else None
    config = load_slack_config(settings.config_file)
    return build_bolt_app(settings, config, ServiceAnswerer(container), memory=memory)


@router.post("/slack/events")
async def events(request: Request) -> Response:
    """Events, slash commands and button clicks from Slack (one Request URL for all three)."""
    bolt: App = request.app.state.slack
    body = await request.body()
    response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
    return to_starlette_response(response)
