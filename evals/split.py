"""Split a data set by document (SQuAD article, PolicyQA policy): fine-tune on one half, measure on the other.

The same seed gives the same halves to ``askdocs finetune embeddings --split train`` and ``askdocs eval retrieval
--split test``, so no held-out question's passage was ever trained on.
"""

from __future__ import annotations

import dataclasses
import random

from askdocs.errors import InputError
from evals.squad import Dataset

SPLITS = ("train", "test", "all")
UNSEEN = "question not asked in the train half"  # the test half's row group of questions new to training


def split_ids(dataset: Dataset, seed: int) -> tuple[set[str], set[str]]:
    """(train, test) document ids: the documents shuffled with ``seed``, the first half (rounded up) for train."""
    ids = [d.doc_id for d in dataset.documents]
    if len(ids) < 2:
        raise InputError(f"{dataset.name} has {len(ids)} document(s); a split by document needs at least 2")
    random.Random(seed).shuffle(ids)
    half = (len(ids) + 1) // 2
    return set(ids[:half]), set(ids[half:])


def split_dataset(dataset: Dataset, part: str, seed: int = 0) -> Dataset:
    """The documents of one half and their questions (``all``: the data set as it is)."""
    if part not in SPLITS:
        raise InputError(f"unknown split {part!r}; available: {', '.join(SPLITS)}")
    if part == "all":
        return dataset
    train, test = split_ids(dataset, seed)
    keep = train if part == "train" else test
    questions = [q for q in dataset.questions if q.doc_id in keep]
    kept_ids = {q.qid for q in questions}
    groups = {name: ids & kept_ids for name, ids in dataset.groups.items()}
    if part == "test":  # sets like PolicyQA ask the same questions of every document: score the new ones apart
        trained = {_normal(q.question) for q in dataset.questions if q.doc_id in train}
        groups[UNSEEN] = frozenset(q.qid for q in questions if _normal(q.question) not in trained)
    return dataclasses.replace(
        dataset,
        name=f"{dataset.name}-{part}-seed{seed}",
        documents=[d for d in dataset.documents if d.doc_id in keep],
        questions=questions,
        groups=groups,
    )


def _normal(question: str) -> str:
    return " ".join(question.lower().split())
