"""Fine-tune the embedding model on (question, passage) pairs, on the CPU.

sentence-transformers' trainer with MultipleNegativesRankingLoss: each question's own passage is its positive and
the other passages of its batch are its negatives, so a batch must not hold the same passage (or question) twice:
the NO_DUPLICATES batch sampler sees to it. The output folder is a sentence-transformers model usable as
``ASKDOCS_EMBEDDING__MODEL_PATH``.
"""

from __future__ import annotations

import importlib.util
import json
import random
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from askdocs.embedding import FINETUNE_MANIFEST
from askdocs.errors import ConfigError, InputError
from askdocs.runtime import apply_defaults

MIN_PAIRS = 4  # in-batch negatives need a few other passages
TRAIN_EXTRA = ("datasets", "accelerate")  # the trainer's dependencies: `pip install 'askdocs[train]'`


@dataclass(frozen=True, slots=True)
class Pair:
    question: str
    passage: str


@dataclass(frozen=True, slots=True)
class TrainPlan:
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 3e-5
    warmup_ratio: float = 0.1
    seed: int = 0
    max_pairs: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise InputError(f"epochs must be at least 1, not {self.epochs}")
        if self.batch_size < 2:
            raise InputError(f"batch size must be at least 2 (in-batch negatives), not {self.batch_size}")


@dataclass(frozen=True, slots=True)
class Trained:
    out: Path
    pairs: int
    duplicates: int
    steps: int
    seconds: float
    final_loss: float | None


def unique_pairs(pairs: Sequence[Pair]) -> tuple[list[Pair], int]:
    """Blank pairs dropped and exact duplicates removed (first kept); returns the pairs and how many went."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for pair in pairs:
        key = (pair.question.strip(), pair.passage.strip())
        if not key[0] or not key[1] or key in seen:
            continue
        seen.add(key)
        kept.append(Pair(*key))
    return kept, len(pairs) - len(kept)


def sample_pairs(pairs: list[Pair], limit: int | None, seed: int) -> list[Pair]:
    """At most ``limit`` pairs, a seeded random sample (all of them, shuffled, when there are fewer)."""
    chosen = list(pairs)
    random.Random(seed).shuffle(chosen)
    return chosen[:limit] if limit else chosen


def train_embeddings(base: Path, pairs: Sequence[Pair], out: Path, plan: TrainPlan) -> Trained:
    """Train a copy of the model at ``base`` on ``pairs`` and save it to ``out``."""
    require_train_extra()
    kept, duplicates = unique_pairs(pairs)
    kept = sample_pairs(kept, plan.max_pairs, plan.seed)
    if len(kept) < MIN_PAIRS:
        raise InputError(
            f"only {len(kept)} usable (question, passage) pairs; fine-tuning needs at least {MIN_PAIRS} "
            "(rate more answers helpful, or give a SQuAD-format --dataset)"
        )
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} exists and is not empty; choose a new --out folder")
    started = time.perf_counter()
    model = _load(base)
    steps, loss = _fit(model, kept, plan)
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    trained = Trained(out, len(kept), duplicates, steps, time.perf_counter() - started, loss)
    # The id an index records as the model of its vectors: unique per run, so two fine-tunes never pass for one.
    model_id = f"{out.name}-{uuid.uuid4().hex[:12]}"
    manifest = {"model_id": model_id, "base_model": str(base), **asdict(plan), **asdict(trained), "out": str(out)}
    (out / FINETUNE_MANIFEST).write_text(json.dumps(manifest, indent=2))
    return trained


def require_train_extra() -> None:
    """The trainer's packages are an optional extra; without them, say which and how to get them."""
    missing = [name for name in TRAIN_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"fine-tuning the embedding model needs the 'train' extra ({', '.join(missing)} not installed): "
            "pip install 'askdocs[train]'"
        )


def _load(base: Path) -> Any:
    if not (base / "modules.json").is_file() and not (base / "config.json").is_file():
        raise ConfigError(f"{base} is not a sentence-transformers model folder (no modules.json or config.json)")
    apply_defaults()  # before torch is imported
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(base), device="cpu", local_files_only=True)


def _fit(model: Any, pairs: list[Pair], plan: TrainPlan) -> tuple[int, float | None]:
    """One trainer run; returns the optimiser steps and the last logged training loss."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    data = Dataset.from_dict({"anchor": [p.question for p in pairs], "positive": [p.passage for p in pairs]})
    with tempfile.TemporaryDirectory(prefix="askdocs-st-train-") as scratch:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch,
            num_train_epochs=plan.epochs,
            per_device_train_batch_size=min(plan.batch_size, len(pairs)),
            learning_rate=plan.learning_rate,
            warmup_steps=plan.warmup_ratio,  # below 1: a share of the steps (Transformers 5)
            batch_sampler=BatchSamplers.NO_DUPLICATES,
            seed=plan.seed,
            use_cpu=True,
            save_strategy="no",
            report_to="none",
            logging_steps=10,
            disable_tqdm=not plan.progress,
            dataloader_num_workers=0,
        )
        trainer = SentenceTransformerTrainer(
            model=model, args=args, train_dataset=data, loss=MultipleNegativesRankingLoss(model)
        )
        output = trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    return int(output.global_step), (float(losses[-1]) if losses else float(output.training_loss))
