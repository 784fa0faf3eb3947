"""(question, passage) pairs from a SQuAD-format data set, for fine-tuning the embedding model.

The passage is the chunk holding the answer, cut as the index would cut it (the configured chunker, size and
overlap) and in the text the index embeds (``embed_text``: with the title/heading line the chunker adds).
"""

from __future__ import annotations

from collections.abc import Callable

from askdocs.embedding import Embedder
from askdocs.settings import ChunkingSettings
from evals.metrics import contains
from evals.squad import Dataset
from finetune.embeddings import Pair
from ingest.chunking import build_chunker


def squad_pairs(
    dataset: Dataset,
    embedder: Embedder,
    chunking: ChunkingSettings,
    advance: Callable[[int], None] = lambda n: None,
) -> tuple[list[Pair], int]:
    """One pair per answerable question whose answer lies inside one chunk; returns the pairs and how many
    answerable questions had no such chunk (an answer cut across two chunks)."""
    chunker = build_chunker(chunking.chunker, embedder, chunking.chunk_size, chunking.chunk_overlap)
    by_doc: dict[str, list[tuple[tuple[int, int], str]]] = {}
    for document in dataset.documents:
        pieces = chunker.split(document.sections, document.title)
        by_doc[document.doc_id] = [
            (
                (
                    p.context_start if p.context_start is not None else p.start,
                    p.context_end if p.context_end is not None else p.end,
                ),
                p.embed_text or p.text,
            )
            for p in pieces
        ]
        advance(1)
    pairs, missed = [], 0
    for question in dataset.questions:
        if not question.spans:
            continue
        passage = next((text for span, text in by_doc[question.doc_id] if contains(span, question.spans)), None)
        if passage is None:
            missed += 1
        else:
            pairs.append(Pair(question.question, passage))
    return pairs, missed
