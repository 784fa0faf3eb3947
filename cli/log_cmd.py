"""``askdocs log``: the interaction log, every answer askdocs gave and its feedback."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.common import clean_errors, console, fail, settings_or_exit

log_app = typer.Typer(help="The interaction log: every answer askdocs gave, and its feedback.", no_args_is_help=True)

Since = Annotated[str | None, typer.Option(help="Only the last ..., e.g. 7d, 12h, 30m.")]
Rating = Annotated[str | None, typer.Option(help="helpful or not_helpful.")]


def _query(rating: str | None, mode: str | None, since: str | None, idk: bool | None, limit: int) -> Any:
    from askdocs.store.interactions import RATINGS, LogQuery, parse_age

    if rating is not None and rating not in RATINGS:
        fail(f"unknown rating {rating!r}; available: {', '.join(RATINGS)}")
    try:
        start = time.time() - parse_age(since) if since else None
    except ValueError as exc:
        fail(str(exc))
    return LogQuery(rating, mode, start, idk, None, limit)


@contextmanager
def _interactions() -> Iterator[Any]:
    from askdocs.store.store import open_store

    with open_store(settings_or_exit()) as store:
        yield store.interactions


@log_app.command("list")
def list_(
    since: Since = None,
    rating: Rating = None,
    mode: Annotated[str | None, typer.Option(help="extractive, prompted or finetuned.")] = None,
    idk: Annotated[bool, typer.Option("--idk", help='Only "I do not know" answers.')] = False,
    limit: Annotated[int, typer.Option(min=1)] = 20,
) -> None:
    """The latest answers, newest first."""
    with clean_errors(), _interactions() as interactions:
        found = interactions.find(_query(rating, mode, since, True if idk else None, limit))
    table = Table("id", "when (UTC)", "channel", "mode", "question", "answer", "rating")
    for item in found:
        i = item.interaction
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(i.created_at))
        question = i.question if i.question is not None else f"(redacted {i.question_hash[:12]})"
        rated = item.feedback.rating if item.feedback else ""
        table.add_row(i.interaction_id, when, i.channel, i.mode, question, _short(i.answer), rated)
    console.print(table)


@log_app.command("show")
def show(interaction_id: Annotated[str, typer.Argument(help="An id from `askdocs log list` or /ask.")]) -> None:
    """One answer with everything that led to it, as JSON."""
    with clean_errors(), _interactions() as interactions:
        found = interactions.get(interaction_id)
    if found is None:
        fail(f"no interaction {interaction_id!r} in the log")
    console.print_json(json.dumps(found.to_json()))


@log_app.command("export")
def export(
    out: Annotated[Path | None, typer.Option(help="File to write (default: standard output).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    since: Since = None,
    rating: Rating = None,
    limit: Annotated[int, typer.Option(min=1)] = 1_000_000,
) -> None:
    """Export logged answers with their feedback."""
    if fmt not in ("jsonl", "csv"):
        fail(f"unknown format {fmt!r}; available: csv, jsonl")
    with clean_errors(), _interactions() as interactions:
        found = interactions.find(_query(rating, None, since, None, limit))
    rows = [item.to_json() for item in found]
    target = out.open("w", encoding="utf-8", newline="") if out else sys.stdout
    try:
        if fmt == "jsonl":
            target.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        else:
            _csv(target, rows)
    finally:
        if out:
            target.close()
    if out:
        console.print(f"wrote {len(rows)} interactions to {out}")


def _csv(target: Any, rows: list[dict[str, Any]]) -> None:
    columns = [
        "interaction_id",
        "created_at",
        "channel",
        "asked_by",
        "question",
        "answer",
        "mode",
        "model",
        "idk",
        "degraded",
        "prompt_tokens",
        "completion_tokens",
        "rating",
        "comment",
        "corrected_answer",
    ]
    writer = csv.DictWriter(target, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row | (row.get("feedback") or {}))


@log_app.command("stats")
def stats(
    since: Since = "7d", as_json: Annotated[bool, typer.Option("--json", help="Print the JSON.")] = False
) -> None:
    """Questions per day, answered vs "I do not know", ratings, latency by mode, frequent open questions."""
    from askdocs.store.stats import log_stats

    with clean_errors(), _interactions() as interactions:
        found = interactions.find(_query(None, None, since, None, 1_000_000))
    figures = log_stats(found)
    if as_json:
        console.print_json(json.dumps({"since": since} | asdict(figures)))
        return
    console.print(
        f"{figures.questions} questions since {since or 'the start'}: {figures.answered_share:.0%} answered, "
        f'{figures.idk_share:.0%} "I do not know", {figures.degraded} degraded; rated {figures.rated}: '
        f"{figures.helpful} helpful, {figures.not_helpful} not helpful"
    )
    for day, n in figures.per_day.items():
        console.print(f"  {day}  {n}")
    for mode, lat in figures.latency_ms.items():
        console.print(f"  {mode}: n {lat['n']:.0f}, p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms")
    if figures.unanswered:
        console.print("Most frequent unanswered questions:")
        for row in figures.unanswered:
            console.print(f"  {row['count']:>4}  {row['question']}", highlight=False)


@log_app.command("prune")
def prune(older_than: Annotated[str, typer.Option("--older-than", help="e.g. 90d.")]) -> None:
    """Delete interactions (and their feedback) older than the given age."""
    from askdocs.store.interactions import parse_age

    try:
        age = parse_age(older_than)
    except ValueError as exc:
        fail(str(exc))
    with clean_errors(), _interactions() as interactions:
        removed = interactions.prune(time.time() - age)
    console.print(f"removed {removed} interactions older than {older_than}")


def _short(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
