"""Answers a user can check on a financial filing: a table hit is cited with its page and the statement it belongs
to, and the extractive answer quotes the table row that holds the number, with the year of each amount.

The filing is real: Ulta Beauty's fourth-quarter fiscal 2022 results release (9 pages, its statements as a label
line followed by lines of bare amounts). The row reader is also tried on rows the PDF loader joins with " | ".
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from askdocs.components import make_pipeline
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.edge import EdgeIndex
from askdocs.qa.pipeline import AskOptions
from askdocs.qa.table_rows import Row, rows_and_lines
from askdocs.settings import Settings
from tests.conftest import ULTA_PDF, ingest_paths, make_ingestor

ULTA = ULTA_PDF


def test_rows_of_bare_amount_lines_are_gathered_with_their_years() -> None:
    page = (
        "Condensed Consolidated Statements of Cash Flows (In thousands)\n\n52 Weeks Ended\n\nJanuary 28,\n\n"
        "January 29,\n\n2023\n\n2022\n\nInvesting activities\n\nCapital expenditures\n\n(312,126 )\n\n"
        "(172,187 ) Other investments\n\n(2,458 )\n\n(4,297 ) Net cash used in investing activities\n\n"
        "(314,584 )\n\n(176,484 )\n\nCapital expenditures\n\n$400 million to $475 million Share repurchases\n\n"
        "approximately $900 million\n\nThe company opened 47 new stores during the year, its most since 2019."
    )
    units = rows_and_lines(page)
    rows = [u for u in units if isinstance(u, Row)]
    labels = ["Capital expenditures", "Other investments", "Net cash used in investing activities"]
    assert [r.label for r in rows] == labels
    assert rows[0].quote() == "Capital expenditures: (312,126) (2023); (172,187) (2022)"
    assert rows[1].amounts == ("(2,458)", "(4,297)")
    # Headings, a number that begins a phrase, and prose are left as text.
    text = [u for u in units if isinstance(u, str)]
    assert text[:2] == ["Condensed Consolidated Statements of Cash Flows (In thousands)", "52 Weeks Ended"]
    outlook = ["Capital expenditures", "$400 million to $475 million Share repurchases", "approximately $900 million"]
    assert text[-4:-1] == outlook
    assert text[-1].startswith("The company opened 47 new stores")


def test_rows_joined_with_bars_keep_their_cells_and_a_row_of_years_names_the_columns() -> None:
    table = "(Millions) | 2018 | 2017\nPurchases of PP&E | (1,577) | (1,373)\nNotes | See note 4 | and note 5"
    [row, notes] = rows_and_lines(table)
    assert row == Row("Purchases of PP&E", ("(1,577)", "(1,373)"), ("2018", "2017"))
    assert notes == "Notes | See note 4 | and note 5"  # no amounts: a line of text
    columns_unknown = Row("Net sales", ("$3,226,773", "100.0%", "$2,729,388", "100.0%"), ("2023", "2022"))
    assert columns_unknown.quote() == "Net sales | $3,226,773 | 100.0% | $2,729,388 | 100.0%"


@pytest.fixture(scope="module")
def filing(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Path:
    folder = tmp_path_factory.mktemp("ulta") / "qdrant"
    index = EdgeIndex(folder)
    report = ingest_paths(make_ingestor(embedder, index), ULTA)
    index.close()
    assert not report.failed
    return folder


def test_a_table_hit_is_cited_with_its_page_and_statement_and_the_answer_quotes_its_row(
    filing: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    index = EdgeIndex(filing)
    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    pipeline = make_pipeline(settings, embedder, index)
    answer = pipeline.ask("How much did Ulta Beauty spend on capital expenditures in fiscal 2022?", AskOptions()).answer
    index.close()
    # The outlook page's "Capital expenditures $400 million to $475 million" (fiscal 2023) is prose, not a row.
    [n] = re.findall(r"Capital expenditures: \(312,126\) \(2023\); \(172,187\) \(2022\) \[(\d)\]", answer.text)
    cited = answer.sources[int(n) - 1]
    assert cited.cited and cited.page == 8
    assert cited.heading.startswith("Exhibit 4 Ulta Beauty, Inc. Condensed Consolidated Statements of Cash Flows")
