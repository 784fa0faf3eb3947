"""Ingestion inside the running service: the service holds the embedded index, so it does the writing."""

from __future__ import annotations

import re
import threading
from pathlib import PurePath

from askdocs.embedding import Embedder
from askdocs.errors import LoadError
from askdocs.index.protocol import VectorIndex
from askdocs.models import IngestResult
from askdocs.settings import Settings
from ingest.loaders import RawSource
from ingest.pipeline import Ingestor, Outcome, Status
from ingest.sources import Reader, SourceRef

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


class IngestSink:
    def __init__(self, settings: Settings, embedder: Embedder, index: VectorIndex) -> None:
        self._ingestor = Ingestor(embedder, index, settings.chunking)
        self._reader = Reader(
            settings.ingest.max_file_mb * 2**20, settings.ingest.http_timeout_s, settings.ingest.user_agent
        )
        self._lock = threading.Lock()  # one document at a time: the index is shared with queries

    def ingest_bytes(self, name: str, data: bytes, content_type: str | None) -> IngestResult:
        # A document's identity is its source. ``askdocs ingest`` sends absolute paths as file names, so a
        # file keeps one identity whether it was ingested directly or through the service; other uploads
        # are known by their base name, and uploading a new version of a file replaces the old one.
        source = (
            name if PurePath(name).is_absolute() else f"upload://{_UNSAFE.sub('_', PurePath(name).name) or 'upload'}"
        )
        with self._lock:
            return _result(self._ingestor.ingest_raw(RawSource(source, data, content_type)))

    def ingest_url(self, url: str) -> IngestResult:
        ref = SourceRef(url)
        if not ref.is_url:
            return IngestResult(url, Status.FAILED.value, 0, "", "only http:// and https:// URLs can be ingested")
        try:
            raw = self._reader.read(ref)
        except LoadError as exc:
            return IngestResult(url, Status.FAILED.value, 0, "", exc.reason)
        with self._lock:
            return _result(self._ingestor.ingest_raw(raw))


def _result(outcome: Outcome) -> IngestResult:
    return IngestResult(outcome.source, outcome.status.value, outcome.chunks, outcome.doc_id, outcome.error)
