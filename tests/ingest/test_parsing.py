"""One document never stops a run: any exception is that document's failure, and a parse over its time or memory
limit is stopped in its child process and reported, while the documents after it are parsed as usual."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import LoadError
from askdocs.index.edge import EdgeIndex
from askdocs.models import Document, DocumentStatus, Provenance
from askdocs.settings import ChunkingSettings, IngestSettings
from ingest.loaders import RawSource
from ingest.loaders.text import MarkdownLoader
from ingest.parsing import ChildParser, InlineParser, ParseLimits
from ingest.pipeline import Ingestor
from tests.conftest import HANDBOOK

CHUNKING = ChunkingSettings(chunker="recursive", chunk_size=64, chunk_overlap=0)
SMALL = RawSource("small.html", b"<html><head><title>Small</title></head><body><p>A short page.</p></body></html>")


def huge_html(paragraphs: int) -> RawSource:
    body = "<p>The quarterly figures were reviewed by the board.</p>" * paragraphs
    return RawSource("huge.html", f"<html><body>{body}</body></html>".encode())


def test_the_child_parses_in_order_and_passes_none_through() -> None:
    pdf = RawSource("guide.pdf", (HANDBOOK / "benefits-and-travel.pdf").read_bytes())
    results = list(ChildParser().map([("a", SMALL), ("b", None), ("c", pdf)]))
    assert [key for key, _ in results] == ["a", "b", "c"]
    small, nothing, guide = (r for _, r in results)
    assert isinstance(small, Document) and small.title == "Small"
    assert nothing is None
    assert isinstance(guide, Document) and guide.kind == "pdf" and guide.sections[0].page == 1


def test_a_parse_over_the_time_limit_is_stopped_and_the_next_one_parsed() -> None:
    parser = ChildParser(ParseLimits(timeout_s=0.5))
    [(_, slow), (_, after)] = parser.map([(1, huge_html(300_000)), (2, SMALL)])
    assert isinstance(slow, LoadError) and slow.source == "huge.html"
    assert "longer than 0.5 s (ASKDOCS_INGEST__PARSE_TIMEOUT_S)" in slow.reason
    assert isinstance(after, Document) and after.title == "Small"


def test_a_parse_over_the_memory_limit_is_reported() -> None:
    parser = ChildParser(ParseLimits(timeout_s=120, memory_mb=300))
    [(_, hungry), (_, after)] = parser.map([(1, huge_html(400_000)), (2, SMALL)])
    assert isinstance(hungry, LoadError)
    # Caught as a MemoryError inside the parser, or the parser died of it: either way said so, the run goes on.
    assert hungry.reason in (
        "parsing needed more than 300 MB of memory (ASKDOCS_INGEST__PARSE_MEMORY_MB)",
        "parsing needed more memory than allowed (ASKDOCS_INGEST__PARSE_MEMORY_MB)",
    )
    assert isinstance(after, Document)


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="parse timeout must be more than 0 s, got 0"):
        ParseLimits(timeout_s=0)
    with pytest.raises(ValueError, match="parse memory limit must be at least 256 MB, got 10"):
        ParseLimits(memory_mb=10)
    limits = ChildParser.from_settings(IngestSettings(parse_timeout_s=7, parse_memory_mb=512)).limits
    assert (limits.timeout_s, limits.memory_mb) == (7, 512)


def test_any_loader_exception_fails_only_its_document(
    monkeypatch: pytest.MonkeyPatch, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    def broken(self: MarkdownLoader, raw: RawSource) -> Document:
        raise KeyError("heading")  # a loader bug nobody thought of

    monkeypatch.setattr(MarkdownLoader, "load", broken)
    raws = [
        RawSource("leave.html", (HANDBOOK / "leave.html").read_bytes()),
        RawSource("notes.md", b"# Notes\n\nSome notes."),
        RawSource("security.html", (HANDBOOK / "security.html").read_bytes()),
    ]
    [(_, parsed)] = InlineParser().map([(0, raws[1])])
    assert isinstance(parsed, LoadError) and parsed.reason == "KeyError: 'heading'"
    index = EdgeIndex(tmp_path / "shard")
    outcomes = list(Ingestor(embedder, index, CHUNKING).ingest_stream((r, Provenance()) for r in raws))
    assert [(o.source, o.status) for o in outcomes] == [
        ("leave.html", DocumentStatus.NEW),
        ("notes.md", DocumentStatus.FAILED),
        ("security.html", DocumentStatus.NEW),
    ]
    assert outcomes[1].error == "KeyError: 'heading'"
    assert len(index.documents()) == 2


class _FailsOn:
    """The real model, except that it raises on texts holding ``marker`` (as a broken model input would)."""

    def __init__(self, embedder: SentenceTransformerEmbedder, marker: str) -> None:
        self._embedder, self._marker = embedder, marker
        self.dimension = embedder.dimension
        self.count_tokens = embedder.count_tokens

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if any(self._marker in t for t in texts):
            raise RuntimeError("the model could not encode this text")
        return self._embedder.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embedder.embed_query(text)


def test_an_embedding_failure_fails_only_its_document(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    raws = [
        RawSource("a.md", b"# Parking\n\nThe garage opens at six."),
        RawSource("b.md", b"# Poison\n\nPOISON text the model chokes on."),
        RawSource("c.md", b"# Lunch\n\nThe canteen serves lunch from noon."),
    ]
    index = EdgeIndex(tmp_path / "shard")
    ingestor = Ingestor(_FailsOn(embedder, "POISON"), index, CHUNKING, window=64)  # type: ignore[arg-type]
    outcomes = list(ingestor.ingest_stream((r, Provenance()) for r in raws))
    assert [o.status for o in outcomes] == [DocumentStatus.NEW, DocumentStatus.FAILED, DocumentStatus.NEW]
    assert outcomes[1].error == "RuntimeError: the model could not encode this text"
    assert sorted(d.source for d in index.documents()) == ["a.md", "c.md"]
