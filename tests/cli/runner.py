"""``askdocs ARGS`` for tests: in this process by default (Typer's CliRunner, the session's imports), or as the
installed executable in a subprocess where that path itself is under test (exit codes of the real process, the
service it talks to, kill -9). Both return the exit code, stdout and stderr, so a test reads the same either way."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from cli.common import console, err_console
from cli.main import LOG_FORMAT
from cli.main import app as cli

ASKDOCS = str(Path(sys.executable).parent / "askdocs")
COLUMNS = 200  # the tables' width, in this process and (COLUMNS) in the executable's
# rich reads COLUMNS once, when the consoles are made at import: whatever the terminal (or none, under xdist), the
# commands run here print as wide as the executable's.
console.width = err_console.width = COLUMNS


@dataclass(frozen=True, slots=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


KEPT = ("ASKDOCS_DATABASE__URL", "ASKDOCS_EMBEDDING__CACHE_DIR")  # the test's state store, the shared ONNX export


def clean_env(**more: str) -> dict[str, str]:
    """This environment without ASKDOCS_* settings but ``KEPT``'s, and wide enough for the tables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASKDOCS_") or k in KEPT}
    return base | {"COLUMNS": str(COLUMNS)} | more


def run(env: Mapping[str, str], *args: str) -> Ran:
    """``askdocs ARGS`` in this process, with ``env`` as the whole environment while it runs (restored after).
    Settings are read per command, so nothing of one run reaches the next; warnings are logged to its stderr as
    ``main()`` logs them. An unexpected exception is raised here, with its traceback, not turned into exit 1."""
    overrides: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    overrides |= {k: v for k, v in env.items() if os.environ.get(k) != v}
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.getLogger().addHandler(handler)
    try:
        result = CliRunner().invoke(cli, list(args), env=overrides, catch_exceptions=False, prog_name="askdocs")
    finally:
        logging.getLogger().removeHandler(handler)
    return Ran(result.exit_code, result.stdout, result.stderr)


def run_installed(env: Mapping[str, str], *args: str, timeout: float = 300) -> Ran:
    """The installed ``askdocs`` executable in a subprocess."""
    done = subprocess.run([ASKDOCS, *args], env=dict(env), capture_output=True, text=True, timeout=timeout)
    return Ran(done.returncode, done.stdout, done.stderr)


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record comes (the runner's, while a command runs)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)
