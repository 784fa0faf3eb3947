from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import InputError
from askdocs.index.edge import EdgeIndex
from askdocs.models import DocumentStatus
from ingest.chunking import build_chunker
from tests.conftest import BAD, HANDBOOK, ingest_paths, make_ingestor


@pytest.fixture
def index(tmp_path: Path) -> EdgeIndex:
    return EdgeIndex(tmp_path / "shard")


def test_html_pdf_and_markdown_are_ingested_with_metadata(
    embedder: SentenceTransformerEmbedder, index: EdgeIndex
) -> None:
    report = ingest_paths(
        make_ingestor(embedder, index),
        HANDBOOK / "leave.html",
        HANDBOOK / "benefits-and-travel.pdf",
        BAD / "good.md",
    )
    assert report.count(DocumentStatus.NEW) == 3 and not report.failed
    assert index.count() == report.chunks
    hits = index.search(embedder.embed_query("dental insurance coverage"), 3)
    top = hits[0].chunk
    assert top.source.endswith("benefits-and-travel.pdf") and top.page == 2
    assert top.text and top.doc_id and top.title and top.chunker and top.version and top.ingested_at
    assert 0 <= top.chunk_index < top.chunk_count
    md = index.search(embedder.embed_query("When does Project Aurora launch?"), 1)[0].chunk
    assert md.source.endswith("good.md") and md.heading_path


def test_reingesting_unchanged_documents_is_a_no_op(embedder: SentenceTransformerEmbedder, index: EdgeIndex) -> None:
    ingestor = make_ingestor(embedder, index)
    first = ingest_paths(ingestor, HANDBOOK)
    points = index.count()
    second = ingest_paths(ingestor, HANDBOOK)
    assert second.count(DocumentStatus.UNCHANGED) == first.count(DocumentStatus.NEW) and second.chunks == 0
    assert index.count() == points


def test_a_changed_document_leaves_no_orphans(
    embedder: SentenceTransformerEmbedder, index: EdgeIndex, tmp_path: Path
) -> None:
    page = tmp_path / "policy.md"
    page.write_text("# Policy\n\n" + "\n\n".join(f"Rule {i}: " + "the office opens at nine. " * 20 for i in range(8)))
    ingestor = make_ingestor(embedder, index, size=64, overlap=8)
    before = ingest_paths(ingestor, page)
    page.write_text("# Policy\n\nThe office now opens at ten, every day.")
    after = ingest_paths(ingestor, page)
    assert before.chunks > 4 and after.count(DocumentStatus.UPDATED) == 1 and after.chunks == 1
    assert index.count() == 1
    [doc] = index.documents()
    assert doc.chunks == 1
    assert "ten" in index.search(embedder.embed_query("office opening time"), 5)[0].text


def test_a_new_chunker_rechunks_unchanged_documents(embedder: SentenceTransformerEmbedder, index: EdgeIndex) -> None:
    ingest_paths(make_ingestor(embedder, index, size=200), HANDBOOK / "security.html")
    count_200 = index.count()
    report = ingest_paths(make_ingestor(embedder, index, size=64, overlap=8), HANDBOOK / "security.html")
    assert report.count(DocumentStatus.UPDATED) == 1
    assert index.count() == report.chunks > count_200


def test_bad_files_are_reported_and_the_rest_ingested(
    embedder: SentenceTransformerEmbedder, index: EdgeIndex, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    shutil.copytree(BAD, folder)
    shutil.copy(HANDBOOK / "leave.html", folder / "leave.html")
    report = ingest_paths(make_ingestor(embedder, index), folder)
    failed = {Path(o.source).name: o.error for o in report.failed}
    assert set(failed) == {"corrupt.pdf", "truncated.pdf", "encrypted.pdf", "scanned.pdf", "empty.html"}
    assert "needs OCR" in failed["scanned.pdf"]
    assert report.count(DocumentStatus.NEW) == 3  # leave.html, good.md, good.txt
    assert {Path(d.source).name for d in index.documents()} == {"leave.html", "good.md", "good.txt"}


def test_a_failed_update_keeps_what_was_stored(
    embedder: SentenceTransformerEmbedder, index: EdgeIndex, tmp_path: Path
) -> None:
    doc = tmp_path / "guide.pdf"
    shutil.copy(HANDBOOK / "benefits-and-travel.pdf", doc)
    ingestor = make_ingestor(embedder, index)
    stored = ingest_paths(ingestor, doc).chunks
    shutil.copy(BAD / "corrupt.pdf", doc)
    report = ingest_paths(ingestor, doc)
    assert len(report.failed) == 1 and "corrupt" in report.failed[0].error
    assert index.count() == stored


def test_unknown_chunker_names_the_choices(embedder: SentenceTransformerEmbedder) -> None:
    with pytest.raises(InputError, match=r"unknown chunker 'nope'; available: .*recursive"):
        build_chunker("nope", embedder, 200, 40)
    with pytest.raises(InputError, match=r"chunker 'recursive': chunk_overlap \(300\) must be smaller"):
        build_chunker("recursive", embedder, 200, 300)
