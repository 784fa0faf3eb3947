"""The slack-bolt app: which Slack events become questions, and how their answers are posted.

Every listener acknowledges at once and answers in a lazy listener (a thread), so Slack's 3-second ack holds
whatever the answer takes (``process_before_response`` also suits Socket Mode and serverless hosts). Retries
and replays of one event (same ``event_id``) are answered once. Whatever fails, the asker sees a message in the
thread, never a trace.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from askdocs.errors import InputError, VectorIndexError
from askdocs.settings import SlackSettings
from slackbot.answerer import Answerer, Reply
from slackbot.blocks import (
    FAILED,
    HELPFUL,
    NOT_HELPFUL,
    UNAVAILABLE,
    Block,
    answer_blocks,
    escape,
    fallback_text,
    notice_blocks,
)
from slackbot.memory import LocalMemory, SlackMemory
from slackbot.policy import (
    ChannelPolicy,
    SlackConfig,
    Trigger,
    mentions,
    question_of,
    replies_privately,
    searches_with_groups,
    should_answer,
    stays_silent,
)
from slackbot.rating import Ratings

log = logging.getLogger("askdocs.slack")
WORKING = "eyes"
RATE_LIMIT_RETRIES = 3
_IGNORED_SUBTYPES = {"bot_message", "message_changed", "message_deleted", "channel_join", "channel_leave"}


def web_client(settings: SlackSettings) -> WebClient:
    """The Web API client: Slack's or ``api_url``'s, retrying connection errors and 429s (after Retry-After)."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    base = settings.api_url if settings.api_url.endswith("/") else f"{settings.api_url}/"
    handlers = [ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)]
    return WebClient(token=token, base_url=base, retry_handlers=handlers)


def build_bolt_app(
    settings: SlackSettings,
    config: SlackConfig,
    answerer: Answerer,
    *,
    socket_mode: bool = False,
    memory: SlackMemory | None = None,
) -> App:
    """The bot as a bolt App; the HTTP route dispatches requests to it, Socket Mode hands it its envelopes.
    ``memory``: events handled and threads answered in (default: this process's own)."""
    bot = SlackBot(settings, config, answerer, memory or LocalMemory())
    secret = settings.signing_secret.get_secret_value() if settings.signing_secret else ""
    app = App(
        client=web_client(settings),
        signing_secret=secret,
        process_before_response=True,
        token_verification_enabled=False,  # auth.test on the first event, not at start-up
        request_verification_enabled=not socket_mode,
    )
    app.middleware(bot.dedupe)
    app.event("app_mention")(ack=_ack, lazy=[bot.on_mention])
    app.event("message")(ack=_ack, lazy=[bot.on_message])
    app.command("/ask")(ack=_ack_command, lazy=[bot.on_command])
    ratings = Ratings(answerer)
    app.action(re.compile(f"^({HELPFUL}|{NOT_HELPFUL})$"))(ack=_ack, lazy=[ratings.on_click])
    return app


def _ack(ack: Any) -> None:
    ack()


def _ack_command(ack: Any, command: dict[str, Any]) -> None:
    question = " ".join(str(command.get("text", "")).split())
    ack(f"Looking up: {question}" if question else "Ask a question after /ask, e.g. `/ask How many vacation days?`")


@dataclass(frozen=True, slots=True)
class SlackQuestion:
    """One question from Slack and where its answer goes."""

    trigger: Trigger
    channel: str
    user: str
    question: str
    thread_ts: str | None  # reply in this thread (None: a new message, for /ask)
    message_ts: str | None  # the message that shows work in progress (None for /ask)
    policy: ChannelPolicy
    respond: Any = None  # /ask's response_url: answers the asker where the bot may not post (not in the channel)

    @property
    def private(self) -> bool:
        return replies_privately(self.trigger, self.policy)


class SlackBot:
    def __init__(self, settings: SlackSettings, config: SlackConfig, answerer: Answerer, memory: SlackMemory) -> None:
        self._settings = settings
        self._config = config
        self._answerer = answerer
        self._memory = memory
        self._emails: dict[str, str | None] = {}

    def dedupe(self, body: dict[str, Any], next_: Any) -> BoltResponse | None:
        """Acknowledge an event already seen (``X-Slack-Retry-Num``, a replay) without handling it again."""
        event_id = body.get("event_id")
        if body.get("type") == "event_callback" and event_id and not self._memory.first_time(str(event_id)):
            log.info("event %s already handled; acknowledged again", event_id)
            return BoltResponse(status=200, body="")
        next_()
        return None

    def on_mention(self, event: dict[str, Any], client: WebClient, context: Any) -> None:
        if event.get("bot_id") or event.get("subtype") in _IGNORED_SUBTYPES:
            return
        self._handle(self._asked("mention", event, context.bot_user_id), client)

    def on_message(self, event: dict[str, Any], client: WebClient, context: Any) -> None:
        if event.get("bot_id") or event.get("subtype") or not event.get("user"):
            return  # bots (this one too), joins, edits, deletions
        text, channel = str(event.get("text", "")), str(event["channel"])
        is_dm = event.get("channel_type") == "im"
        if not is_dm and mentions(text, context.bot_user_id):
            return  # the app_mention event answers it
        thread = event.get("thread_ts")
        follows = not is_dm and bool(thread) and self._memory.follows(channel, str(thread))
        trigger: Trigger = "dm" if is_dm else "thread" if follows else "message"
        asked = self._asked(trigger, event, context.bot_user_id)
        if asked.question and should_answer(trigger, asked.policy, asked.question):
            self._handle(asked, client)

    def on_command(self, command: dict[str, Any], client: WebClient, respond: Any) -> None:
        channel = str(command["channel_id"])
        question = " ".join(str(command.get("text", "")).split())
        if not question:
            return
        policy = self._config.policy(channel)
        if channel.startswith("D"):  # maybe a DM between two people: answer the asker alone, with their groups
            policy = policy.model_copy(update={"private": True})
        self._handle(
            SlackQuestion("command", channel, command["user_id"], question, None, None, policy, respond), client
        )

    def _asked(self, trigger: Trigger, event: dict[str, Any], bot_user_id: str | None) -> SlackQuestion:
        channel = str(event["channel"])
        ts = str(event["ts"])
        question = question_of(str(event.get("text", "")), bot_user_id)
        return SlackQuestion(
            trigger,
            channel,
            str(event["user"]),
            question,
            event.get("thread_ts") or ts,
            ts,
            self._config.policy(channel),
        )

    def _handle(self, asked: SlackQuestion, client: WebClient) -> None:
        if asked.message_ts:
            _quietly(client.reactions_add, channel=asked.channel, timestamp=asked.message_ts, name=WORKING)
        try:
            blocks, text = self._reply(asked, client)
            if blocks:
                self._post(asked, client, blocks, text)
        finally:
            if asked.message_ts:
                _quietly(client.reactions_remove, channel=asked.channel, timestamp=asked.message_ts, name=WORKING)

    def _reply(self, asked: SlackQuestion, client: WebClient) -> tuple[list[Block], str]:
        """The blocks to post (none: stay silent) and their notification text; never raises."""
        try:
            groups = self._groups(asked, client) if searches_with_groups(asked.trigger, asked.private) else ()
            reply = self._answerer.ask(asked.question, groups, f"slack:{asked.user}")
        except VectorIndexError as exc:
            log.error("slack: the index is unavailable: %s", exc)
            return notice_blocks(UNAVAILABLE), UNAVAILABLE
        except InputError as exc:
            return notice_blocks(str(exc)), str(exc)
        except Exception:
            log.exception("slack: answering %r failed", asked.question[:200])
            return notice_blocks(FAILED), FAILED
        if stays_silent(asked.trigger, asked.policy, reply.idk):
            return [], ""
        return self._blocks(reply, asked), fallback_text(reply)

    def _blocks(self, reply: Reply, asked: SlackQuestion) -> list[Block]:
        # A /ask answer is a new message in the channel: say who asked what.
        header = f"<@{escape(asked.user)}> asked: {escape(asked.question)}" if asked.thread_ts is None else ""
        settings = self._settings
        return answer_blocks(reply, max_sources=settings.max_sources, idk_hint=settings.idk_hint, header=header)

    def _groups(self, asked: SlackQuestion, client: WebClient) -> tuple[str, ...]:
        email = self._email(asked.user, client) if self._config.needs_emails else None
        return self._config.groups_of(asked.user, email)

    def _email(self, user: str, client: WebClient) -> str | None:
        if user not in self._emails:
            try:
                profile = client.users_info(user=user)["user"].get("profile", {})
            except SlackApiError as exc:
                log.warning("slack: users.info %s failed (%s); searching without their e-mail's groups", user, exc)
                return None
            self._emails[user] = profile.get("email")
        return self._emails[user]

    def _post(self, asked: SlackQuestion, client: WebClient, blocks: list[Block], text: str) -> None:
        where: dict[str, Any] = {"channel": asked.channel, "blocks": blocks, "text": text}
        try:
            if asked.private:
                client.chat_postEphemeral(user=asked.user, thread_ts=asked.thread_ts, **where)
            elif asked.thread_ts is None:  # /ask: a new message, which follow-ups may then thread on
                posted = client.chat_postMessage(**where)
                self._memory.answered_in(asked.channel, posted["ts"])
            else:
                client.chat_postMessage(thread_ts=asked.thread_ts, **where)
                self._memory.answered_in(asked.channel, asked.thread_ts)
        except SlackApiError as exc:
            log.error("slack: posting the answer in %s failed: %s", asked.channel, exc.response.get("error"))
            if asked.respond is not None:  # what was searched for the channel may be shown to the asker alone
                _quietly(asked.respond, blocks=blocks, text=text, response_type="ephemeral")


def _quietly(call: Any, **kwargs: Any) -> None:
    """A reaction is a courtesy (and a fallback a last try): a failure (already_reacted, no_reaction, a missing
    scope, an expired response_url) only goes to the log."""
    try:
        call(**kwargs)
    except SlackApiError as exc:
        log.info("slack: %s", exc.response.get("error"))
    except Exception as exc:  # the response_url's webhook client raises its own errors
        log.warning("slack: %s failed: %s", getattr(call, "__name__", call), exc)
