"""Extractive answers: the passages' sentences closest in meaning to the question, with their citations.

Used when no LLM is configured, and as the fallback when the LLM fails. With an AnswerCheck, an answer the check
does not trust becomes "I do not know".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from askdocs.embedding import Embedder
from askdocs.models import I_DO_NOT_KNOW, AnswerMode, Hit
from askdocs.qa.abstain import AnswerCheck, Evidence
from askdocs.qa.generate import Generated, Query
from askdocs.qa.table_rows import Row, rows_and_lines
from chunkers.base import sentences

_MAX_SENTENCE_CHARS = 600


class ExtractiveGenerator:
    mode: AnswerMode = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        *,
        check: AnswerCheck | None = None,
        passages: int = 3,
        max_sentences: int = 2,
        margin: float = 0.08,
    ) -> None:
        self._embedder = embedder
        self._check = check
        self._passages = passages
        self._max_sentences = max_sentences
        self._margin = margin  # a second sentence joins only if it scores within this of the best

    def generate(self, query: Query, contexts: Sequence[Hit]) -> Generated:
        generated, evidence = self.draft(query, contexts)
        if self._check is not None and generated.text and not self._check.should_answer(evidence):
            return Generated(I_DO_NOT_KNOW, "extractive")
        return generated

    def draft(self, query: Query, contexts: Sequence[Hit]) -> tuple[Generated, Evidence]:
        """The answer before any check, and the evidence a check judges it by."""
        candidates: list[tuple[int, int, str]] = []  # (source number, position, sentence or table row)
        quotes: list[str] = []  # each candidate as the answer quotes it (a row with its columns)
        for n, hit in enumerate(contexts[: self._passages], start=1):
            for position, (sentence, quote) in enumerate(_sentences(hit.answer_text)):
                candidates.append((n, position, sentence))
                quotes.append(quote)
        if not candidates:
            return Generated("", "extractive"), Evidence(query.text, contexts, [], np.zeros(0))
        vectors = self._embedder.embed_documents([s for _, _, s in candidates])
        cosines = vectors @ query.vector
        evidence = Evidence(query.text, contexts, [s for _, _, s in candidates], cosines)
        # Meaning first; a small bonus for sentences of better-ranked passages breaks near-ties.
        scores = cosines - 0.02 * np.array([n - 1 for n, _, _ in candidates], dtype=np.float32)
        order = np.argsort(-scores)
        best = float(scores[order[0]])
        chosen = [int(i) for i in order[: self._max_sentences] if float(scores[i]) >= best - self._margin]
        # A sentence that announces what follows ("... as follows:") brings the next one along.
        for i in list(chosen):
            if candidates[i][2].endswith(":") and i + 1 < len(candidates) and candidates[i + 1][0] == candidates[i][0]:
                chosen.append(i + 1)
        chosen = sorted(set(chosen), key=lambda i: (candidates[i][0], candidates[i][1]))
        text = " ".join(f"{quotes[i]} [{candidates[i][0]}]" for i in chosen)
        return Generated(text, "extractive"), evidence

    def stream(self, query: Query, contexts: Sequence[Hit]) -> Iterator[Generated]:
        """Nothing to stream: the whole answer as one piece."""
        yield self.generate(query, contexts)


def _sentences(text: str) -> list[tuple[str, str]]:
    """The passage's answer candidates: (what its meaning is judged by, what the answer quotes). A table row is one
    candidate, quoted with its columns, so the answer shows the number with what it is and when."""
    out = []
    for unit in rows_and_lines(text):
        if isinstance(unit, Row):
            # Judged by its label: the amounts say nothing of what the row is about.
            out.append((unit.label[:_MAX_SENTENCE_CHARS], unit.quote()[:_MAX_SENTENCE_CHARS]))
            continue
        for sentence in sentences(unit.strip().lstrip("-* ").strip()):
            # Headings and labels ("Dental care") are not answers; short lines with figures may be.
            if len(sentence.split()) >= 4 or any(ch.isdigit() for ch in sentence):
                out.append((sentence[:_MAX_SENTENCE_CHARS],) * 2)
    return out
