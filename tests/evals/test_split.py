"""Splitting a data set by document, and the (question, chunk) pairs fine-tuning learns from."""

from __future__ import annotations

from pathlib import Path

import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import InputError
from askdocs.settings import ChunkingSettings
from evals.pairs import squad_pairs
from evals.split import UNSEEN, split_dataset, split_ids
from evals.squad import load_dataset
from tests.evals.test_retrieval import squad_file


def test_halves_are_disjoint_cover_every_document_and_follow_the_seed(tmp_path: Path) -> None:
    data = load_dataset(squad_file(tmp_path))
    train, test = split_dataset(data, "train", 3), split_dataset(data, "test", 3)
    assert {d.doc_id for d in train.documents}.isdisjoint({d.doc_id for d in test.documents})
    assert len(train.documents) + len(test.documents) == len(data.documents)
    assert {q.doc_id for q in train.questions} == {d.doc_id for d in train.documents}
    assert len(train.questions) + len(test.questions) == len(data.questions)
    assert split_ids(data, 3) == split_ids(data, 3)
    assert split_dataset(data, "all", 3) is data
    assert {frozenset(split_ids(data, s)[0]) for s in range(20)} == {frozenset({d.doc_id}) for d in data.documents}
    unseen = split_dataset(data, "test", 3).groups[UNSEEN]  # "What colour is the moon?" is asked of both articles
    assert unseen == {q.qid for q in test.questions if "moon" not in q.question} and len(unseen) == 2
    with pytest.raises(InputError, match="unknown split 'half'; available: train, test, all"):
        split_dataset(data, "half")


def test_each_pair_is_the_question_with_the_chunk_holding_its_answer(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    data = load_dataset(squad_file(tmp_path))
    pairs, missed = squad_pairs(data, embedder, ChunkingSettings(chunker="structural", chunk_size=24, chunk_overlap=0))
    assert missed == 0 and len(pairs) == len(data.answerable) == 4
    by_question = {p.question: p.passage for p in pairs}
    assert "Ada Morrow" in by_question["Who was the last keeper of the tower?"]
    assert "1842" not in by_question["Who was the last keeper of the tower?"]  # its own chunk, not the article
    assert by_question["How long is Vellard cheese aged?"].startswith("Alpine cheese")  # the heading line embedded
