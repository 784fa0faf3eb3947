"""Which logged answers become fine-tuning examples: rated helpful, or corrected by a person."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from askdocs.finetune.dataset import Example
from askdocs.store.interactions import Logged


@dataclass(frozen=True, slots=True)
class Selected:
    examples: list[Example]
    considered: int
    redacted: int  # rated, but the question was not kept (ASKDOCS_LOG__REDACT_QUESTIONS)
    without_context: int  # answered without passages (nothing to learn to cite from)


def examples_from_log(logged: Sequence[Logged], min_rating: str = "helpful") -> Selected:
    """``min_rating`` helpful: answers rated helpful, and any answer a person corrected (the correction is the
    example's answer: it wins over the generated one). ``any``: every rated answer."""
    examples, redacted, bare, rated = [], 0, 0, 0
    for item in logged:
        feedback, interaction = item.feedback, item.interaction
        if feedback is None:
            continue
        rated += 1
        corrected = (feedback.corrected_answer or "").strip()
        if min_rating == "helpful" and feedback.rating != "helpful" and not corrected:
            continue
        if interaction.question is None:
            redacted += 1
            continue
        if not interaction.context.strip():
            bare += 1
            continue
        answer = corrected or interaction.answer
        examples.append(Example(interaction.interaction_id, interaction.question, interaction.context, answer))
    return Selected(examples, rated, redacted, bare)
