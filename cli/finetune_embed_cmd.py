"""``askdocs finetune embeddings``: fine-tune the retriever's embedding model on CPU, from the log and/or a
SQuAD-format file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import clean_errors, console, fail, settings_or_exit


def embeddings(
    out: Annotated[
        Path, typer.Option(help="New folder for the fine-tuned model (use as ASKDOCS_EMBEDDING__MODEL_PATH).")
    ],
    from_log: Annotated[
        bool, typer.Option("--from-log", help="Questions rated helpful (or corrected) with the passages they cite.")
    ] = False,
    dataset: Annotated[
        Path | None, typer.Option(help="SQuAD-format JSON: each answerable question with the chunk holding its answer.")
    ] = None,
    split: Annotated[str, typer.Option(help="With --dataset: train, test or all of its documents.")] = "all",
    split_seed: Annotated[int, typer.Option(help="Seed of --split (use the same with `eval retrieval`).")] = 0,
    epochs: Annotated[int, typer.Option(min=1)] = 1,
    batch_size: Annotated[int, typer.Option(min=2, help="Pairs per batch (in-batch negatives).")] = 32,
    learning_rate: Annotated[float, typer.Option(min=0)] = 3e-5,
    max_pairs: Annotated[int | None, typer.Option(min=1, help="A seeded random sample of at most N pairs.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample and the trainer.")] = 0,
) -> None:
    """Fine-tune the configured embedding model with MultipleNegativesRankingLoss (no duplicate passages in a
    batch), on the CPU; then `askdocs index reembed --model OUT` switches the index to it."""
    if not from_log and dataset is None:
        fail("give --from-log, --dataset SQUAD_FILE, or both")
    settings = settings_or_exit()
    with clean_errors():
        from askdocs.embedding import default_model_path
        from finetune.embeddings import TrainPlan, require_train_extra, train_embeddings

        require_train_extra()  # before any pairs are gathered

        plan = TrainPlan(epochs, batch_size, learning_rate, seed=seed, max_pairs=max_pairs)
        pairs = (_log_pairs(settings) if from_log else []) + (
            _dataset_pairs(settings, dataset, split, split_seed) if dataset else []
        )
        base = settings.embedding.model_path or default_model_path()
        console.print(f"fine-tuning {base} on {len(pairs)} pairs, {epochs} epoch(s), batch {batch_size}")
        trained = train_embeddings(base, pairs, out, plan)
    loss = "n/a" if trained.final_loss is None else f"{trained.final_loss:.4f}"
    console.print(
        f"trained on {trained.pairs} pairs ({trained.duplicates} duplicates removed): {trained.steps} steps in "
        f"{trained.seconds:.0f} s, last loss {loss}. Wrote {out}",
        highlight=False,
    )
    console.print(f"switch the index to it with: askdocs index reembed --model {out}", highlight=False)


def _log_pairs(settings: Any) -> list[Any]:
    from askdocs.store.interactions import LogQuery
    from askdocs.store.store import open_store
    from finetune.source import pairs_from_log

    with open_store(settings) as store:
        logged = store.interactions.find(LogQuery(limit=10_000_000))
    found = pairs_from_log(logged)
    console.print(
        f"log: {found.helpful} helpful or corrected answers, {len(found.pairs)} pairs "
        f"({found.without_passage} without question or passages skipped)",
        highlight=False,
    )
    return found.pairs


def _dataset_pairs(settings: Any, dataset: Path, split: str, split_seed: int) -> list[Any]:
    from askdocs.components import make_embedder
    from evals.pairs import squad_pairs
    from evals.split import split_dataset
    from evals.squad import load_dataset

    data = split_dataset(load_dataset(dataset), split, split_seed)
    pairs, missed = squad_pairs(data, make_embedder(settings), settings.chunking)
    console.print(
        f"{data.name}: {len(data.documents)} documents, {len(pairs)} pairs ({missed} answers across two chunks "
        "skipped)",
        highlight=False,
    )
    return pairs
