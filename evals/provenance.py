"""What a run measured under, written into every evaluation and benchmark artifact.

The command line alone does not say it: ``ASKDOCS_RETRIEVAL__FUSION=rrf askdocs eval answers ...`` and the same
command without the variable measure different services. So an artifact records the ``ASKDOCS_*`` variables set
(secrets masked), the settings they resolve to (``.env`` and defaults included) and the commit of the code.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from askdocs.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
MASK = "**********"


def askdocs_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``ASKDOCS_*`` variables set, sorted; values of keys, tokens and secrets masked."""
    environ = os.environ if environ is None else environ
    return {
        name: MASK if value and any(word in name for word in SECRET_WORDS) else value
        for name, value in sorted(environ.items())
        if name.startswith("ASKDOCS_")
    }


def commit() -> str | None:
    """The checked-out commit, ``+dirty`` when tracked files differ from it; None outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "-uno"], cwd=ROOT, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def settings_in_force(settings: Settings | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The record an artifact keeps: environment, resolved settings (secrets masked by pydantic), commit."""
    resolved = settings if settings is not None else load_settings()
    return {
        "environment": askdocs_environment(environ),
        "settings": resolved.model_dump(mode="json"),
        "commit": commit(),
    }


def environment_line(record: Mapping[str, Any]) -> str:
    """One Markdown line naming the variables in force, for the human-readable report."""
    env: Mapping[str, str] = record["environment"]
    names = ", ".join(f"`{name}={value}`" for name, value in env.items()) or "none (the defaults)"
    return f"Settings in force: `ASKDOCS_*` {names}; commit {record['commit']}."
