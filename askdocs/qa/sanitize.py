"""Question sanitising: the first step of every request."""

from __future__ import annotations

import re
import unicodedata

from askdocs.errors import InputError

_WHITESPACE = re.compile(r"\s+")


def sanitize_question(question: str, max_chars: int) -> str:
    """Trim, collapse white space, strip control characters; refuse empty or over-long questions."""
    if len(question) > max_chars * 4:  # do not normalise megabytes only to refuse them
        raise InputError(f"question is {len(question)} characters long; the limit is {max_chars}")
    cleaned = "".join(
        " " if ch.isspace() else ch for ch in question if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    cleaned = _WHITESPACE.sub(" ", cleaned).strip()
    if not cleaned:
        raise InputError("question is empty")
    if len(cleaned) > max_chars:
        raise InputError(f"question is {len(cleaned)} characters long; the limit is {max_chars}")
    return cleaned
