"""Logged answers into chat fine-tuning data: one example per interaction, in OpenAI's chat JSONL, which
OpenAI-compatible fine-tuning APIs and open trainers (TRL, Axolotl, Unsloth) read as it is.

Two formats, built by the functions the service answers with (``askdocs.qa.llm``), so an example is exactly
what the model will be sent: ``instructions`` (the prompted mode's system rules kept in every example; best
under ~100 examples) and ``template`` (the finetuned mode's short ``Question:/Context:`` message).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from askdocs.errors import InputError
from askdocs.models import says_idk
from askdocs.qa.llm import finetuned_messages, prompted_messages

Format = Literal["instructions", "template"]
FORMATS: tuple[Format, ...] = ("instructions", "template")
MIN_EXAMPLES = 10  # fewer teach nothing (OpenAI refuses fewer than 10 too)
CHARS_PER_TOKEN = 4  # the usual estimate for English text with GPT tokenizers; no tokenizer file ships here


@dataclass(frozen=True, slots=True)
class Example:
    """A logged answer worth learning from: the question, the passages it was answered from, and the answer
    (a person's correction when there is one)."""

    interaction_id: str
    question: str
    context: str  # the numbered passages, as the model saw them
    answer: str

    @property
    def says_idk(self) -> bool:
        return says_idk(self.answer)


@dataclass(slots=True)
class Split:
    train: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    duplicates: int = 0
    idk_kept: int = 0
    idk_dropped: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def examples(self) -> int:
        return len(self.train) + len(self.validation)


def chat_example(example: Example, fmt: Format) -> dict[str, Any]:
    """One JSONL line: the messages the service would send, then the answer it should give."""
    if fmt == "instructions":
        messages = prompted_messages(example.question, example.context)
    elif fmt == "template":
        messages = finetuned_messages(example.question, example.context)
    else:
        raise InputError(f"unknown format {fmt!r}; available: {', '.join(FORMATS)}")
    return {"messages": [*messages, {"role": "assistant", "content": example.answer.strip()}]}


def build_split(
    examples: Sequence[Example],
    fmt: Format,
    *,
    val_fraction: float = 0.1,
    idk_share: float = 0.1,
    seed: int = 0,
) -> Split:
    """Duplicates removed, the "I do not know" share capped, then train/validation split by question (the same
    question never lands on both sides). Fewer than MIN_EXAMPLES usable examples is an InputError."""
    if not 0 <= val_fraction < 1:
        raise InputError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    if not 0 <= idk_share <= 1:
        raise InputError(f"--include-idk-share must be in [0, 1], got {idk_share}")
    unique = _deduplicated(examples)
    kept, dropped = _cap_idk(unique, idk_share, seed)
    if len(kept) < MIN_EXAMPLES:
        raise InputError(
            f"only {len(kept)} usable examples (of {len(examples)} logged answers: {len(examples) - len(unique)} "
            f"duplicates, {dropped} 'I do not know' over the cap); fine-tuning needs at least {MIN_EXAMPLES}. "
            "Rate more answers helpful (POST /feedback or the Slack buttons), or lower --min-rating / --since"
        )
    train, validation = _by_question(kept, val_fraction, seed)
    idk = sum(e.says_idk for e in kept)
    return Split(
        [chat_example(e, fmt) for e in train],
        [chat_example(e, fmt) for e in validation],
        duplicates=len(examples) - len(unique),
        idk_kept=idk,
        idk_dropped=dropped,
    )


def estimated_tokens(line: dict[str, Any]) -> int:
    """Tokens of one example, estimated from its characters (CHARS_PER_TOKEN) plus a few per message."""
    messages = line.get("messages") or []
    return sum(len(str(m.get("content") or "")) // CHARS_PER_TOKEN + 4 for m in messages if isinstance(m, dict))


def _key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def _deduplicated(examples: Sequence[Example]) -> list[Example]:
    """The first of each (question, answer) pair, compared without case and punctuation."""
    seen: set[tuple[str, str]] = set()
    out = []
    for example in examples:
        key = (_key(example.question), _key(example.answer))
        if key not in seen:
            seen.add(key)
            out.append(example)
    return out


def _cap_idk(examples: list[Example], share: float, seed: int) -> tuple[list[Example], int]:
    """Keep at most ``share`` of the kept examples saying "I do not know" (too many teach a model to refuse)."""
    answers = [e for e in examples if not e.says_idk]
    idk = [e for e in examples if e.says_idk]
    allowed = int(share * len(answers) / (1 - share)) if share < 1 else len(idk)
    random.Random(seed).shuffle(idk)
    chosen = {id(e) for e in idk[:allowed]}
    return [e for e in examples if not e.says_idk or id(e) in chosen], max(0, len(idk) - allowed)


def _by_question(examples: list[Example], val_fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Each distinct question goes wholly to one side, chosen by a seeded hash (stable as the log grows)."""
    if val_fraction == 0:
        return examples, []
    salt = str(seed).encode()

    def to_validation(example: Example) -> bool:
        digest = hashlib.sha256(salt + _key(example.question).encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < val_fraction

    train = [e for e in examples if not to_validation(e)]
    validation = [e for e in examples if to_validation(e)]
    if not validation or not train:  # a tiny log: put at least one question on each side when there are two
        questions = sorted({_key(e.question) for e in examples})
        if len(questions) >= 2:
            held = questions[-1]
            train = [e for e in examples if _key(e.question) != held]
            validation = [e for e in examples if _key(e.question) == held]
    return train, validation
