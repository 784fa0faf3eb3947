"""``askdocs index reembed|restore``: switch the index to another embedding model, and back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import clean_errors, console, fail, settings_or_exit

index_app = typer.Typer(help="Switch the index to another embedding model, and back.", no_args_is_help=True)


@index_app.command("reembed")
def reembed(
    model: Annotated[Path, typer.Option(help="A sentence-transformers model folder (askdocs finetune embeddings).")],
) -> None:
    """Embed every stored chunk again with MODEL into a new collection beside the live one, then switch to it
    (a Qdrant alias; in embedded mode the live-shard pointer). The old collection is kept for `index restore`.
    Then run the service with ASKDOCS_EMBEDDING__MODEL_PATH=MODEL."""
    if not model.is_dir():
        fail(f"--model {model} is not a folder; give a model written by `askdocs finetune embeddings --out`")
    settings = settings_or_exit()
    with clean_errors():
        from askdocs.components import make_embedder
        from askdocs.index.reembed import reembed_server

        current = make_embedder(settings, warm=False)
        embedding = settings.embedding.model_copy(update={"model_path": model})
        embedder = make_embedder(settings.model_copy(update={"embedding": embedding}))
        name = settings.qdrant.collection
        with _bar() as advance:
            if settings.qdrant.url:
                done = reembed_server(_client(settings), name, current.model_id, embedder, advance)
            else:
                done = _reembed_embedded(settings, current.model_id, embedder, advance)
    console.print(
        f"re-embedded {done.chunks} chunks with {done.model} in {done.seconds:.0f} s; live: {done.live} "
        f"(kept: {done.previous}, `askdocs index restore` switches back)",
        highlight=False,
    )
    console.print(f"now serve with ASKDOCS_EMBEDDING__MODEL_PATH={model.resolve()}", highlight=False, soft_wrap=True)


def _reembed_embedded(settings: Any, current: str, embedder: Any, advance: Any) -> Any:
    from askdocs.errors import IndexLockedError
    from askdocs.index.reembed import reembed_edge

    try:
        return reembed_edge(settings.data_dir / "qdrant", settings.qdrant.collection, current, embedder, advance)
    except IndexLockedError:
        fail(
            f"the embedded index in {settings.data_dir} is held by a running askdocs serve (or worker): one process "
            "at a time may open it. Stop the service, run `askdocs index reembed` again, then start the service "
            "with ASKDOCS_EMBEDDING__MODEL_PATH set to the new model (with a Qdrant server, ASKDOCS_QDRANT__URL, "
            "re-embedding runs beside a live service)"
        )


@index_app.command("restore")
def restore() -> None:
    """Switch back to the collection the last re-embed (or restore) replaced; run it again to switch forth."""
    settings = settings_or_exit()
    with clean_errors():
        from askdocs.index.reembed import restore_edge, restore_server

        if settings.qdrant.url:
            done = restore_server(_client(settings), settings.qdrant.collection)
        else:
            done = restore_edge(settings.data_dir / "qdrant", settings.qdrant.collection)
    console.print(f"live: {done.live} (model {done.model or 'not recorded'}); kept: {done.previous}", highlight=False)
    console.print("serve with the ASKDOCS_EMBEDDING__MODEL_PATH of that model", highlight=False)


def _client(settings: Any) -> Any:
    from qdrant_client import QdrantClient

    key = settings.qdrant.api_key.get_secret_value() if settings.qdrant.api_key else None
    return QdrantClient(
        url=settings.qdrant.url, api_key=key, timeout=int(settings.qdrant.timeout_s), check_compatibility=False
    )


class _bar:  # noqa: N801 - used as a context manager like a function
    def __enter__(self) -> Any:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from cli.common import err_console

        self._progress = Progress(
            TextColumn("re-embedding"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err_console
        )
        self._progress.start()
        task = self._progress.add_task("chunks", total=None)
        return lambda n, total: self._progress.update(task, advance=n, total=total)

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()
