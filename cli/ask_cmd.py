from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from askdocs.errors import AskdocsError, IndexLockedError
from cli.common import clean_errors, console, err_console, service_holding, settings_or_exit


def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the /ask JSON.")] = False,
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, max=50)] = None,
    groups: Annotated[
        list[str] | None, typer.Option("--group", help="Ask as a member of this group (repeat for several).")
    ] = None,
) -> None:
    """Answer a question from the index (the same answer and sources as POST /ask)."""
    settings = settings_or_exit()
    with clean_errors():
        try:
            body = _ask_locally(settings, question, top_k, groups or [])
        except IndexLockedError as exc:
            body = service_holding(settings, exc).ask(question, top_k=top_k, groups=groups or [])
    if as_json:
        console.print_json(json.dumps(body))
        return
    _print_answer(body)


def _ask_locally(settings: Any, question: str, top_k: int | None, groups: list[str]) -> dict[str, Any]:
    from askdocs.components import make_embedder, make_pipeline, open_checked_index
    from askdocs.qa.pipeline import AskOptions
    from askdocs.qa.response import answer_body  # the same JSON as POST /ask

    embedder = make_embedder(settings)
    index = open_checked_index(settings, embedder)
    try:
        index.count()  # surfaces a locked index before any work
        result = make_pipeline(settings, embedder, index).ask(question, AskOptions(top_k=top_k, groups=groups))
    finally:
        index.close()
    return answer_body(result) | {"interaction_id": _logged(settings, question, result)}


def _logged(settings: Any, question: str, result: Any) -> str | None:
    """Into the interaction log, as the service logs its answers; a store that fails costs the log entry only."""
    if not settings.log.enabled:
        return None
    from askdocs.store.interactions import interaction_of
    from askdocs.store.store import open_store

    interaction = interaction_of(result, question=question, channel="cli", redact=settings.log.redact_questions)
    try:
        with open_store(settings) as store:
            store.interactions.record(interaction)
    except AskdocsError as exc:
        err_console.print(f"[yellow]warning:[/] the answer was not logged: {exc}", highlight=False)
        return None
    return interaction.interaction_id


def _print_answer(body: dict[str, Any]) -> None:
    """Document text is escaped: a "[draft]" in a title or an answer is text, not rich markup."""
    console.print(escape(body["answer"]), highlight=False)
    if body["sources"]:
        console.print("\n[bold]Sources[/]")
    for s in body["sources"]:
        where = s["url_or_path"] + (f", p. {s['page']}" if s.get("page") else "")
        heading = f" — {s['heading']}" if s.get("heading") else ""
        console.print(escape(f"  [{s['n']}] {s['title']}{heading} ({where}) score {s['score']:.2f}"), highlight=False)
    if body.get("degraded"):
        console.print(f"[yellow]degraded:[/] {escape(str(body.get('reason')))}")
    console.print(f"[dim]{body['mode']}, {body['timings_ms']['total']:.0f} ms[/]")
