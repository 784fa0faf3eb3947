"""``askdocs``: serve, ingest, ask, docs, worker, slack, eval, log, db, finetune, index."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from cli.ask_cmd import ask
from cli.common import settings_or_exit
from cli.docs_cmd import docs_app
from cli.eval_cmd import eval_app
from cli.finetune_cmd import finetune_app
from cli.index_cmd import index_app
from cli.ingest_cmd import ingest
from cli.keys_cmd import keys_app
from cli.log_cmd import db_app, log_app
from cli.slack_cmd import slack
from cli.worker_cmd import load_configured_sources, sources_app, worker

app = typer.Typer(
    name="askdocs",
    help="Answers questions from your company's web pages and PDFs, citing its sources.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(ingest)
app.command()(ask)
app.add_typer(docs_app, name="docs")
app.add_typer(eval_app, name="eval")
app.add_typer(sources_app, name="sources")
app.add_typer(log_app, name="log")
app.add_typer(db_app, name="db")
app.add_typer(finetune_app, name="finetune")
app.add_typer(index_app, name="index")
app.add_typer(keys_app, name="keys")
app.command()(worker)
app.command()(slack)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default ASKDOCS_SERVICE__HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default ASKDOCS_SERVICE__PORT).")] = None,
) -> None:
    """Serve the HTTP API (POST /ask, /docs for the OpenAPI page)."""
    import uvicorn

    from app.container import Container
    from app.main import create_app
    from ingest.worker import BackgroundWorker, start_background_worker

    settings = settings_or_exit()
    catalog = load_configured_sources(settings, None)  # a bad sources file fails now, not in the thread

    def background(container: Container) -> BackgroundWorker | None:
        if not settings.worker.in_service or container.store is None:
            return None
        return start_background_worker(settings, container.embedder, container.index, container.store.queue, catalog)

    application = create_app(settings=settings, background=background)
    uvicorn.run(application, host=host or settings.service.host, port=port or settings.service.port, log_level="info")


def main() -> None:
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "TRANSFORMERS_VERBOSITY": "error",
    }.items():
        os.environ.setdefault(key, value)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
