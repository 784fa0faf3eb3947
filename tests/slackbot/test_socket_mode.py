"""Socket Mode (``askdocs slack``): envelopes handed to the handler as slack_sdk's client would, answered through
the running service over HTTP with a frontend key; the CLI's start-up errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from typer.testing import CliRunner

from app.main import create_app
from askdocs.client import ServiceClient
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import ConfigError
from askdocs.settings import Settings, SlackSettings, load_settings
from askdocs.store.keys import KeyStore
from askdocs.store.store import open_store
from cli.main import app as cli
from cli.slack_cmd import shared_memory
from slackbot.answerer import HttpAnswerer
from slackbot.blocks import UNAVAILABLE
from slackbot.bot import build_bolt_app
from slackbot.memory import SlackMemory
from slackbot.policy import SlackConfig
from tests.app.conftest import container_for
from tests.app.test_security import QUESTION, restricted_dir  # noqa: F401 - the fixture
from tests.servers import free_port, serve
from tests.slackbot.stand_in import TOKEN, FakeSlack, Listeners, event, message, text_of
from tests.slackbot.test_events import blocks_of, buttons


@pytest.fixture
def service(restricted_dir: Path, embedder: SentenceTransformerEmbedder) -> Iterator[tuple[str, str]]:  # noqa: F811
    """``askdocs serve`` on the restricted index (no Slack settings of its own), and a frontend key for the bot."""
    settings = Settings(data_dir=restricted_dir, _env_file=None)  # type: ignore[call-arg]
    _, key = KeyStore(open_store(settings).engine).create("slack-bot", "frontend")
    container = container_for(settings, embedder)
    with serve(create_app(container)) as url:
        yield url, key
    container.close()


def handler_for(
    api: str, service_url: str, key: str, memory: SlackMemory | None = None
) -> tuple[SocketModeHandler, list[SocketModeResponse]]:
    slack = SlackSettings(bot_token=TOKEN, app_token="xapp-test", api_url=f"{api}/api/")  # type: ignore[arg-type]
    config = SlackConfig(users={"UHR": ["hr"]})
    bolt = build_bolt_app(slack, config, HttpAnswerer(ServiceClient(service_url, key)), socket_mode=True, memory=memory)
    handler = SocketModeHandler(bolt, "xapp-test")  # builds the client; nothing connects until start()
    sent: list[SocketModeResponse] = []
    handler.client.send_socket_mode_response = sent.append  # type: ignore[method-assign] # the websocket's end
    return handler, sent


@pytest.mark.store
def test_socket_mode_answers_a_dm_with_the_askers_groups_through_the_service_and_records_a_rating(
    slack: tuple[FakeSlack, str], service: tuple[str, str], tmp_path: Path
) -> None:
    fake, api = slack
    url, key = service
    assert httpx.post(f"{url}/slack/events", json={}).status_code == 404  # no bot tokens on the service: no route
    store = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg] # the test's store (database_url)
    handler, sent = handler_for(api, url, key, shared_memory(store))  # as `askdocs slack` builds it
    bot = Listeners(handler.app)
    dm = event(message(QUESTION, "1700000900.0001", user="UHR", channel="DHR", channel_type="im"), "Ev-sock")
    try:
        handler.handle(handler.client, SocketModeRequest(type="events_api", envelope_id="env-1", payload=dm))
        handler.handle(handler.client, SocketModeRequest("events_api", "env-2", dm, retry_attempt=1))
        [reply] = fake.wait("chat.postMessage")
        click = interaction(reply, user="UHR", channel="DHR")
        handler.handle(handler.client, SocketModeRequest(type="interactive", envelope_id="env-3", payload=click))
        [update] = fake.wait("chat.update")
        bot.wait_idle()
    finally:
        handler.close()
    restarted, sent_again = handler_for(api, url, key, shared_memory(store))  # the bot process restarted
    bot_again = Listeners(restarted.app)
    try:
        restarted.handle(restarted.client, SocketModeRequest("events_api", "env-4", dm, retry_attempt=2))
        bot_again.wait_idle()
    finally:
        restarted.close()
    assert [r.envelope_id for r in sent + sent_again] == ["env-1", "env-2", "env-3", "env-4"]  # each acknowledged
    assert len(fake.of("chat.postMessage")) == 1  # the retries were not answered again, not even after a restart
    assert "4.2 million" in text_of(reply)  # the frontend key vouched for UHR's groups
    assert "Rated not helpful by <@UHR>" in text_of(update)
    logged = open_store(store).interactions.get(buttons(reply)[1]["value"])
    assert logged is not None and logged.feedback is not None and logged.feedback.rating == "not_helpful"
    assert logged.interaction.asked_by == "slack:UHR" and logged.feedback.rated_by == "slack:UHR"  # not the key


def interaction(reply: Any, user: str, channel: str) -> dict[str, Any]:
    not_helpful = buttons(reply)[1]
    return {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T1"},
        "api_app_id": "A1",
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": channel},
        "channel": {"id": channel},
        "message": {"ts": "1700000000.000001", "text": reply.args["text"], "blocks": blocks_of(reply)},
        "actions": [not_helpful | {"block_id": "askdocs_feedback", "action_ts": "1.1"}],
        "trigger_id": "1.2.3",
        "response_url": "http://127.0.0.1:9/respond",
    }


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"ASKDOCS_SLACK__APP_TOKEN": "xapp-1"}, "ASKDOCS_SLACK__BOT_TOKEN is missing"),
        ({"ASKDOCS_SLACK__BOT_TOKEN": "xoxb-1"}, "ASKDOCS_SLACK__SIGNING_SECRET is missing"),
        (
            {"ASKDOCS_SLACK__BOT_TOKEN": "xoxb-1", "ASKDOCS_SLACK__SIGNING_SECRET": "s"},
            "ASKDOCS_SLACK__APP_TOKEN is not set",
        ),
    ],
)
def test_askdocs_slack_refuses_half_set_tokens_naming_the_missing_one(
    env: dict[str, str], said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("BOT_TOKEN", "SIGNING_SECRET", "APP_TOKEN"):
        monkeypatch.delenv(f"ASKDOCS_SLACK__{name}", raising=False)
    result = CliRunner().invoke(cli, ["slack"], env=env | {"COLUMNS": "300"})
    assert result.exit_code == 2 and said in " ".join(result.output.split()), result.output


def test_the_service_refuses_to_start_with_half_set_tokens(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ASKDOCS_SLACK: Value error, ASKDOCS_SLACK__BOT_TOKEN is missing"):
        load_settings(data_dir=tmp_path, slack={"signing_secret": "s"}, _env_file=None)


def test_socket_mode_with_the_service_down_says_askdocs_is_unavailable(slack: tuple[FakeSlack, str]) -> None:
    fake, api = slack
    handler, sent = handler_for(api, f"http://127.0.0.1:{free_port()}", "askd_unused")  # nothing listens there
    try:
        dm = event(message(QUESTION, "1700001100.0001", user="UANA", channel="DANA", channel_type="im"), "Ev-down")
        handler.handle(handler.client, SocketModeRequest(type="events_api", envelope_id="env-9", payload=dm))
        [reply] = fake.wait("chat.postMessage")
        fake.wait("reactions.remove")
    finally:
        handler.close()
    assert [r.envelope_id for r in sent] == ["env-9"]
    assert reply.args["thread_ts"] == "1700001100.0001" and text_of(reply).startswith(UNAVAILABLE)
