"""Per-channel behaviour and who may see what, decided without talking to Slack.

The settings file (``ASKDOCS_SLACK__CONFIG_FILE``, YAML)::

    users:                       # Slack user id or e-mail -> the groups of documents' ACLs
      U0123ABCD: [hr]
      ana@example.com: [hr, finance]
    channels:                    # channel id (or "*" for every other channel)
      "*": {answer: mention}
      C0HELPDESK: {answer: questions, silent_idk: true, private: false}

``answer``: ``mention`` (only when mentioned), ``all`` (every message) or ``questions`` (messages with a "?").
``silent_idk``: say nothing rather than "I do not know" to a message that did not mention the bot.
``private``: reply ephemerally to the asker (who then searches with their groups) instead of in the channel.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from askdocs.errors import ConfigError

Trigger = Literal["mention", "dm", "command", "thread", "message"]


class ChannelPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Literal["mention", "all", "questions"] = "mention"
    silent_idk: bool = False
    private: bool = False


class SlackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: dict[str, list[str]] = Field(default_factory=dict)
    channels: dict[str, ChannelPolicy] = Field(default_factory=dict)

    def policy(self, channel_id: str) -> ChannelPolicy:
        return self.channels.get(channel_id) or self.channels.get("*") or ChannelPolicy()

    @property
    def needs_emails(self) -> bool:
        return any("@" in key for key in self.users)

    def groups_of(self, user_id: str, email: str | None = None) -> tuple[str, ...]:
        """The user's groups from their id and their e-mail (case-insensitive); none when unmapped."""
        lowered = {k.lower(): v for k, v in self.users.items() if "@" in k}
        found: Iterable[str] = [*self.users.get(user_id, []), *(lowered.get(email.lower(), []) if email else [])]
        return tuple(sorted(set(found)))


def load_slack_config(path: Path | None) -> SlackConfig:
    """The settings file, or the defaults (answer when mentioned, nobody mapped) without one."""
    if path is None:
        return SlackConfig()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return SlackConfig.model_validate(data)
    except OSError as exc:
        raise ConfigError(f"ASKDOCS_SLACK__CONFIG_FILE: cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"ASKDOCS_SLACK__CONFIG_FILE: {path} is not valid YAML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"ASKDOCS_SLACK__CONFIG_FILE: {path}: {problems}") from exc


def should_answer(trigger: Trigger, policy: ChannelPolicy, text: str) -> bool:
    """Mentions, DMs, /ask and follow-ups where the bot answered always; other channel messages per policy."""
    if trigger != "message":
        return True
    return policy.answer == "all" or (policy.answer == "questions" and "?" in text)


def replies_privately(trigger: Trigger, policy: ChannelPolicy) -> bool:
    return policy.private and trigger != "dm"


def searches_with_groups(trigger: Trigger, private: bool) -> bool:
    """Only what the asker alone sees (a DM, an ephemeral reply) may come from ACL'd documents: anything in a
    channel, public or private, is searched as if by nobody in particular."""
    return trigger == "dm" or private


def stays_silent(trigger: Trigger, policy: ChannelPolicy, idk: bool) -> bool:
    """Busy channels may prefer silence to "I do not know", but never towards someone who addressed the bot."""
    return idk and policy.silent_idk and trigger == "message"


def question_of(text: str, bot_user_id: str | None) -> str:
    """The message without the bot's mention."""
    if bot_user_id:
        text = text.replace(f"<@{bot_user_id}>", " ")
    return " ".join(text.split())


def mentions(text: str, bot_user_id: str | None) -> bool:
    return bool(bot_user_id) and f"<@{bot_user_id}>" in text
