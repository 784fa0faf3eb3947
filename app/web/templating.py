"""The Jinja2 environment (built on first use, not at import) and the responses pages and fragments are sent as."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# The pages run only their own scripts and styles, talk only to this service, show images only from it or inline.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["code"] = code_spans
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def page(name: str, **context: Any) -> HTMLResponse:
    """A whole page (a shell: no data in it), under the pages' CSP."""
    return HTMLResponse(render(name, **context), headers={"Content-Security-Policy": PAGE_CSP})


def part(name: str, **context: Any) -> HTMLResponse:
    """A fragment an admin page fetches with the caller's key: never cached."""
    return HTMLResponse(render(name, **context), headers={"Cache-Control": "no-store"})


def when(timestamp: float | None) -> str:
    """A Unix time as UTC, to the minute ('' for none)."""
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M")


def code_spans(text: str) -> Markup:
    """Text with its Markdown `code` spans as <code> (escaped first: nothing else of it becomes markup)."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))
