"""The one mapping from errors to HTTP: the exception handlers and the stream's error events both use it."""

from __future__ import annotations

import logging

from askdocs.errors import AskdocsError, GenerationError, InputError, VectorIndexError

log = logging.getLogger("askdocs.app")


def error_status(exc: BaseException) -> tuple[int, str]:
    """The status code and the detail a caller sees; the log gets what the caller must not (a trace)."""
    if isinstance(exc, InputError):
        return 422, str(exc)
    if isinstance(exc, VectorIndexError):
        log.error("index error: %s", exc)
        return 503, f"the index is unavailable: {exc}"
    if isinstance(exc, GenerationError):
        return 502, f"the language model failed: {exc}"
    if isinstance(exc, AskdocsError):
        log.error("error: %s", exc)
        return 500, str(exc)
    log.error("unexpected error", exc_info=exc)
    return 500, "internal error; see the service log"
