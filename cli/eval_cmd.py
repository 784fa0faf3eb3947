from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from askdocs.sparse import RETRIEVAL_MODES
from chunkers import available
from cli.common import clean_errors, console, err_console, fail, settings_or_exit

eval_app = typer.Typer(help="Measure retrieval and answer quality on SQuAD-format data sets.", no_args_is_help=True)


@eval_app.command("retrieval")
def retrieval(
    dataset: Annotated[Path, typer.Option(help="SQuAD-format JSON (e.g. ../shared/eval/squad2-dev.json).")],
    chunker: Annotated[str, typer.Option(help="Strategy, or several separated by commas.")] = "recursive",
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=100)] = 10,
    out: Annotated[Path, typer.Option(help="Folder for the JSON, Markdown table and PNG chart.")] = Path("out/eval"),
    chunk_size: Annotated[int | None, typer.Option(help="Tokens (default from settings).")] = None,
    chunk_overlap: Annotated[int | None, typer.Option(help="Tokens (default from settings).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N answerable questions.")] = None,
    bm25: Annotated[bool, typer.Option(help="Add the BM25 baseline row.")] = True,
    retrieval: Annotated[str, typer.Option(help="dense, hybrid, sparse, or several separated by commas.")] = "dense",
) -> None:
    """Ingest the articles with each strategy into a throwaway index and score retrieval of the gold answers."""
    settings = settings_or_exit()
    names = [n.strip() for n in chunker.split(",") if n.strip()]
    unknown = [n for n in names if n not in available()]
    if unknown:
        fail(f"unknown chunker {unknown[0]!r}; available: {', '.join(available())}")
    asked = [m.strip() for m in retrieval.split(",") if m.strip()]
    if bad := [m for m in asked if m not in RETRIEVAL_MODES]:
        fail(f"unknown retrieval mode {bad[0]!r}; available: {', '.join(RETRIEVAL_MODES)}")
    modes = [m for m in RETRIEVAL_MODES if m in asked]
    size = chunk_size or settings.chunking.chunk_size
    overlap = chunk_overlap if chunk_overlap is not None else settings.chunking.chunk_overlap
    with clean_errors():
        from askdocs.components import make_embedder
        from evals.report import results_table, write_outputs
        from evals.retrieval import evaluate_bm25, evaluate_dense
        from evals.squad import load_dataset

        data = load_dataset(dataset)
        questions = data.answerable[:limit] if limit else data.answerable
        embedder = make_embedder(settings)
        with _Progress() as progress:
            results = [
                row
                for name in names
                for row in evaluate_dense(
                    data,
                    name,
                    embedder,
                    size=size,
                    overlap=overlap,
                    top_k=top_k,
                    questions=questions,
                    modes=modes,
                    progress=progress,
                )
            ]
            if bm25:
                results.append(
                    evaluate_bm25(
                        data,
                        embedder,
                        chunker_name=names[0],
                        size=size,
                        overlap=overlap,
                        top_k=top_k,
                        questions=questions,
                        progress=progress,
                    )
                )
        title = f"{data.name}: {len(questions)} answerable questions, {len(data.documents)} articles, top {top_k}"
        console.print(results_table(results, title), width=max(console.width, 150))
        command = "askdocs " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        for path in write_outputs(results, out, data.name, command):
            console.print(f"wrote {path}")


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
