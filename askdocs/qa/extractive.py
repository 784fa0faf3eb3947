"""Extractive answers: the passages' sentences closest in meaning to the question, with their citations.

Used when no LLM is configured, and as the fallback when the LLM fails. With an AnswerCheck, an answer the check
does not trust becomes "I do not know".

The candidates' vectors come from the index (``stored``: the vectors ingest made when it embedded their chunk,
askdocs/sentences.py), so answering calls no model after the question's vector. A candidate without one (cut at a
chunk boundary, from a chunk not fetched, or an index made before they were stored) is embedded here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from askdocs.embedding import Embedder
from askdocs.errors import VectorIndexError
from askdocs.models import I_DO_NOT_KNOW, AnswerMode, Hit, SentenceVectors
from askdocs.qa.abstain import AnswerCheck, Evidence, content_words
from askdocs.qa.candidates import candidates as _sentences
from askdocs.qa.candidates import sentence_key
from askdocs.qa.generate import Generated, Query

log = logging.getLogger(__name__)
# The stored candidate vectors of some points (the index's ``sentence_vectors``); None: the index keeps none.
SentenceLookup = Callable[[Sequence[str]], dict[str, SentenceVectors] | None]


class ExtractiveGenerator:
    mode: AnswerMode = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        *,
        check: AnswerCheck | None = None,
        stored: SentenceLookup | None = None,
        passages: int = 3,
        max_sentences: int = 2,
        margin: float = 0.5,
        words: float = 0.1,
    ) -> None:
        self._embedder = embedder
        self._check = check
        self._stored = stored
        self._warned = False  # about an index without stored candidate vectors, once
        self._passages = passages
        self._max_sentences = max_sentences
        # A second sentence joins only if it scores within this many standard deviations of the candidates' cosines
        # of the best: the stored vectors of one chunk's sentences score closer together than sentences embedded
        # alone, so a fixed margin let more sentences join (docs/EVAL.md, issue 26).
        self._margin = margin
        self._words = words  # the bonus of a sentence holding all the question's words

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
        cosines = self._vectors(contexts[: self._passages], [s for _, _, s in candidates]) @ query.vector
        evidence = Evidence(query.text, contexts, [s for _, _, s in candidates], cosines)
        # Meaning first; small bonuses for sentences of better-ranked passages and for the question's words break
        # near-ties.
        scores = (
            cosines
            - 0.02 * np.array([n - 1 for n, _, _ in candidates], dtype=np.float32)
            + self._words * _overlap(query.text, [s for _, _, s in candidates])
        )
        order = np.argsort(-scores)
        least = float(scores[order[0]]) - self._margin * float(np.std(cosines))
        chosen = [int(i) for i in order[: self._max_sentences] if float(scores[i]) >= least]
        # A sentence that announces what follows ("... as follows:") brings the next one along.
        for i in list(chosen):
            if candidates[i][2].endswith(":") and i + 1 < len(candidates) and candidates[i + 1][0] == candidates[i][0]:
                chosen.append(i + 1)
        chosen = sorted(set(chosen), key=lambda i: (candidates[i][0], candidates[i][1]))
        text = " ".join(f"{quotes[i]} [{candidates[i][0]}]" for i in chosen)
        return Generated(text, "extractive"), evidence

    def _vectors(self, hits: Sequence[Hit], texts: list[str]) -> np.ndarray:
        """Each candidate's vector: stored with its chunk, else embedded now."""
        known = self._known(hits)
        rows: list[np.ndarray | None] = [known.get(sentence_key(t)) for t in texts]
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing:
            log.debug("%d of %d answer candidates have no stored vector: embedded now", len(missing), len(texts))
            for i, vector in zip(missing, self._embedder.embed_documents([texts[i] for i in missing]), strict=True):
                rows[i] = vector
        return np.stack([np.asarray(row, dtype=np.float32) for row in rows])

    def _known(self, hits: Sequence[Hit]) -> dict[int, np.ndarray]:
        """The stored candidate vectors of the hits' chunks (a joined context's every chunk), by key."""
        if self._stored is None:
            return {}
        ids = list(dict.fromkeys(p for h in hits for p in (h.point_id, *h.chunk.joined)))
        try:
            found = self._stored(ids)
        except VectorIndexError as exc:  # e.g. the alias moved back to an older collection under the service
            log.warning("stored sentence vectors unreadable, embedding the candidates instead: %s", exc)
            return {}
        if found is None:
            if not self._warned:
                self._warned = True
                log.warning(
                    "the index keeps no sentence vectors (it was made before askdocs stored them): extractive "
                    "answers embed the passages' sentences on every request. Run `askdocs index reembed` to add them"
                )
            return {}
        known: dict[int, np.ndarray] = {}
        for point_id in ids:  # the hits' own chunks first
            if (s := found.get(point_id)) is not None:
                for key, row in zip(s.keys, s.vectors, strict=True):
                    known.setdefault(key, row)
        return known

    def stream(self, query: Query, contexts: Sequence[Hit]) -> Iterator[Generated]:
        """Nothing to stream: the whole answer as one piece."""
        yield self.generate(query, contexts)


def _overlap(question: str, texts: Sequence[str]) -> np.ndarray:
    """The share of the question's content words each text holds."""
    asked = set(content_words(question))
    if not asked:
        return np.zeros(len(texts), dtype=np.float32)
    return np.array([len(asked.intersection(content_words(t))) / len(asked) for t in texts], dtype=np.float32)
