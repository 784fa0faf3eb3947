"""The Events API as a workspace sends it, to the real service on 127.0.0.1, with Slack's Web API stood in."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from tests.slackbot.conftest import bot_service, slack_settings, write_config
from tests.slackbot.stand_in import (
    BOT_USER,
    Call,
    FakeSlack,
    event,
    mention,
    message,
    post_event,
    post_form,
    signed,
    text_of,
)

pytestmark = pytest.mark.store  # every test here builds the service, which opens the store

VACATION = "How many vacation days do I get?"


def blocks_of(call: Call) -> list[dict[str, Any]]:
    blocks = call.args["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def buttons(call: Call) -> list[dict[str, Any]]:
    return [e for b in blocks_of(call) if b["type"] == "actions" for e in b["elements"]]


def test_signed_url_verification_is_answered_and_bad_or_stale_signatures_are_401(
    slack: tuple[FakeSlack, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, api = slack
    with bot_service(handbook_dir, embedder, slack_settings(api)) as (url, _, bot):
        challenge = json.dumps(
            {
                "token": "legacy",
                "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                "type": "url_verification",
            }
        )
        answered = httpx.post(
            f"{url}/slack/events", content=challenge, headers=signed(challenge) | {"Content-Type": "application/json"}
        )
        assert answered.status_code == 200
        assert answered.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}

        body = json.dumps(event(mention(VACATION, "1.000001"), "Ev-bad"))
        forged = signed(body, secret="not-the-signing-secret") | {"Content-Type": "application/json"}
        assert httpx.post(f"{url}/slack/events", content=body, headers=forged).status_code == 401
        stale = signed(body, ts=int(time.time()) - 6 * 60) | {"Content-Type": "application/json"}
        assert httpx.post(f"{url}/slack/events", content=body, headers=stale).status_code == 401
        unsigned = httpx.post(f"{url}/slack/events", content=body, headers={"Content-Type": "application/json"})
        assert unsigned.status_code == 401
        bot.wait_idle()
    assert fake.calls == []  # nothing reached Slack for a request the bot refused


def test_a_mention_gets_exactly_one_threaded_reply_with_sources_and_buttons_and_a_replay_none(
    slack: tuple[FakeSlack, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, api = slack
    with bot_service(handbook_dir, embedder, slack_settings(api)) as (url, _, bot):
        body = event(mention(VACATION, "1700000100.000100"), "Ev-mention")
        started = time.monotonic()
        first = post_event(url, body)
        assert first.status_code == 200 and time.monotonic() - started < 3  # acknowledged before answering
        # Slack also delivers the same message as message.channels: the mention event answers it, this one not.
        assert (
            post_event(url, event(message(f"<@{BOT_USER}> {VACATION}", "1700000100.000100"), "Ev-msg")).status_code
            == 200
        )
        [reply] = fake.wait("chat.postMessage")
        assert (
            post_event(url, body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}).status_code
            == 200
        )
        assert post_event(url, body).status_code == 200  # replayed later, freshly signed
        bot.wait_idle()
        assert len(fake.of("chat.postMessage")) == 1

    assert reply.args["channel"] == "CPUBLIC" and reply.args["thread_ts"] == "1700000100.000100"
    shown = text_of(reply)
    assert "25" in shown and "*Sources*" in shown and "leave" in shown.lower()
    assert [b["action_id"] for b in buttons(reply)] == ["askdocs_helpful", "askdocs_not_helpful"]
    [added], [removed] = fake.of("reactions.add"), fake.of("reactions.remove")
    assert added.args["name"] == removed.args["name"] == "eyes"
    assert added.args["timestamp"] == "1700000100.000100" and added.args["at"] < reply.args["at"] < removed.args["at"]


def test_a_button_click_is_stored_as_feedback_and_the_message_says_who_rated(
    slack: tuple[FakeSlack, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, api = slack
    with bot_service(handbook_dir, embedder, slack_settings(api)) as (url, container, _bot):
        post_event(url, event(mention(VACATION, "1700000200.000100"), "Ev-rate"))
        [reply] = fake.wait("chat.postMessage")
        helpful = buttons(reply)[0]
        payload = {
            "type": "block_actions",
            "user": {"id": "UBEA", "username": "bea"},
            "team": {"id": "T1"},
            "api_app_id": "A1",
            "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "CPUBLIC"},
            "channel": {"id": "CPUBLIC"},
            "message": {"ts": "1700000000.000001", "text": reply.args["text"], "blocks": blocks_of(reply)},
            "actions": [helpful | {"block_id": "askdocs_feedback", "action_ts": "1700000210.1"}],
            "trigger_id": "1.2.3",
            "response_url": f"{api}/respond",
        }
        assert post_form(url, {"payload": json.dumps(payload)}).status_code == 200
        [update] = fake.wait("chat.update")
        assert container.interactions is not None
        logged = container.interactions.get(helpful["value"])
    assert logged is not None and logged.interaction.channel == "slack" and logged.interaction.asked_by == "slack:UANA"
    assert (
        logged.feedback is not None and logged.feedback.rating == "helpful" and logged.feedback.rated_by == "slack:UBEA"
    )
    assert update.args["ts"] == "1700000000.000001"
    assert "Rated helpful by <@UBEA>" in text_of(update) and buttons(update) == []


def test_dm_and_thread_follow_up_are_answered_and_bots_joins_edits_are_not(
    slack: tuple[FakeSlack, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, api = slack
    with bot_service(handbook_dir, embedder, slack_settings(api)) as (url, _, bot):
        post_event(url, event(message(VACATION, "1700000300.000100", channel="DANA", channel_type="im"), "Ev-dm"))
        [dm] = fake.wait("chat.postMessage")
        post_event(url, event(mention(VACATION, "1700000301.000100"), "Ev-m"))
        fake.wait("chat.postMessage", 2)
        follow = message("And how do I request parental leave?", "1700000302.000100", thread_ts="1700000301.000100")
        post_event(url, event(follow, "Ev-follow"))
        fake.wait("chat.postMessage", 3)
        for n, ignored in enumerate(
            [
                message("How many vacation days do I get?", "1700000303.1"),  # not mentioned; policy: mentions only
                message(VACATION, "1700000303.2", bot_id="BOTHER", channel_type="im", channel="DANA"),
                message("joined", "1700000303.3", subtype="channel_join"),
                message(VACATION, "1700000303.4", subtype="message_changed", channel="DANA", channel_type="im"),
                message(VACATION, "1700000303.5", user=BOT_USER, channel="DANA", channel_type="im"),
            ]
        ):
            assert post_event(url, event(ignored, f"Ev-ignored-{n}")).status_code == 200
        bot.wait_idle()
        posted = fake.of("chat.postMessage")
    assert len(posted) == 3
    assert dm.args["channel"] == "DANA" and dm.args["thread_ts"] == "1700000300.000100" and "25" in text_of(dm)
    assert posted[2].args["thread_ts"] == "1700000301.000100" and "parental" in text_of(posted[2]).lower()


def slash(api: str, channel: str) -> dict[str, str]:
    return {
        "command": "/ask",
        "text": "  How many   vacation days do I get? ",
        "user_id": "UANA",
        "channel_id": channel,
        "team_id": "T1",
        "api_app_id": "A1",
        "trigger_id": "1.2.3",
        "response_url": f"{api}/respond",
    }


def test_slash_command_answers_in_the_channel_or_to_the_asker_alone_in_a_dm_or_where_the_bot_may_not_post(
    slack: tuple[FakeSlack, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fake, api = slack
    fake.not_in = {"CNOTIN"}
    with bot_service(handbook_dir, embedder, slack_settings(api)) as (url, _, bot):
        acked = post_form(url, slash(api, "CPUBLIC"))
        assert acked.status_code == 200 and "Looking up: How many vacation days do I get?" in acked.text
        [answered] = fake.wait("chat.postMessage")
        post_form(url, slash(api, "CNOTIN"))
        fake.wait("chat.postMessage", 2)
        bot.wait_idle()  # CNOTIN's answer went to its response_url instead
        assert fake.responses
        post_form(url, slash(api, "DANA"))  # in a DM (maybe with another person): to the asker alone
        [private] = fake.wait("chat.postEphemeral")
        bot.wait_idle()
    assert len(fake.of("chat.postMessage")) == 2
    assert private.args["user"] == "UANA" and private.args["channel"] == "DANA" and "25" in text_of(private)
    assert "thread_ts" not in answered.args and "<@UANA> asked: How many vacation days do I get?" in text_of(answered)
    assert "25" in text_of(answered)
    [fallback] = fake.responses
    assert fallback["response_type"] == "ephemeral" and "25" in json.dumps(fallback["blocks"])


def test_a_help_channel_answers_questions_without_a_mention_and_stays_silent_when_it_does_not_know(
    slack: tuple[FakeSlack, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    fake, api = slack
    config = write_config(tmp_path, {"channels": {"CHELP": {"answer": "questions", "silent_idk": True}}})
    unknown = "What is the boiling point of mercury on Mars?"
    settings = slack_settings(api, config, idk_hint="Ask in #people-team.")
    with bot_service(handbook_dir, embedder, settings) as (url, _, bot):
        for n, said in enumerate(["Lunch is at noon today.", unknown, VACATION]):
            post_event(url, event(message(said, f"1700001000.00000{n}", channel="CHELP"), f"Ev-help-{n}"))
        post_event(url, event(mention(unknown, "1700001000.000009", channel="CHELP"), "Ev-help-mention"))
        fake.wait("chat.postMessage", 2)
        bot.wait_idle()
        posted = fake.of("chat.postMessage")
    assert [p.args["thread_ts"] for p in sorted(posted, key=lambda p: p.args["thread_ts"])] == [
        "1700001000.000002",  # the question the documents answer
        "1700001000.000009",  # the mention: "I do not know", said plainly, with where to look
    ]
    by_thread = {p.args["thread_ts"]: text_of(p) for p in posted}
    assert "25" in by_thread["1700001000.000002"]
    assert (
        "I do not know: the documents I can search do not answer this. Ask in #people-team."
        in by_thread["1700001000.000009"]
    )


def click(reply: Call, value: str, channel: str, ephemeral: bool) -> dict[str, str]:
    payload = {
        "type": "block_actions",
        "user": {"id": "UANA"},
        "team": {"id": "T1"},
        "api_app_id": "A1",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": channel, "is_ephemeral": ephemeral},
        "channel": {"id": channel},
        "actions": [buttons(reply)[0] | {"value": value, "block_id": "askdocs_feedback", "action_ts": "1.2"}],
        "trigger_id": "1.2.3",
        "response_url": "http://127.0.0.1:9/respond",
    }
    return {"payload": json.dumps(payload)}


def test_a_private_reply_is_ephemeral_and_its_rating_is_stored_and_an_unknown_answer_says_so(
    slack: tuple[FakeSlack, str], handbook_dir: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    fake, api = slack
    config = write_config(tmp_path, {"channels": {"CQUIET": {"private": True}}})
    with bot_service(handbook_dir, embedder, slack_settings(api, config)) as (url, container, _bot):
        post_event(url, event(mention(VACATION, "1700001200.0001", channel="CQUIET"), "Ev-quiet"))
        [private] = fake.wait("chat.postEphemeral")
        interaction_id = buttons(private)[0]["value"]
        post_form(url, click(private, interaction_id, "CQUIET", ephemeral=True))
        post_form(url, click(private, "0" * 32, "CQUIET", ephemeral=True))
        thanks, gone = fake.wait("chat.postEphemeral", 3)[1:]
        assert container.interactions is not None
        logged = container.interactions.get(interaction_id)
    assert (
        private.args["user"] == "UANA" and private.args["thread_ts"] == "1700001200.0001" and "25" in text_of(private)
    )
    assert fake.of("chat.postMessage") == [] and fake.of("chat.update") == []  # nothing in the channel itself
    assert {thanks.args["text"], gone.args["text"]} == {
        "Thank you: rated helpful.",
        "This answer is no longer in the log, so the rating was not recorded.",
    }
    assert logged is not None and logged.feedback is not None and logged.feedback.rated_by == "slack:UANA"
