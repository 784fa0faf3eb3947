"""Optional question rewriting for search: an LLM turns a chatty question into a short search query.

Only retrieval sees the rewrite; the answer is generated for the user's own words. Any failure falls back to
the original question: rewriting may improve recall, it must never cost an answer.
"""

from __future__ import annotations

import logging
from typing import Protocol

import openai

log = logging.getLogger(__name__)

REWRITE_PROMPT = (
    "Rewrite the user's question as one short, plain search query for a company's internal documents: keep "
    "every name, number and technical term, drop greetings and filler, do not answer it. Reply with the query only."
)


class QuestionRewriter(Protocol):
    def rewrite(self, question: str) -> str: ...


class LLMRewriter:
    def __init__(self, client: openai.OpenAI, model: str, *, max_chars: int = 400) -> None:
        self._client = client
        self._model = model
        self._max_chars = max_chars

    def rewrite(self, question: str) -> str:
        try:
            response = self._client.chat.completions.create(
                model=self._model,
                messages=[{"role": "system", "content": REWRITE_PROMPT}, {"role": "user", "content": question}],
                temperature=0.0,
                max_tokens=64,
            )
        except openai.OpenAIError as exc:
            log.warning("question rewrite failed, searching with the question as asked: %s", exc)
            return question
        text = (response.choices[0].message.content or "").strip() if response.choices else ""
        text = " ".join(text.strip("\"'").split())
        return text[: self._max_chars] if text else question
