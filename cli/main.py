"""``askdocs``: serve, ingest, ask, docs."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from cli.ask_cmd import ask
from cli.common import settings_or_exit
from cli.docs_cmd import docs_app
from cli.eval_cmd import eval_app
from cli.ingest_cmd import ingest

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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default ASKDOCS_SERVICE__HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default ASKDOCS_SERVICE__PORT).")] = None,
) -> None:
    """Serve the HTTP API (POST /ask, /docs for the OpenAPI page)."""
    import uvicorn

    from app.main import create_app
    from ingest.sink import IngestSink

    settings = settings_or_exit()
    application = create_app(settings=settings, sink_factory=IngestSink)
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
