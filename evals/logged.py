"""Logged questions as an evaluation set: those rated helpful (or corrected), with the answer people accepted
as the reference, asked again over the service's own index."""

from __future__ import annotations

from askdocs.settings import Settings
from askdocs.store.interactions import LogQuery
from askdocs.store.store import open_store
from evals.squad import Dataset, EvalQuestion


def logged_dataset(settings: Settings, since: float | None = None) -> Dataset:
    """Every distinct question rated helpful or corrected; the corrected answer wins over the logged one."""
    with open_store(settings) as store:
        logged = store.interactions.find(LogQuery(since=since, limit=10_000_000))
    questions: dict[str, EvalQuestion] = {}
    for item in reversed(logged):  # oldest first: a later rating of the same question wins
        rated, asked = item.feedback, item.interaction.question
        if rated is None or asked is None:
            continue
        reference = (rated.corrected_answer or "").strip() or (
            item.interaction.answer if rated.rating == "helpful" else ""
        )
        if reference:
            questions[asked] = EvalQuestion(item.interaction.interaction_id, asked, "", (), (reference,), True)
    return Dataset("log", [], list(questions.values()))
