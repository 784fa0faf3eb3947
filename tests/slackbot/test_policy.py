"""Channel behaviour and permissions from the settings file; the bot's memory of recent events."""

from __future__ import annotations

from pathlib import Path

import pytest

from askdocs.errors import ConfigError
from slackbot.policy import (
    ChannelPolicy,
    load_slack_config,
    question_of,
    replies_privately,
    searches_with_groups,
    should_answer,
    stays_silent,
)
from slackbot.recent import Recent


def test_when_the_bot_answers() -> None:
    mentions_only, everything, questions = (ChannelPolicy(answer=a) for a in ("mention", "all", "questions"))
    for trigger in ("mention", "dm", "command", "thread"):
        assert should_answer(trigger, mentions_only, "no question mark")
    assert not should_answer("message", mentions_only, "Where is the VPN guide?")
    assert should_answer("message", everything, "lunch at noon")
    assert should_answer("message", questions, "Where is the VPN guide?")
    assert not should_answer("message", questions, "lunch at noon")


def test_silence_and_private_replies_and_who_searches_with_groups() -> None:
    busy = ChannelPolicy(answer="questions", silent_idk=True, private=True)
    assert stays_silent("message", busy, idk=True) and not stays_silent("message", busy, idk=False)
    assert not stays_silent("mention", busy, idk=True)  # someone who addressed the bot always hears back
    assert replies_privately("mention", busy) and not replies_privately("dm", busy)
    assert searches_with_groups("dm", False) and searches_with_groups("mention", True)
    assert not searches_with_groups("mention", False) and not searches_with_groups("thread", False)
    assert not searches_with_groups("command", False)


def test_the_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "slack.yaml"
    path.write_text(
        "users:\n  U1: [hr]\n  Ana@Example.com: [finance, hr]\n"
        "channels:\n  '*': {answer: questions}\n  C9: {answer: all, private: true}\n"
    )
    config = load_slack_config(path)
    assert config.groups_of("U1", "ana@example.COM") == ("finance", "hr")
    assert config.groups_of("U2", None) == () and config.needs_emails
    assert config.policy("C9").private and config.policy("C1").answer == "questions"
    assert load_slack_config(None).policy("C1") == ChannelPolicy()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("channels: {C1: {answer: sometimes}}", r"channels.C1.answer: Input should be 'mention', 'all' or 'questions'"),
        ("chanels: {}", "chanels: Extra inputs are not permitted"),
        ("users: [", "is not valid YAML"),
    ],
)
def test_a_bad_settings_file_says_what_is_wrong(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "slack.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=said):
        load_slack_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_slack_config(tmp_path / "missing.yaml")


def test_question_without_the_mention() -> None:
    assert question_of("<@UBOT>  how many\n days?", "UBOT") == "how many days?"


def test_recent_forgets_after_its_ttl() -> None:
    now = [100.0]
    seen = Recent(ttl_s=0.2, max_items=2, clock=lambda: now[0])
    assert seen.add("a") and not seen.add("a") and "a" in seen
    assert seen.add("b") and seen.add("c") and "a" not in seen  # the oldest goes first when full
    now[0] += 0.1
    assert "c" in seen and not seen.add("c")  # still fresh
    now[0] += 0.2
    assert "c" not in seen and seen.add("c")
