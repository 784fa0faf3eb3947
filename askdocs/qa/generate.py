"""Generators: a question and numbered context passages in, an answer citing ``[n]`` out."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from askdocs.models import AnswerMode, Hit

I_DO_NOT_KNOW = "I do not know."


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    vector: np.ndarray


@dataclass(frozen=True, slots=True)
class Generated:
    text: str
    mode: AnswerMode
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Generator(Protocol):
    """One answer mode. ``stream`` yields pieces whose texts join into the answer; usage comes on any piece."""

    mode: AnswerMode

    def generate(self, query: Query, contexts: Sequence[Hit]) -> Generated: ...

    def stream(self, query: Query, contexts: Sequence[Hit]) -> Iterator[Generated]: ...


def heading_of(hit: Hit) -> str:
    return " > ".join(str(h) for h in hit.payload.get("heading_path") or [])


def context_block(n: int, hit: Hit) -> str:
    """One numbered passage as the model sees it: ``[n] title — heading (p. X)`` then the text."""
    label = str(hit.payload.get("title") or hit.payload.get("source") or "")
    heading = heading_of(hit)
    if heading and heading != label:
        label += f" — {heading}"
    if hit.payload.get("page"):
        label += f" (p. {hit.payload['page']})"
    return f"[{n}] {label}\n{hit.answer_text.strip()}"


def numbered_blocks(contexts: Sequence[Hit]) -> str:
    """The passages as the model sees them, numbered from 1 (the numbers the answer cites)."""
    return "\n\n".join(context_block(n, hit) for n, hit in enumerate(contexts, start=1))


_CITATION = re.compile(r"\[(\d+)\]")


def cited_numbers(text: str) -> list[int]:
    """The ``[n]`` markers of an answer, in order of first appearance."""
    seen: list[int] = []
    for match in _CITATION.finditer(text):
        n = int(match.group(1))
        if n not in seen:
            seen.append(n)
    return seen
