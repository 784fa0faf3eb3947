"""Generators: a question and numbered context passages in, an answer citing ``[n]`` out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from askdocs.models import AnswerMode, Hit


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
    model: str = ""  # the model that wrote it ("" for extractive answers)
    prompt: str = ""  # the exact text sent to the model, messages rendered as "role: content"


class Generator(Protocol):
    """One answer mode. ``stream`` yields pieces whose texts join into the answer; usage comes on any piece."""

    mode: AnswerMode

    def generate(self, query: Query, contexts: Sequence[Hit]) -> Generated: ...

    def stream(self, query: Query, contexts: Sequence[Hit]) -> Iterator[Generated]: ...


def heading_of(hit: Hit) -> str:
    return " > ".join(hit.chunk.heading_path)


def context_block(n: int, hit: Hit) -> str:
    """One numbered passage as the model sees it: ``[n] title — heading (p. X)`` then the text."""
    label = hit.chunk.title or hit.chunk.source
    heading = heading_of(hit)
    if heading and heading != label:
        label += f" — {heading}"
    if hit.chunk.page:
        label += f" (p. {hit.chunk.page})"
    return f"[{n}] {label}\n{hit.answer_text.strip()}"


def numbered_blocks(contexts: Sequence[Hit]) -> str:
    """The passages as the model sees them, numbered from 1 (the numbers the answer cites)."""
    return "\n\n".join(context_block(n, hit) for n, hit in enumerate(contexts, start=1))
