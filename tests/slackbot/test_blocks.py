"""The reply's Block Kit, built without Slack: links, splitting under Slack's limits, sources, warnings, ratings."""

from __future__ import annotations

import json

from askdocs.models import Source
from slackbot.answerer import Reply
from slackbot.blocks import (
    CUT,
    DEGRADED,
    FEEDBACK_BLOCK,
    IDK,
    MAX_BLOCKS,
    SECTION_CHARS,
    UNCITED,
    answer_blocks,
    linked,
    rated_blocks,
    split_text,
)

WEB = Source(1, "Leave policy", "https://intranet.example.com/leave?a=1&b=2", None, "Vacation", 0.6, "", cited=True)
PDF = Source(2, "Handbook", "/share/handbook.pdf", 12, "Benefits", 0.5, "", cited=True)


def dumps(blocks: object) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def reply(answer: str, sources: tuple[Source, ...] = (WEB, PDF), **more: object) -> Reply:
    fields: dict[str, object] = {"mode": "prompted", "degraded": False, "uncited": False, "interaction_id": "abc"}
    return Reply(answer, sources, **(fields | more))  # type: ignore[arg-type]


def test_citations_become_links_to_web_sources_and_text_is_escaped() -> None:
    text = linked("25 days [1] & more <b> [2] [7].", (WEB, PDF))
    assert text == "25 days <https://intranet.example.com/leave?a=1&amp;b=2|[1]> &amp; more &lt;b&gt; [2] [7]."


def test_split_keeps_every_piece_under_the_limit_and_never_cuts_a_link() -> None:
    link = "<https://example.com/" + "x" * 60 + "|[1]>"
    text = " ".join(f"Word{n} {link}" if n % 7 == 0 else f"Word{n}." for n in range(3000))
    pieces = split_text(text, 500)
    assert all(len(p) <= 500 for p in pieces) and len(pieces) > 10
    assert " ".join(pieces) == text
    assert all(p.count("<") == p.count(">") for p in pieces)
    assert split_text("x" * 1200, 500) == ["x" * 500, "x" * 500, "x" * 200]  # one long word: cut hard


def test_a_huge_answer_is_cut_at_fifty_blocks_and_says_so() -> None:
    blocks = answer_blocks(reply("A sentence that goes on. " * 10_000))
    assert len(blocks) == MAX_BLOCKS
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(s) <= SECTION_CHARS for s in sections)
    assert any(s.endswith(CUT) for s in sections)
    assert blocks[-1]["block_id"] == FEEDBACK_BLOCK  # the buttons and sources survive the cut


def test_sources_at_most_five_with_title_heading_page_and_links() -> None:
    many = tuple(Source(n, f"Doc {n}", f"https://x.example/{n}", n, f"H{n}", 0.5, "") for n in range(1, 9))
    shown = dumps(answer_blocks(reply("See [1].", many), max_sources=5))
    assert "Doc 5" in shown and "Doc 6" not in shown and "<https://x.example/3|Doc 3> — H3, p. 3" in shown
    pdf = dumps(answer_blocks(reply("See [2].")))
    assert "[2] Handbook (/share/handbook.pdf) — Benefits, p. 12" in pdf


def test_warnings_for_a_degraded_or_uncited_answer_and_plain_i_do_not_know() -> None:
    assert DEGRADED in dumps(answer_blocks(reply("25 days [1].", mode="extractive", degraded=True)))
    assert UNCITED in dumps(answer_blocks(reply("Plenty.", uncited=True)))
    idk = answer_blocks(reply("I do not know.", (), uncited=True), idk_hint="Ask #people-team.")
    assert idk[0]["text"]["text"] == f"{IDK} Ask #people-team."
    assert UNCITED not in dumps(idk) and "Sources" not in dumps(idk)
    assert [b["type"] for b in answer_blocks(reply("Yes [1].", interaction_id=None))][-1] != "actions"  # log off


def test_a_rating_replaces_the_buttons_with_who_rated() -> None:
    blocks = answer_blocks(reply("25 days [1]."))
    rated = rated_blocks(blocks, "not_helpful", "U42")
    assert len(rated) == len(blocks) and all(b.get("block_id") != FEEDBACK_BLOCK for b in rated)
    assert rated[-1]["elements"][0]["text"] == ":-1: Rated not helpful by <@U42>. Thank you."
