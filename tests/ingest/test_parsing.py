"""One document never stops a run: any exception is that document's failure, and a parse over its time or memory
limit is stopped in its child process and reported, while the documents after it are parsed as usual. The time
limit grows with the work the loader reports, and a parse over it is tried once more with more time.

``ULTABEAUTY_2023Q4_EARNINGS.pdf``: Ulta Beauty's results release for its fourth quarter of fiscal 2022 (9 pages), a
public SEC filing exhibit, from ``../shared/eval/financebench-dev.tar.gz``."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import ConfigError, LoadError
from askdocs.index.edge import EdgeIndex
from askdocs.models import Document, DocumentStatus, Provenance
from askdocs.settings import ChunkingSettings, IngestSettings, load_settings
from ingest.loaders import RawSource, load, work
from ingest.loaders.text import MarkdownLoader
from ingest.loaders.work import Work
from ingest.parse_limits import ParseBudget
from ingest.parsing import ChildParser, InlineParser, ParseLimits
from ingest.pipeline import Ingestor
from tests.conftest import FIXTURES, HANDBOOK, ULTA_PDF

CHUNKING = ChunkingSettings(chunker="recursive", chunk_size=64, chunk_overlap=0)
SMALL = RawSource("small.html", b"<html><head><title>Small</title></head><body><p>A short page.</p></body></html>")
ULTA = ULTA_PDF


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


def test_the_budget_grows_with_pages_pages_to_ocr_and_size() -> None:
    budget = ParseBudget(base_s=60, per_page_s=1, per_ocr_page_s=20, per_mb_s=5)
    assert budget.seconds(0) == 60
    assert budget.seconds(2 * 2**20, Work(pages=160, ocr_pages=3)) == 60 + 160 + 60 + 10
    assert budget.explain(2 * 2**20, Work(pages=160, ocr_pages=3)) == (
        " (60 s + 1 s x 160 pages + 20 s x 3 pages to OCR + 5 s x 2 MB)"
    )
    assert budget.explain(1000, Work()) == ""  # 5 ms for the size: the base is all there is to say
    assert ParseBudget.from_settings(IngestSettings()) == ParseBudget()  # one set of defaults


def test_budget_and_limit_errors_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="parse timeout must be more than 0 s, got 0"):
        ParseBudget(base_s=0)
    with pytest.raises(ValueError, match="parse time per_page_s must be 0 or more, got -1"):
        ParseBudget(per_page_s=-1)
    with pytest.raises(ValueError, match=r"a second try gets at least the first one's time, got a factor of 0\.5"):
        ParseLimits(retry_factor=0.5)
    with pytest.raises(ValueError, match="parse memory limit must be at least 256 MB, got 10"):
        ParseLimits(memory_mb=10)
    monkeypatch.setenv("ASKDOCS_INGEST__PARSE_TIMEOUT_PER_PAGE_S", "-2")
    with pytest.raises(ConfigError, match="ASKDOCS_INGEST__PARSE_TIMEOUT_PER_PAGE_S: Input should be greater than"):
        load_settings(_env_file=None)
    # The setting of old, the whole limit before the budget, is its base now: still a time every document gets.
    monkeypatch.setenv("ASKDOCS_INGEST__PARSE_TIMEOUT_PER_PAGE_S", "0.5")
    monkeypatch.setenv("ASKDOCS_INGEST__PARSE_TIMEOUT_S", "120")
    limits = ChildParser.from_settings(load_settings(_env_file=None).ingest).limits
    assert (limits.budget.base_s, limits.budget.per_page_s, limits.memory_mb) == (120, 0.5, 2048)


def test_the_pdf_loader_reports_its_pages() -> None:
    reported: list[Work] = []
    with work.listening(reported.append):
        document = load(RawSource(ULTA.name, ULTA.read_bytes()))
    assert reported == [Work(pages=9)] and len(document.sections) == 9
    work.report(Work(pages=1))  # nobody listens any more: nothing happens
    assert reported == [Work(pages=9)]


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Tesseract (apt-get install tesseract-ocr)")
def test_the_pdf_loader_reports_the_pages_it_ocrs() -> None:
    reported: list[Work] = []
    scan = FIXTURES / "loaders" / "scanned-text.pdf"
    with work.listening(reported.append):
        load(RawSource(scan.name, scan.read_bytes()))
    assert reported == [Work(pages=1), Work(ocr_pages=1)]


def test_the_time_limit_grows_with_the_pages_the_child_reports(caplog: pytest.LogCaptureFixture) -> None:
    # 0.3 s would not do for the filing's 9 pages (0.7 s of CPU here); 2 s a page more does, on the first try.
    parser = ChildParser(ParseLimits(ParseBudget(base_s=0.3, per_page_s=2, per_mb_s=0)))
    with caplog.at_level(logging.WARNING, logger="ingest.parsing"):
        [(_, filing)] = parser.map([(1, RawSource(str(ULTA), ULTA.read_bytes()))])
    assert isinstance(filing, Document) and len(filing.sections) == 9, filing
    assert not caplog.records  # no second try


def test_a_parse_over_its_budget_is_tried_again_with_more_time(caplog: pytest.LogCaptureFixture) -> None:
    # 10 ms and 1 ms a page: no child opens pypdf that fast. The second try has 1000 times that, 10 s and more.
    parser = ChildParser(ParseLimits(ParseBudget(base_s=0.01, per_page_s=0.001, per_mb_s=0), retry_factor=1000))
    with caplog.at_level(logging.WARNING, logger="ingest.parsing"):
        [(_, filing), (_, after)] = parser.map([(1, RawSource(str(ULTA), ULTA.read_bytes())), (2, SMALL)])
    assert isinstance(filing, Document) and len(filing.sections) == 9, filing
    assert isinstance(after, Document) and after.title == "Small"
    [retry] = [r.getMessage() for r in caplog.records]
    assert retry.startswith(f"{ULTA}: parsing took longer than 0.0") and retry.endswith(
        "trying once more with 1000 times the time"
    )


def test_a_parse_over_its_budget_twice_is_reported_with_both_attempts_and_the_next_one_parsed() -> None:
    parser = ChildParser(ParseLimits(ParseBudget(base_s=0.3, per_mb_s=0)))
    [(_, slow), (_, after)] = parser.map([(1, huge_html(300_000)), (2, SMALL)])
    assert isinstance(slow, LoadError) and slow.source == "huge.html"
    assert slow.reason == (
        "parsing took longer than 0.3 s, and longer than 0.9 s (3 times the budget) on a second try; more time: "
        "ASKDOCS_INGEST__PARSE_TIMEOUT_S and ASKDOCS_INGEST__PARSE_TIMEOUT_PER_{PAGE,OCR_PAGE,MB}_S"
    )
    assert isinstance(after, Document) and after.title == "Small"


def test_the_child_waits_for_the_next_stream_and_its_limits_hold_there() -> None:
    parser = ChildParser(ParseLimits(ParseBudget(base_s=0.3, per_mb_s=0)))
    [(_, first)] = parser.map([(1, SMALL)])  # one document, as an upload or a URL job is
    [child] = parser._idle
    pid = child.pid
    [(_, second)] = parser.map([(2, SMALL)])
    assert isinstance(first, Document) and isinstance(second, Document)
    assert [c.pid for c in parser._idle] == [pid] and child.alive  # the same process parsed both
    [(_, slow), (_, after)] = parser.map([(3, huge_html(300_000)), (4, SMALL)])
    assert isinstance(slow, LoadError) and "parsing took longer than 0.3 s" in slow.reason
    assert isinstance(after, Document)
    assert [c.pid for c in parser._idle] not in ([pid], [])  # stopped for its time; its successor waits now


def test_a_parse_over_the_memory_limit_is_reported() -> None:
    parser = ChildParser(ParseLimits(memory_mb=300))
    [(_, hungry), (_, after)] = parser.map([(1, huge_html(400_000)), (2, SMALL)])
    assert isinstance(hungry, LoadError)
    # Caught as a MemoryError inside the parser, or the parser died of it: either way said so, the run goes on.
    assert hungry.reason in (
        "parsing needed more than 300 MB of memory (ASKDOCS_INGEST__PARSE_MEMORY_MB)",
        "parsing needed more memory than allowed (ASKDOCS_INGEST__PARSE_MEMORY_MB)",
    )
    assert isinstance(after, Document)


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
        self.dimension, self.model_id, self.precision = embedder.dimension, embedder.model_id, embedder.precision
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
