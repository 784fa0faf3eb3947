"""Loaders: raw bytes of one source in, a structured Document out. One per format, chosen by type."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol

from askdocs.errors import LoadError
from askdocs.formats import CONTENT_TYPES, READABLE, SUFFIXES, media_type
from askdocs.models import Document


@dataclass(frozen=True, slots=True)
class RawSource:
    source: str  # absolute path or URL: the document's identity
    data: bytes
    content_type: str | None = None  # MIME type when known (HTTP), else None

    @property
    def suffix(self) -> str:
        name = self.source.split("?", 1)[0].split("#", 1)[0]
        return PurePosixPath(name).suffix.lower()

    @property
    def stem(self) -> str:
        name = self.source.split("?", 1)[0].rstrip("/")
        return PurePosixPath(name).stem or name


class Loader(Protocol):
    kind: str

    def load(self, raw: RawSource) -> Document: ...


def doc_id_for(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sniff(data: bytes) -> str | None:
    """The MIME type the bytes declare themselves (PDF, HTML), which beats a wrong Content-Type header or name."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf-"):
        return "application/pdf"
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return "text/html"
    return None


def kind_of(raw: RawSource) -> str:
    """Pick the format: the declared MIME type, then the file name, then the bytes themselves."""
    mime = media_type(raw.content_type)
    if mime in CONTENT_TYPES and not (mime == "text/plain" and raw.suffix in SUFFIXES):
        return CONTENT_TYPES[mime]
    if raw.suffix in SUFFIXES:
        return SUFFIXES[raw.suffix]
    sniffed = sniff(raw.data)
    if sniffed:
        return CONTENT_TYPES[sniffed]
    raise LoadError(raw.source, f"unsupported type ({mime or raw.suffix or 'unknown'}); askdocs reads {READABLE}")


def load(raw: RawSource) -> Document:
    from ingest.loaders.html import HtmlLoader
    from ingest.loaders.pdf import PdfLoader
    from ingest.loaders.text import MarkdownLoader, TextLoader

    loaders: dict[str, Loader] = {
        "html": HtmlLoader(),
        "pdf": PdfLoader(),
        "markdown": MarkdownLoader(),
        "text": TextLoader(),
    }
    document = loaders[kind_of(raw)].load(raw)
    if not document.text.strip():
        raise LoadError(raw.source, "no text found in the document")
    return document
