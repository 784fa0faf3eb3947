"""``askdocs index reembed|restore``: switch the index to another embedding model, and back; ``askdocs index
migrate``: move the embedded index to a Qdrant server or cluster."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from cli.common import clean_errors, console, err_console, fail, settings_or_exit

index_app = typer.Typer(
    help="Switch the index to another embedding model, and back; move it to a Qdrant server.", no_args_is_help=True
)


@index_app.command("reembed")
def reembed(
    model: Annotated[
        Path | None,
        typer.Option(
            help="A sentence-transformers model folder (askdocs finetune embeddings); default: the configured "
            "model, which rebuilds the index as this version stores it (with the answer sentences' vectors)."
        ),
    ] = None,
) -> None:
    """Embed every stored chunk again with MODEL into a new collection beside the live one, then switch to it
    (a Qdrant alias; in embedded mode the live-shard pointer). The old collection is kept for `index restore`.
    Then run the service with ASKDOCS_EMBEDDING__MODEL_PATH=MODEL."""
    if model is not None and not model.is_dir():
        fail(f"--model {model} is not a folder; give a model written by `askdocs finetune embeddings --out`")
    settings = settings_or_exit()
    with clean_errors():
        from askdocs.components import make_embedder
        from askdocs.index.reembed import reembed_server

        current = make_embedder(settings, warm=model is None)
        embedding = settings.embedding.model_copy(update={"model_path": model})
        embedder = make_embedder(settings.model_copy(update={"embedding": embedding})) if model else current
        name = settings.qdrant.collection
        with _bar("re-embedding") as advance:
            if settings.qdrant.url:
                done = reembed_server(_client(settings), name, current.model_id, embedder, advance)
            else:
                done = _reembed_embedded(settings, current.model_id, embedder, advance)
    console.print(
        f"re-embedded {done.chunks} chunks with {done.model} in {done.seconds:.0f} s; live: {done.live} "
        f"(kept: {done.previous}, `askdocs index restore` switches back)",
        highlight=False,
    )
    if model is not None:
        console.print(
            f"now serve with ASKDOCS_EMBEDDING__MODEL_PATH={model.resolve()}", highlight=False, soft_wrap=True
        )


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


@index_app.command("migrate")
def migrate(
    to: Annotated[str, typer.Option("--to", help="The Qdrant server or cluster, e.g. http://qdrant:6333.")],
    collection: Annotated[
        str | None, typer.Option(help="The collection name there (an alias). Default: ASKDOCS_QDRANT__COLLECTION.")
    ] = None,
    api_key: Annotated[str | None, typer.Option(help="The server's API key. Default: ASKDOCS_QDRANT__API_KEY.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Copy beside a collection of that name that holds points, then switch.")
    ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Finish the copy an interrupted run left.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Points per request.")] = 256,
) -> None:
    """Copy the embedded index (ASKDOCS_DATA_DIR) into a collection on a Qdrant server or cluster, check that both
    hold the same points and documents and find the same passages for a sample of questions, then name it by an
    alias; prints the settings to serve from it. Nothing on the server is live before the copy is verified."""
    settings = settings_or_exit()
    target_settings = _target_settings(settings, to, collection, api_key)
    with clean_errors():
        from askdocs.components import make_embedder
        from askdocs.index.migrate import Target, migrate

        target = Target(to, target_settings.qdrant.collection, force=force, resume=resume, batch=batch_size)
        embedder = make_embedder(settings, warm=False)  # loaded once the index is known to be free
        client, retriever = _client(target_settings), _retriever(settings, embedder)
        with _bar("copying") as advance:
            done = migrate(settings, target, client, embedder, retriever, advance)
    _report(done, "given with --api-key" if api_key else "as set here" if settings.qdrant.api_key else None)


def _target_settings(settings: Any, url: str, collection: str | None, api_key: str | None) -> Any:
    """The configured settings with the target's Qdrant URL, key and name: what the service will run with."""
    from pydantic import ValidationError

    from askdocs.settings import QdrantSettings

    if not url.startswith(("http://", "https://")):
        fail(f"--to {url!r} is not a URL: give the Qdrant server's, e.g. http://qdrant:6333")
    fields = settings.qdrant.model_dump() | {"url": url, "collection": collection or settings.qdrant.collection}
    if api_key:
        fields["api_key"] = api_key
    try:
        return settings.model_copy(update={"qdrant": QdrantSettings(**fields)})
    except ValidationError as exc:
        fail(f"--collection {collection!r}: {exc.errors()[0]['msg']} (letters, digits, _ and -, up to 64)")


def _retriever(settings: Any, embedder: Any) -> Any:
    """The service's retrieval over any index, as configured but without the LLM (questions are not rewritten)."""
    from askdocs.components import make_pipeline
    from askdocs.qa.pipeline import AskOptions
    from askdocs.settings import LLMSettings

    plain, remembered = settings.model_copy(update={"llm": LLMSettings()}), _Remembered(embedder)

    def over(index: Any) -> Any:
        pipeline = make_pipeline(plain, remembered, index)
        return lambda question, mode: pipeline.retrieve(question, AskOptions(retrieval=mode)).contexts

    return over


class _Remembered:
    """The embedder, each question's vector kept: verifying asks every question of both indexes in both modes."""

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder
        self._vectors: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)

    def embed_query(self, text: str) -> Any:
        if text not in self._vectors:
            self._vectors[text] = self._embedder.embed_query(text)
        return self._vectors[text]


def _report(done: Any, key: str | None) -> None:
    copied = done.copied
    print_ = partial(console.print, highlight=False, soft_wrap=True)
    print_(
        f"copied {done.points} points ({done.documents} documents) to collection {copied.plan.collection} on "
        f"{done.url}: {copied.written} written now, {copied.held} already there, in {done.seconds:.0f} s"
    )
    modes = "dense retrieval (hybrid: see the warning)" if done.warnings else "dense and hybrid retrieval"
    print_(
        f"verified: the same points and documents on both sides, and {done.questions} sample questions find the "
        f"same passages with {modes}"
    )
    for warning in done.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    was = copied.plan.replaces
    kept = f" (was {was}: kept, `askdocs index restore` switches back)" if was else ""
    print_(f"live: {done.alias} -> {copied.plan.collection}{kept}")
    print_("serve with:")
    print_(f"ASKDOCS_QDRANT__URL={done.url}")
    print_(f"ASKDOCS_QDRANT__COLLECTION={done.alias}")
    if key:  # a secret: named, not printed
        print_(f"ASKDOCS_QDRANT__API_KEY=<the key {key}>")


def _client(settings: Any) -> Any:
    from qdrant_client import QdrantClient

    key = settings.qdrant.api_key.get_secret_value() if settings.qdrant.api_key else None
    return QdrantClient(
        url=settings.qdrant.url, api_key=key, timeout=int(settings.qdrant.timeout_s), check_compatibility=False
    )


class _bar:  # noqa: N801 - used as a context manager like a function
    def __init__(self, label: str) -> None:
        self._label = label

    def __enter__(self) -> Any:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn(self._label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err_console
        )
        self._progress.start()
        task = self._progress.add_task("chunks", total=None)
        return lambda n, total: self._progress.update(task, advance=n, total=total)

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()
