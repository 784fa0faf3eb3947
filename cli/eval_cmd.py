from __future__ import annotations

import dataclasses
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from askdocs.models import FUSIONS, RETRIEVAL_MODES, Fusion
from chunkers import available
from cli.common import clean_errors, console, err_console, fail, settings_or_exit

eval_app = typer.Typer(help="Measure retrieval and answer quality on SQuAD-format data sets.", no_args_is_help=True)


@eval_app.command("retrieval")
def retrieval(
    dataset: Annotated[
        Path,
        typer.Option(
            help="SQuAD-format JSON (e.g. ../shared/eval/squad2-dev.json), Docugami's 10-Q set (document-level "
            "gold) or FinanceBench (page-level gold): the set's tarball or unpacked folder."
        ),
    ],
    chunker: Annotated[str, typer.Option(help="Strategy, or several separated by commas.")] = "recursive",
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=100)] = 10,
    out: Annotated[Path, typer.Option(help="Folder for the JSON, Markdown table and PNG chart.")] = Path("out/eval"),
    chunk_size: Annotated[int | None, typer.Option(help="Tokens (default from settings).")] = None,
    chunk_overlap: Annotated[int | None, typer.Option(help="Tokens (default from settings).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N answerable questions.")] = None,
    bm25: Annotated[bool, typer.Option(help="Add the BM25 baseline row.")] = True,
    retrieval: Annotated[str, typer.Option(help="dense, hybrid, sparse, or several separated by commas.")] = "dense",
    per_article: Annotated[
        bool,
        typer.Option(
            help="Search only the question's own article (for sets like PolicyQA, whose questions "
            "do not name their document)."
        ),
    ] = False,
    fusion: Annotated[
        str, typer.Option(help="Hybrid fusion: dbsf, rrf, or both separated by commas (one hybrid row each).")
    ] = "dbsf",
    dense_weight: Annotated[
        str | None,
        typer.Option(
            help="Hybrid fusion's dense-list weight (the sparse list weighs 1), or several separated by commas "
            "(one hybrid row each). Default from settings."
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(help="A fine-tuned embedding model folder: its rows beside the configured (base) model's."),
    ] = None,
    split: Annotated[
        str, typer.Option(help="train, test or all: the half of the documents to measure on (see --split-seed).")
    ] = "all",
    split_seed: Annotated[int, typer.Option(help="Seed of --split (the one `finetune embeddings` used).")] = 0,
    index_cache: Annotated[
        Path | None,
        typer.Option(
            help="FinanceBench: where built indexes are kept and reused, keyed by the PDFs, chunking, model and "
            "ingest code (default ~/.cache/askdocs-eval/indexes)."
        ),
    ] = None,
) -> None:
    """Ingest the articles with each strategy into a throwaway index and score retrieval of the gold answers."""
    from evals.retrieval import RetrievalPlan

    settings = settings_or_exit()
    plan = RetrievalPlan(
        chunkers=_listed(chunker, available(), "chunker"),
        size=chunk_size or settings.chunking.chunk_size,
        overlap=chunk_overlap if chunk_overlap is not None else settings.chunking.chunk_overlap,
        top_k=top_k,
        modes=[m for m in RETRIEVAL_MODES if m in _listed(retrieval, RETRIEVAL_MODES, "retrieval mode")],
        fusions=cast(list[Fusion], _listed(fusion, FUSIONS, "fusion")),
        dense_weights=_weights(dense_weight) if dense_weight else [settings.retrieval.dense_weight],
        per_article=per_article,
        bm25=bm25,
    )
    with clean_errors():
        from evals.financebench import is_financebench

        if is_financebench(dataset):
            if model:
                fail("--model is not supported with FinanceBench's page-level set; compare models one run each")
            _retrieval_pages(
                dataset, plan, settings, split=split, seed=split_seed, limit=limit, out=out, cache=index_cache
            )
            return
        from askdocs.components import make_embedder
        from evals.docugami import is_docugami, load_docugami
        from evals.report import results_table, write_outputs
        from evals.retrieval import evaluate_models
        from evals.split import split_dataset
        from evals.squad import load_dataset

        data = load_docugami(dataset) if is_docugami(dataset) else load_dataset(dataset)
        data = split_dataset(data, split, split_seed)
        questions = data.answerable[:limit] if limit else data.answerable
        models = [("base", make_embedder(settings))] if model else [("", make_embedder(settings))]
        if model:
            models.append((model.name, _model_embedder(settings, model)))
        with _Progress() as progress:
            results = evaluate_models(data, plan, settings, models, questions, progress)
        if not model:
            results = [dataclasses.replace(r, name=r.name.removeprefix(": ")) for r in results]
        title = f"{data.name}: {len(questions)} answerable questions, {len(data.documents)} articles, top {top_k}"
        console.print(results_table(results, title), width=max(console.width, 150))
        for path in write_outputs(results, out, data.name, _command()):
            console.print(f"wrote {path}")


def _retrieval_pages(
    dataset: Path, plan: Any, settings: Any, *, split: str, seed: int, limit: int | None, out: Path, cache: Path | None
) -> None:
    """FinanceBench: page recall, page +-1 and doc recall of every run, over an index built once and reused."""
    from askdocs.components import make_embedder
    from evals.financebench import open_financebench, split_companies
    from evals.index_cache import DEFAULT_ROOT
    from evals.pages import evaluate_pages, summary
    from evals.report import results_table, write_outputs

    with open_financebench(dataset) as data, _Progress() as progress:
        questions = split_companies(data.questions, split, seed)[:limit]
        run = evaluate_pages(data, plan, settings, make_embedder(settings), questions, cache or DEFAULT_ROOT, progress)
    for built in run.indexes:
        how = "reused" if built.reused else f"built in {built.ingest_s:.0f} s"
        console.print(
            f"index {built.folder} ({how}): {len(built.names)} filings, {built.chunks} chunks", highlight=False
        )
        for doc, why in built.failed.items():
            err_console.print(f"warning: {doc} was not ingested ({why}); its questions count as misses")
    name = data.name if split == "all" else f"{data.name}-{split}-seed{seed}"
    title = f"{name}: {len(questions)} questions, {len(data.pdfs)} filings, top {plan.top_k}; recall@k of the gold page"
    console.print(results_table(run.results, title), width=max(console.width, 150))
    for line in summary(run, plan.top_k):
        console.print(line, highlight=False)
    extra = {"per_question": {"columns": ["page", "page +-1", "doc"], "ranks": run.ranks}}
    for path in write_outputs(run.results, out, name, _command(), extra):
        console.print(f"wrote {path}")


def _model_embedder(settings: Any, model: Path) -> Any:
    """The configured embedder with another model folder (same prefixes and batch size)."""
    from askdocs.components import make_embedder

    if not model.is_dir():
        fail(f"--model {model} is not a folder; give a model written by `askdocs finetune embeddings --out`")
    embedding = settings.embedding.model_copy(update={"model_path": model})
    return make_embedder(settings.model_copy(update={"embedding": embedding}))


def _listed(value: str, allowed: Sequence[str], what: str) -> list[str]:
    """A comma-separated option's names; an unknown one exits with the list of known ones."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        fail(f"no {what} given; available: {', '.join(allowed)}")
    if bad := [n for n in names if n not in allowed]:
        fail(f"unknown {what} {bad[0]!r}; available: {', '.join(allowed)}")
    return names


def _weights(value: str) -> list[float]:
    try:
        weights = [float(w) for w in value.split(",") if w.strip()]
    except ValueError:
        fail(f"--dense-weight takes numbers separated by commas, e.g. 1,2; got {value!r}")
    if not weights or any(not 0.1 <= w <= 10 for w in weights):
        fail(f"--dense-weight: each weight must be between 0.1 and 10; got {value!r}")
    return weights


def _command() -> str:
    return "askdocs " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@eval_app.command("answers")
def answers(
    dataset: Annotated[
        Path | None, typer.Option(help="SQuAD-format JSON (e.g. ../shared/eval/squad2-dev.json).")
    ] = None,
    from_log: Annotated[
        bool,
        typer.Option(
            "--from-log",
            help="Instead of --dataset: the logged questions rated helpful or corrected, with the accepted answer "
            "as reference, asked over the service's own index (stop askdocs serve first in embedded mode).",
        ),
    ] = False,
    since: Annotated[
        str | None, typer.Option(help="With --from-log: only questions of the last ..., e.g. 90d.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N questions (after --sample).")] = None,
    sample: Annotated[
        int | None, typer.Option(min=1, help="A seeded random sample of N questions, answerable and not.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of --sample.")] = 0,
    mode: Annotated[str, typer.Option(help="extractive, prompted or finetuned.")] = "extractive",
    compare: Annotated[
        str | None, typer.Option(help="Several modes side by side, separated by commas (instead of --mode).")
    ] = None,
    min_score: Annotated[
        float | None, typer.Option(min=-1, max=1, help="Relevance threshold (default from settings).")
    ] = None,
    sweep_min_score: Annotated[
        bool, typer.Option(help="Also score extractive answers under min_score 0.15 .. 0.5, from one retrieval.")
    ] = False,
    articles: Annotated[
        str,
        typer.Option(
            help="all, or held-out: only questions of the articles `askdocs eval abstain` did not fit the answer "
            "check on (the odd positions in the file)."
        ),
    ] = "all",
    out: Annotated[Path, typer.Option(help="Folder for the JSON, Markdown table and predictions.")] = Path("out/eval"),
) -> None:
    """Ingest the articles into a throwaway index, answer every selected question in each mode, and score the
    answers with the SQuAD 2.0 metrics (EM, F1, HasAns and NoAns halves)."""
    if articles not in ("all", "held-out"):
        fail(f"unknown --articles {articles!r}; available: all, held-out")
    settings = settings_or_exit()
    modes = [m.strip() for m in (compare or mode).split(",") if m.strip()]
    if min_score is not None:
        settings = settings.model_copy(
            update={"retrieval": settings.retrieval.model_copy(update={"min_score": min_score})}
        )
    if (dataset is None) == (not from_log):
        fail("give either --dataset PATH or --from-log")
    with clean_errors():
        from askdocs.components import make_embedder
        from evals.answers import PipelineFactory, evaluate_answers, mode_settings
        from evals.answers import sweep_min_score as sweep
        from evals.answers_report import results_table, sweep_table, write_outputs

        for name in modes:
            mode_settings(settings, name)  # unknown mode or missing LLM: say so before loading anything
        data, pool = _answer_questions(settings, dataset, articles, since)
        questions = _select(pool, limit=limit, sample=sample, seed=seed)
        factory = PipelineFactory(settings, make_embedder(settings))
        with _Progress() as progress, _answer_index(data, factory, progress) as index:
            results = evaluate_answers(data, factory, modes, questions, progress, index=index)
            rows = sweep(data, factory, questions, progress=progress, index=index) if sweep_min_score else []
        answerable = sum(q.answerable for q in questions)
        r = settings.retrieval
        x = settings.extractive
        threshold = "as shipped" if x.check_threshold is None else f"threshold {x.check_threshold}"
        setup = (
            f"{data.name}: {len(questions)} questions ({answerable} answerable) of {articles} articles "
            f"({len(data.documents)} ingested); {settings.chunking.chunker} chunks, {r.mode} retrieval, "
            f"top {r.top_k}, min_score {r.min_score}, {f'answer check {threshold}' if x.check else 'no answer check'}"
        )
        console.print(setup, highlight=False)
        console.print(results_table(results, "answers per mode"))
        if rows:
            console.print(sweep_table(rows, "extractive answers per min_score, no answer check (one retrieval pass)"))
        command = _command()
        for path in write_outputs(results, rows, out, data.name, command, setup):
            console.print(f"wrote {path}")


def _answer_questions(settings: Any, dataset: Path | None, articles: str, since: str | None) -> tuple[Any, list[Any]]:
    """The data set and the question pool: a SQuAD file (its held-out articles, when asked), or the log."""
    if dataset is None:
        from askdocs.store.interactions import parse_age
        from evals.logged import logged_dataset

        try:
            start = time.time() - parse_age(since) if since else None
        except ValueError as exc:
            fail(str(exc))
        data = logged_dataset(settings, start)
        if not data.questions:
            fail("no logged question is rated helpful or corrected yet (POST /feedback); nothing to compare on")
        return data, data.questions
    from evals.abstain import split_articles
    from evals.squad import load_dataset

    data = load_dataset(dataset)
    pool = data.questions
    if articles == "held-out":
        held_out = split_articles(data)[1]
        pool = [q for q in pool if q.doc_id in held_out]
    return data, pool


def _select(pool: list[Any], **how: Any) -> list[Any]:
    from evals.answers import select_questions

    return select_questions(pool, **how)


@contextmanager
def _answer_index(data: Any, factory: Any, progress: Any) -> Iterator[Any]:
    """A data set's articles in a throwaway index; for the log (no documents), the service's own index."""
    if data.documents:
        from evals.answers import ingested

        with ingested(data, factory, progress) as throwaway:
            yield throwaway
        return
    from askdocs.components import open_checked_index

    index = open_checked_index(factory.settings, factory.embedder)
    try:
        yield index
    finally:
        index.close()


@eval_app.command("abstain")
def abstain(
    dataset: Annotated[Path, typer.Option(help="SQuAD 2.0-format JSON with unanswerable questions.")],
    sample: Annotated[int | None, typer.Option(min=10, help="A seeded random sample of N questions.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of --sample.")] = 0,
    target_noans: Annotated[
        float, typer.Option(min=0, max=1, help="Share of the fitting half's unanswerable questions to refuse.")
    ] = 0.62,
    save: Annotated[
        Path | None, typer.Option(help="Write the fitted check here (askdocs/qa/abstain.json ships).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the JSON and Markdown report.")] = Path("out/eval"),
) -> None:
    """Fit the extractive answer check on the even-numbered articles, choose its threshold there, and report it
    on the odd-numbered (held-out) ones against plain relevance thresholds."""
    settings = settings_or_exit()
    with clean_errors():
        import dataclasses

        from askdocs.components import make_embedder
        from evals.abstain import choose_threshold, fit, observe, report_rows, split_articles, write_report
        from evals.answers import PipelineFactory, ingested, select_questions
        from evals.squad import load_dataset

        data = load_dataset(dataset)
        fitting_ids, held_out_ids = split_articles(data)
        questions = select_questions(data.questions, sample=sample, seed=seed)
        factory = PipelineFactory(settings, make_embedder(settings))
        with _Progress() as progress, ingested(data, factory, progress) as index:
            observed = observe(settings, factory.embedder, index, questions, progress("questions", len(questions)))
        fitting = [o for o in observed if o.question.doc_id in fitting_ids]
        held_out = [o for o in observed if o.question.doc_id in held_out_ids]
        command = _command()
        check = choose_threshold(fit(fitting), fitting, target_noans)
        check = dataclasses.replace(
            check,
            fitted_on=f"{command}: {len(fitting)} questions of the {len(fitting_ids)} even-numbered articles of "
            f"{data.name}; threshold: the lowest refusing {target_noans} of their unanswerable questions",
        )
        rows = report_rows(check, held_out)
        setup = (
            f"{data.name}: fitted on {len(fitting)} questions ({len(fitting_ids)} articles), "
            f"scored on {len(held_out)} held-out questions ({len(held_out_ids)} articles); "
            f"{settings.chunking.chunker} chunks, {settings.retrieval.mode} retrieval, "
            f"min_score {settings.retrieval.min_score}"
        )
        console.print(setup, highlight=False)
        console.print(_table(rows, "held-out articles"))
        for path in write_report(out, data.name, command, setup, check, rows):
            console.print(f"wrote {path}")
        if save:
            check.save(save)
            console.print(f"wrote {save}")


def _table(rows: list[list[str]], title: str) -> Table:
    from evals.abstain import HEADER

    table = Table(*HEADER, title=title)
    for row in rows:
        table.add_row(*row)
    return table


class _Progress:
    """Rich progress bars, one per phase, handed to the evaluation as a plain callback."""

    def __enter__(self) -> Callable[[str, int], Callable[[int], None]]:
        self._bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        self._bars.start()

        def start(label: str, total: int) -> Callable[[int], None]:
            task = self._bars.add_task(label, total=total)
            return lambda n: self._bars.advance(task, n)

        return start

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()
