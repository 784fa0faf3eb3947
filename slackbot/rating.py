"""The feedback buttons: a click records the rating on the logged answer, then the message shows who rated."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slackbot.answerer import Answerer, Rating
from slackbot.blocks import HELPFUL, rated_blocks

log = logging.getLogger("askdocs.slack")
GONE = "This answer is no longer in the log, so the rating was not recorded."
NOT_KEPT = "The rating could not be recorded just now; try again in a minute."


class Ratings:
    def __init__(self, answerer: Answerer) -> None:
        self._answerer = answerer

    def on_click(self, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        rating: Rating = "helpful" if action["action_id"] == HELPFUL else "not_helpful"
        user = str(body["user"]["id"])
        channel = str(body.get("channel", {}).get("id") or body.get("container", {}).get("channel_id"))
        problem = self._record(str(action["value"]), rating, user)
        try:
            if problem:
                client.chat_postEphemeral(channel=channel, user=user, text=problem)
            elif body.get("container", {}).get("is_ephemeral"):  # an ephemeral message cannot be updated
                client.chat_postEphemeral(channel=channel, user=user, text=f"Thank you: rated {_said(rating)}.")
            else:
                message = body["message"]
                blocks = rated_blocks(message.get("blocks", []), rating, user)
                client.chat_update(channel=channel, ts=message["ts"], blocks=blocks, text=message.get("text", ""))
        except SlackApiError as exc:
            log.error("slack: showing the rating in %s failed: %s", channel, exc.response.get("error"))

    def _record(self, interaction_id: str, rating: Rating, user: str) -> str | None:
        """None when recorded, else what to tell the user."""
        try:
            self._answerer.rate(interaction_id, rating, f"slack:{user}")
        except LookupError:
            return GONE
        except Exception:
            log.exception("slack: recording feedback on %s failed", interaction_id)
            return NOT_KEPT
        return None


def _said(rating: Rating) -> str:
    return "helpful" if rating == "helpful" else "not helpful"
