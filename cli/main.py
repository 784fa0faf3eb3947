"""``askdocs``: serve, ingest, ask, docs, worker, slack, eval, log, db, finetune, index."""

from __future__ import annotations

import logging

import typer

from askdocs.runtime import apply_defaults
from cli.ask_cmd import ask
from cli.db_cmd import db_app
from cli.docs_cmd import docs_app
from cli.eval_cmd import eval_app
from cli.finetune_cmd import finetune_app
from cli.index_cmd import index_app
from cli.ingest_cmd import ingest
from cli.keys_cmd import keys_app
from cli.log_cmd import log_app
from cli.serve_cmd import serve
from cli.slack_cmd import slack
from cli.sources_cmd import sources_app
from cli.worker_cmd import worker

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"

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
app.command()(serve)


def main() -> None:
    apply_defaults()
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    app()


if __name__ == "__main__":
    main()
