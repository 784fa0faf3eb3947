"""``askdocs slack``: the Slack bot in Socket Mode, for workspaces that cannot reach a public URL.

It asks the running ``askdocs serve`` over HTTP (the service holds the index, and its log keeps the answers),
with a frontend key so that a DM searches with the asker's groups.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from askdocs.client import ServiceClient
from cli.common import clean_errors, err_console, fail, settings_or_exit

if TYPE_CHECKING:
    from askdocs.settings import Settings
    from slackbot.memory import SlackMemory


def slack() -> None:
    """Run the Slack bot in Socket Mode, answering through a running `askdocs serve`."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from slackbot.answerer import HttpAnswerer
    from slackbot.bot import build_bolt_app
    from slackbot.policy import load_slack_config

    settings = settings_or_exit()
    config = settings.slack
    if config.bot_token is None:
        fail("ASKDOCS_SLACK__BOT_TOKEN is not set: give the bot's xoxb- token (see docs/SLACK.md)")
    if config.app_token is None:
        fail("ASKDOCS_SLACK__APP_TOKEN is not set: Socket Mode needs an app-level xapp- token with connections:write")
    service = ServiceClient.from_settings(settings, timeout_s=120)
    if not service.reachable():
        fail(f"no askdocs service answers at {service.base}: start `askdocs serve` (or set ASKDOCS_SERVICE__URL)")
    with clean_errors():
        memory = shared_memory(settings)
        policy = load_slack_config(config.config_file)
        app = build_bolt_app(config, policy, HttpAnswerer(service), socket_mode=True, memory=memory)
    SocketModeHandler(app, config.app_token.get_secret_value()).start()


def shared_memory(settings: Settings) -> SlackMemory | None:
    """The state store's memory of handled events and answered threads (shared with the service and other bot
    processes, kept across restarts); this process's own when the store cannot be opened."""
    from askdocs.errors import StoreError
    from askdocs.store.engine import database_url, make_engine, upgrade
    from slackbot.memory import SqlSlackMemory

    engine = make_engine(database_url(settings))  # the engine alone: the queue and the log are the service's
    try:
        upgrade(engine)
    except StoreError as exc:
        engine.dispose()
        err_console.print(f"warning: {exc}; handled events and threads are remembered by this process only")
        return None
    return SqlSlackMemory(engine)
