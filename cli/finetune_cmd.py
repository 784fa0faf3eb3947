"""``askdocs finetune``: export logged good answers as chat JSONL, and run fine-tuning jobs on any
OpenAI-compatible fine-tuning API."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import clean_errors, console, err_console, fail, settings_or_exit
from cli.finetune_embed_cmd import embeddings

finetune_app = typer.Typer(help="Fine-tune on the answers people found good.", no_args_is_help=True)
finetune_app.command("embeddings")(embeddings)


@finetune_app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="Folder for train.jsonl, validation.jsonl and manifest.json.")],
    min_rating: Annotated[str, typer.Option(help="helpful (and corrected answers), or any rated answer.")] = "helpful",
    since: Annotated[str | None, typer.Option(help="Only answers of the last ..., e.g. 90d.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="instructions (rules in every example) or template.")] = (
        "instructions"
    ),
    val_fraction: Annotated[float, typer.Option(help="Share of questions held out for validation.")] = 0.1,
    include_idk_share: Annotated[float, typer.Option(help='At most this share of "I do not know" examples.')] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the split and the cap.")] = 0,
) -> None:
    """Write the fine-tuning data set: one example per logged answer, exactly as the service sends it."""
    from askdocs.store.interactions import LogQuery, parse_age
    from askdocs.store.store import open_store
    from finetune.dataset import FORMATS, build_split, estimated_tokens
    from finetune.source import examples_from_log
    from finetune.validate import check_file, write_jsonl

    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; available: {', '.join(FORMATS)}")
    if min_rating not in ("helpful", "any"):
        fail(f"unknown --min-rating {min_rating!r}; available: any, helpful")
    settings = settings_or_exit()
    with clean_errors():
        start = _since(since, parse_age)
        with open_store(settings) as store:
            logged = store.interactions.find(LogQuery(since=start, limit=10_000_000))
        selected = examples_from_log(logged, min_rating)
        split = build_split(
            selected.examples,
            fmt,
            val_fraction=val_fraction,
            idk_share=include_idk_share,
            seed=seed,
        )
    write_jsonl(out / "train.jsonl", split.train)
    write_jsonl(out / "validation.jsonl", split.validation)
    limit = settings.finetune.max_example_tokens
    checked = {name: check_file(out / name, limit) for name in ("train.jsonl", "validation.jsonl")}
    faults = [f"{name} {fault}" for name, summary in checked.items() for fault in summary.faults]
    if faults:
        fail("the export does not validate: " + "; ".join(faults[:10]))
    tokens = sum(estimated_tokens(line) for line in split.train)
    cost = tokens / 1e6 * settings.finetune.price_per_mtok
    manifest = {
        "format": fmt,
        "train": len(split.train),
        "validation": len(split.validation),
        "rated": selected.considered,
        "redacted_skipped": selected.redacted,
        "without_context_skipped": selected.without_context,
        "duplicates_removed": split.duplicates,
        "idk_kept": split.idk_kept,
        "idk_dropped": split.idk_dropped,
        "train_tokens_estimated": tokens,
        "cost_per_epoch_estimated_usd": round(cost, 4),
        "price_per_mtok": settings.finetune.price_per_mtok,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    console.print(
        f"{split.examples} examples ({len(split.train)} train, {len(split.validation)} validation, {fmt} format) "
        f"from {selected.considered} rated answers; {split.duplicates} duplicates removed, "
        f'"I do not know": {split.idk_kept} kept, {split.idk_dropped} over the cap; '
        f"{selected.redacted} redacted and {selected.without_context} without passages skipped",
        highlight=False,
    )
    console.print(
        f"~{tokens:,} training tokens (4 characters a token); about ${cost:.2f} per epoch at "
        f"${settings.finetune.price_per_mtok:g} per million (ASKDOCS_FINETUNE__PRICE_PER_MTOK). Wrote {out}",
        highlight=False,
    )


def _since(since: str | None, parse_age: Any) -> float | None:
    if since is None:
        return None
    try:
        return time.time() - parse_age(since)
    except ValueError as exc:
        fail(str(exc))


@finetune_app.command("start")
def start(
    data: Annotated[Path, typer.Option("--dir", help="A folder written by `askdocs finetune export`.")],
    model: Annotated[str | None, typer.Option(help="Base model (default ASKDOCS_FINETUNE__BASE_MODEL).")] = None,
    suffix: Annotated[str | None, typer.Option(help="Part of the new model's name.")] = None,
    seed: Annotated[int | None, typer.Option(help="The trainer's seed.")] = None,
    follow: Annotated[bool, typer.Option(help="Follow the job until it ends.")] = True,
    poll_s: Annotated[float, typer.Option(help="Seconds between status checks.", min=0.01)] = 15.0,
) -> None:
    """Upload the files and start a fine-tuning job (remembered in the state store)."""
    train, validation = data / "train.jsonl", data / "validation.jsonl"
    if not train.is_file():
        fail(f"{train} does not exist: run `askdocs finetune export --out {data}` first")
    settings = settings_or_exit()
    with clean_errors():
        from askdocs.store.store import open_store
        from finetune.jobs import FineTuner, make_finetune_client
        from finetune.records import FinetuneJobs

        tuner = FineTuner(make_finetune_client(settings))
        state = tuner.start(
            train,
            validation if validation.is_file() else None,
            model=model or settings.finetune.base_model,
            suffix=suffix or settings.finetune.suffix,
            seed=seed,
        )
        examples = sum(1 for _ in train.open(encoding="utf-8"))
        base_url = settings.finetune.base_url or settings.llm.base_url
        with open_store(settings) as store:
            jobs = FinetuneJobs(store.engine)
            jobs.started(state, base_url=base_url, train=str(train), validation=str(validation), examples=examples)
            console.print(f"started fine-tuning job {state.job_id} on {state.model} ({state.status})", highlight=False)
            if follow:
                _follow(tuner, jobs, state.job_id, poll_s)


@finetune_app.command("status")
def status(
    job_id: Annotated[str | None, typer.Argument(help="A job id (default: list the remembered jobs).")] = None,
    follow: Annotated[bool, typer.Option(help="Follow the job until it ends.")] = False,
    poll_s: Annotated[float, typer.Option(help="Seconds between status checks.", min=0.01)] = 15.0,
) -> None:
    """A job's status and events (and, once it succeeded, the settings that switch the service to it)."""
    settings = settings_or_exit()
    with clean_errors():
        from askdocs.store.store import open_store
        from finetune.jobs import FineTuner, make_finetune_client
        from finetune.records import FinetuneJobs

        with open_store(settings) as store:
            jobs = FinetuneJobs(store.engine)
            if job_id is None:
                _list(jobs)
                return
            tuner = FineTuner(make_finetune_client(settings))
            if follow:
                _follow(tuner, jobs, job_id, poll_s)
                return
            for event in tuner.events(job_id):
                console.print(f"  {time.strftime('%H:%M:%S', time.gmtime(event.created_at))} {event.message}")
            _report(tuner.state(job_id), jobs)


def _list(jobs: Any) -> None:
    for row in jobs.recent():
        console.print(
            f"{row['job_id']}  {row['status']:<16} {row['base_model']} -> {row['fine_tuned_model'] or '-'}"
            f"  ({row['examples']} examples)",
            highlight=False,
        )


@finetune_app.command("cancel")
def cancel(job_id: Annotated[str, typer.Argument(help="The job to cancel.")]) -> None:
    """Cancel a running fine-tuning job."""
    settings = settings_or_exit()
    with clean_errors():
        from askdocs.store.store import open_store
        from finetune.jobs import FineTuner, make_finetune_client
        from finetune.records import FinetuneJobs

        state = FineTuner(make_finetune_client(settings)).cancel(job_id)
        with open_store(settings) as store:
            FinetuneJobs(store.engine).seen(state)
    console.print(f"job {job_id}: {state.status}")


def _follow(tuner: Any, jobs: Any, job_id: str, poll_s: float) -> None:
    with console.status(f"fine-tuning job {job_id}…") as spinner:

        def show(event: Any) -> None:
            console.print(f"  {time.strftime('%H:%M:%S', time.gmtime(event.created_at))} {event.message}")
            spinner.update(f"fine-tuning job {job_id}: {event.message}")

        state = tuner.follow(job_id, show, poll_s=poll_s)
    _report(state, jobs)


def _report(state: Any, jobs: Any) -> None:
    jobs.seen(state)
    console.print(f"job {state.job_id}: {state.status}", highlight=False)
    if state.error:
        err_console.print(f"[red]failed:[/] {state.error}", highlight=False)
    if state.status == "succeeded" and state.fine_tuned_model:
        console.print(f"fine-tuned model: {state.fine_tuned_model}", highlight=False)
        console.print("switch the service to it with:", highlight=False)
        line = f"ASKDOCS_LLM__MODE=finetuned ASKDOCS_LLM__FINETUNED_MODEL={state.fine_tuned_model}"
        console.print(f"  {line}", highlight=False, soft_wrap=True)  # one line, to copy as it is
    if state.status == "failed":
        raise typer.Exit(1)
