"""The bot's replies in Block Kit, built from a :class:`Reply` without talking to Slack.

Slack's limits: a section's text at most 3,000 characters, a message at most 50 blocks. The answer's ``[n]``
become links to source n when it has a URL.
"""

from __future__ import annotations

import re
from typing import Any

from askdocs.models import Source
from slackbot.answerer import Rating, Reply

Block = dict[str, Any]

SECTION_CHARS = 3000
MAX_BLOCKS = 50
FEEDBACK_BLOCK = "askdocs_feedback"
HELPFUL, NOT_HELPFUL = "askdocs_helpful", "askdocs_not_helpful"
UNAVAILABLE = "askdocs is unavailable, try again in a minute."
FAILED = "Something went wrong while answering (it is logged for the team that runs askdocs). Try again in a minute."
DEGRADED = ":warning: The language model is unavailable, so this answer quotes the sources directly (extractive)."
UNCITED = ":warning: This answer cites none of its sources: check it against them before relying on it."
IDK = "I do not know: the documents I can search do not answer this."
CUT = "… (cut: Slack shows at most 50 blocks; ask a narrower question for the rest)"
_CITATION = re.compile(r"\[(\d+)\]")


def escape(text: str) -> str:
    """Slack mrkdwn's three control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def is_link(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def linked(answer: str, sources: tuple[Source, ...]) -> str:
    """The answer escaped for mrkdwn, each ``[n]`` a link to source n when that source has a URL."""
    urls = {s.n: s.url_or_path for s in sources if is_link(s.url_or_path)}

    def link(match: re.Match[str]) -> str:
        url = urls.get(int(match.group(1)))
        return f"<{escape(url)}|[{match.group(1)}]>" if url else match.group(0)

    return _CITATION.sub(link, escape(answer))


def split_text(text: str, limit: int = SECTION_CHARS) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at a paragraph, a line, a sentence or a space (never inside a
    ``<link|label>``), hard only when a single word is longer than ``limit``."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_at(rest, limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [*pieces, rest] if rest else pieces


def _cut_at(text: str, limit: int) -> int:
    window = text[:limit]
    for mark in ("\n\n", "\n", ". ", " "):
        at = window.rfind(mark)
        while at > 0 and window.rfind("<", 0, at) > window.rfind(">", 0, at):  # inside a link
            at = window.rfind(mark, 0, at)
        if at > 0:
            return at + len(mark)
    return limit


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def source_line(source: Source) -> str:
    title = escape(source.title or source.url_or_path)
    named = (
        f"<{escape(source.url_or_path)}|{title}>"
        if is_link(source.url_or_path)
        else f"{title} ({escape(source.url_or_path)})"
    )
    where = [escape(source.heading)] if source.heading else []
    if source.page is not None:
        where.append(f"p. {source.page}")
    return f"[{source.n}] {named}" + (f" — {', '.join(where)}" if where else "")


def feedback_buttons(interaction_id: str) -> Block:
    def button(label: str, action: str, style: str | None) -> Block:
        out: Block = {
            "type": "button",
            "text": {"type": "plain_text", "text": label, "emoji": True},
            "action_id": action,
            "value": interaction_id,
        }
        return out | ({"style": style} if style else {})

    return {
        "type": "actions",
        "block_id": FEEDBACK_BLOCK,
        "elements": [button(":+1: Helpful", HELPFUL, "primary"), button(":-1: Not helpful", NOT_HELPFUL, None)],
    }


def answer_blocks(reply: Reply, *, max_sources: int = 5, idk_hint: str = "", header: str = "") -> list[Block]:
    """The whole reply: ``header`` (mrkdwn), answer sections, warnings, sources, feedback buttons; at most 50
    blocks."""
    head = [context(header)] if header else []
    tail: list[Block] = []
    if reply.degraded:
        tail.append(context(DEGRADED))
    if reply.uncited and not reply.idk:
        tail.append(context(UNCITED))
    shown = reply.sources[:max_sources]
    if shown and not reply.idk:
        tail.append(context("*Sources*"))
        tail.extend(section(source_line(s)) for s in shown)
    if reply.interaction_id:
        tail.append(feedback_buttons(reply.interaction_id))
    text = IDK + (f" {escape(idk_hint)}" if idk_hint else "") if reply.idk else linked(reply.answer, reply.sources)
    body = [section(piece) for piece in split_text(text)]
    room = MAX_BLOCKS - len(tail) - len(head)
    if len(body) > room:
        body = [
            *body[: room - 1],
            section(split_text(body[room - 1]["text"]["text"], SECTION_CHARS - len(CUT))[0] + CUT),
        ]
    return head + body + tail


def fallback_text(reply: Reply, limit: int = 300) -> str:
    """The notification text (Slack shows it where blocks cannot be)."""
    text = IDK if reply.idk else reply.answer
    return text if len(text) <= limit else text[: limit - 1] + "…"


def notice_blocks(text: str) -> list[Block]:
    """A plain message: unavailable, failed, refused."""
    return [section(escape(text))]


def rated_blocks(blocks: list[Block], rating: Rating, user_id: str) -> list[Block]:
    """The message's blocks with the feedback buttons replaced by who rated it."""
    said = ":+1: Rated helpful" if rating == "helpful" else ":-1: Rated not helpful"
    note = context(f"{said} by <@{escape(user_id)}>. Thank you.")
    return [note if b.get("block_id") == FEEDBACK_BLOCK else b for b in blocks]
