"""Nothing restricted in a channel: not in the answer, the sources or a thread follow-up; the member's DM (groups
from their e-mail, looked up with users.info) and a private reply do show it."""

from __future__ import annotations

from pathlib import Path

import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from tests.app.test_security import QUESTION, restricted_dir  # noqa: F401 - the fixture
from tests.slackbot.conftest import bot_service, slack_settings, write_config
from tests.slackbot.stand_in import FakeSlack, event, mention, message, post_event, text_of

pytestmark = pytest.mark.store  # every test here builds the service, which opens the store

SECRET_BITS = ("4.2 million", "executive-pay", "Executive compensation")


def shows_secret(text: str) -> bool:
    return any(bit.lower() in text.lower() for bit in SECRET_BITS)


def test_a_restricted_document_is_absent_in_a_public_channel_and_present_in_the_members_dm(
    slack: tuple[FakeSlack, str],
    restricted_dir: Path,  # noqa: F811
    embedder: SentenceTransformerEmbedder,
    tmp_path: Path,
) -> None:
    fake, api = slack
    fake.emails = {"UHR": "Hanna.Rossi@example.com", "UANA": "ana@example.com"}
    config = write_config(
        tmp_path, {"users": {"hanna.rossi@example.com": ["hr"]}, "channels": {"CPRIVATE": {"private": True}}}
    )
    with bot_service(restricted_dir, embedder, slack_settings(api, config)) as (url, _, _bot):
        post_event(url, event(mention(QUESTION, "1700000400.000100", user="UHR"), "Ev-public"))
        fake.wait("chat.postMessage")
        follow = message(QUESTION + " Give the amount.", "1700000401.0001", user="UHR", thread_ts="1700000400.000100")
        post_event(url, event(follow, "Ev-follow"))
        fake.wait("chat.postMessage", 2)
        post_event(
            url, event(message(QUESTION, "1700000402.0001", user="UHR", channel="DHR", channel_type="im"), "Ev-dm")
        )
        fake.wait("chat.postMessage", 3)
        post_event(url, event(mention(QUESTION, "1700000403.0001", channel="CPRIVATE", user="UHR"), "Ev-private"))
        [private] = fake.wait("chat.postEphemeral")
        post_event(
            url, event(message(QUESTION, "1700000404.0001", user="UANA", channel="DANA", channel_type="im"), "Ev-other")
        )
        fake.wait("chat.postMessage", 4)
        posted = fake.of("chat.postMessage")
        looked_up = {c.args["user"] for c in fake.of("users.info")}

    public_reply, follow_up, dm, other_dm = posted
    assert not shows_secret(text_of(public_reply)) and not shows_secret(text_of(follow_up))
    assert follow_up.args["thread_ts"] == "1700000400.000100"
    assert "4.2 million" in text_of(dm) and "executive-pay" in text_of(dm)  # the answer and its source
    assert private.args["user"] == "UHR" and "4.2 million" in text_of(private)
    assert not shows_secret(text_of(other_dm))  # Ana's e-mail maps to no group
    assert looked_up == {"UHR", "UANA"}  # e-mails only for private answers, and once per user
