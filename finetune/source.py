"""Which logged answers become fine-tuning examples: rated helpful, or corrected by a person."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from askdocs.qa.citations import resolve_citations
from askdocs.store.interactions import Logged
from finetune.dataset import Example
from finetune.embeddings import Pair


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


_BLOCK = re.compile(r"^\[(\d+)\] ", re.MULTILINE)


def passages_of(context: str) -> dict[int, str]:
    """The numbered passages of a logged context (``[n] title — heading`` then the text), by number, each as
    its heading line and text without the marker."""
    marks = list(_BLOCK.finditer(context))
    blocks = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(context)
        blocks[int(mark.group(1))] = context[mark.end() : end].strip()
    return blocks


@dataclass(frozen=True, slots=True)
class LoggedPairs:
    pairs: list[Pair]
    helpful: int  # interactions rated helpful (or corrected)
    without_passage: int  # helpful, but redacted, or no passage could be read back


def pairs_from_log(logged: Sequence[Logged]) -> LoggedPairs:
    """(question, passage) for every passage a helpful (or corrected) answer cites; an answer citing none gives
    its first passage (extractive answers quote it without a marker)."""
    pairs: list[Pair] = []
    helpful = bare = 0
    for item in logged:
        feedback, interaction = item.feedback, item.interaction
        if feedback is None or (feedback.rating != "helpful" and not (feedback.corrected_answer or "").strip()):
            continue
        helpful += 1
        passages = passages_of(interaction.context)
        if interaction.question is None or not passages:
            bare += 1
            continue
        answer = (feedback.corrected_answer or "").strip() or interaction.answer
        cited = resolve_citations(answer, max(passages))
        numbers = cited.order[: cited.cited] or (min(passages),)
        pairs.extend(Pair(interaction.question, passages[n]) for n in numbers if passages.get(n))
    return LoggedPairs(pairs, helpful, bare)
