"""The period boost: the year a question names raises the candidates of documents that name it (title, file name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from askdocs.components import make_pipeline
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.edge import EdgeIndex
from askdocs.qa.pipeline import AskOptions
from askdocs.qa.rerank import PeriodBoost, RerankChain, SamePage, document_label, named_years
from askdocs.settings import ChunkingSettings, RetrievalSettings, Settings
from ingest.loaders import RawSource
from ingest.pipeline import Ingestor
from tests.chunks import make_hit
from tests.conftest import FIXTURES


def test_the_years_a_text_names() -> None:
    assert named_years("What is the FY2018 capital expenditure for 3M?") == {2018}
    assert named_years("the FY2015 - FY 2017 average, Q2 of FY2024") == {2015, 2017, 2024}
    assert named_years("3M_2018_10K.pdf JPMORGAN_2021Q1_10Q Exhibits-2022-08-03") == {2018, 2021, 2022}
    assert named_years("fiscal year ended December 31, 2022") == {2022}
    assert named_years("$2018, 12018, 2018.5, 1,2019 units, FY18, 1850") == set()


def test_a_document_names_its_year_in_its_title_or_file_name() -> None:
    hit = make_hit("a", 0.5, title="Acme Form 10-K", source="https://sec.example/files/ACME_2019_10K.pdf?x=1")
    assert document_label(hit) == "Acme Form 10-K ACME_2019_10K.pdf"


def test_the_latest_year_named_lifts_its_documents_candidates() -> None:
    hits = [
        make_hit("a", 2.0, title="Acme 10-K, fiscal year ended May 31, 2022"),
        make_hit("b", 1.6, source="/docs/ACME_2020_10K.pdf"),
        make_hit("c", 1.0, title="Acme 10-K 2021"),
    ]
    boosted = PeriodBoost(0.5).rerank("Acme's revenue growth from FY2019 to FY2020?", hits)
    assert [h.point_id for h in boosted] == ["b", "a", "c"]
    assert [round(h.score, 3) for h in boosted] == [1.1, 1.0, 0.0]  # min-max normalised, then + 0.5
    assert boosted[0].dense_score == 1.6  # the cosine thresholds use is kept
    assert PeriodBoost(0.1).rerank("revenue in 2020?", hits)[0].point_id == "a"  # a small weight: a nudge
    for question in ("Acme's revenue?", "Acme's revenue in 2016?"):  # no year, or none of its documents
        assert PeriodBoost(0.5).rerank(question, hits) == hits
    with pytest.raises(ValueError, match=r"within \[0, 10\], got -1"):
        PeriodBoost(-1)


def test_the_chunks_of_one_page_are_one_source_answering_from_all_of_them() -> None:
    text = "Cash flows. Purchases of property | (1,577). Net cash used | (222). Dividends paid | (3,193)."
    a, b, c = (text.index(x) for x in ("Purchases", "Net cash", "Dividends"))
    hits = [
        make_hit("p3-b", 0.9, doc_id="d", page=3, text=text[b:], start=b, end=len(text), chunk_index=8),
        make_hit("p4", 0.8, doc_id="d", page=4),
        make_hit("p3-a", 0.7, doc_id="d", page=3, text=text[a:c], start=a, end=c, chunk_index=7),
        make_hit("web-1", 0.6, doc_id="w"),  # no page: never merged
        make_hit("web-2", 0.5, doc_id="w"),
        make_hit("other-p3", 0.4, doc_id="e", page=3),
    ]
    merged = SamePage().rerank("?", hits)
    assert [h.point_id for h in merged] == ["p3-b", "p4", "web-1", "web-2", "other-p3"]
    assert merged[0].answer_text == text[a:] and merged[0].score == 0.9  # in reading order, the overlap once
    assert merged[1] is hits[1]
    chain = RerankChain([PeriodBoost(0.5), SamePage()])
    assert [h.point_id for h in chain.rerank("in 2020?", hits)] == [h.point_id for h in merged]  # no year named


def test_through_the_service_the_filing_of_the_year_asked_comes_first(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    # The same statement filed twice, as a company's reports of two years share their tables and headings.
    index = EdgeIndex(tmp_path / "shard")
    statement = (FIXTURES / "loaders" / "table.pdf").read_bytes()
    ingestor = Ingestor(embedder, index, ChunkingSettings())
    for year in (2021, 2022):
        ingestor.ingest_raw(RawSource(f"/filings/ACME_{year}_10K.pdf", statement))
    retrieval = RetrievalSettings(candidates=20, period_boost=0.4)
    pipeline = make_pipeline(Settings(retrieval=retrieval, _env_file=None), embedder, index)  # type: ignore[call-arg]
    for year in (2021, 2022, 2021):
        hits = pipeline.retrieve(f"What was Acme's gross margin in FY{year}?", AskOptions()).hits
        assert hits[0].chunk.source == f"/filings/ACME_{year}_10K.pdf"
    index.close()
