"""The formats askdocs reads, by file suffix and by MIME type, each to the kind of loader that reads it.

One table for the two places that need it: the loaders (``ingest.loaders``) pick a loader by it, and the service
refuses an upload that names no readable format before storing it; the service does not import ``ingest``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

SUFFIXES: Mapping[str, str] = MappingProxyType(
    {
        ".html": "html",
        ".htm": "html",
        ".pdf": "pdf",
        ".md": "markdown",
        ".markdown": "markdown",
        ".txt": "text",
    }
)
CONTENT_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "text/html": "html",
        "application/xhtml+xml": "html",
        "application/pdf": "pdf",
        "text/markdown": "markdown",
        "text/x-markdown": "markdown",
        "text/plain": "text",
    }
)
READABLE = f"{', '.join(SUFFIXES)} files, or content of type {', '.join(CONTENT_TYPES)}"


def media_type(content_type: str | None) -> str:
    """The bare MIME type of a Content-Type header: ``text/html; charset=utf-8`` is ``text/html``."""
    return (content_type or "").split(";", 1)[0].strip().lower()
