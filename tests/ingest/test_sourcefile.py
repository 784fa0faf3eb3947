from __future__ import annotations

from pathlib import Path

import pytest

from askdocs.errors import ConfigError
from askdocs.models import Provenance
from askdocs.settings import ChunkingSettings
from ingest.sourcefile import load_sources, parse_schedule, parse_sources

GOOD = """\
sources:
  - name: handbook
    folder: /srv/handbook
    chunker: recursive
    acl: [staff, hr, staff]
    schedule: 15m
  - name: wiki
    crawl: https://wiki.internal/docs/
    allow_private_network: true
    max_pages: 50
  - name: policies
    sitemap: https://example.com/sitemap.xml
    schedule: manual
  - name: faq
    url: [https://example.com/faq.html, https://example.com/faq.pdf]
"""


def test_a_valid_file_gives_each_source_its_kind_schedule_chunking_and_acl() -> None:
    catalog = parse_sources(GOOD)
    handbook, wiki, policies, faq = catalog.sources
    assert [s.kind for s in catalog.sources] == ["folder", "crawl", "sitemap", "url"]
    assert handbook.interval_s == 900 and wiki.interval_s == 3600 and policies.interval_s is None
    assert handbook.provenance == Provenance("handbook", ("hr", "staff"))
    assert handbook.chunking(ChunkingSettings()).chunker == "recursive"
    assert wiki.chunking(ChunkingSettings(chunker="fixed")).chunker == "fixed"
    assert wiki.crawl == ["https://wiki.internal/docs/"] and wiki.allow_private_network and wiki.max_pages == 50
    assert faq.url == ["https://example.com/faq.html", "https://example.com/faq.pdf"]
    assert catalog.get("wiki") is wiki and catalog.get("nope") is None


def test_every_error_names_its_line_and_source() -> None:
    text = """\
sources:
  - name: handbook
    folder: /srv/handbook
  - name: wiki
    crawl: https://wiki/
    schedule: soon
    chunker: nope
    colour: red
  - name: both
    url: https://a.example/
    sitemap: ftp://x.example/
"""
    with pytest.raises(ConfigError) as caught:
        parse_sources(text, "sources.yaml")
    lines = str(caught.value).splitlines()[1:]
    assert [line.strip() for line in lines] == [
        "sources.yaml line 7 (source 'wiki'): chunker: unknown chunker 'nope'; available: fixed, recursive, "
        "semantic, small-to-big, structural",
        "sources.yaml line 6 (source 'wiki'): schedule: schedule 'soon' is not an interval like 30s, 15m, 1h, 1d, "
        "or 'manual'",
        "sources.yaml line 8 (source 'wiki'): colour: unknown key",
        "sources.yaml line 11 (source 'both'): sitemap: 'ftp://x.example/': only http:// and https:// URLs",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources:\n  - name: a\n", "line 2 (source 'a'): source: give exactly one of folder, url, sitemap, crawl"),
        ("sources:\n  - name: a\n    folder: /x\n    url: https://b/\n", "(got folder, url)"),
        ("sources:\n  - name: a\n    folder: /x\n  - name: a\n    folder: /y\n", "two sources are named 'a'"),
        ("sources:\n  - name: [\n", "sources.yaml line 3: not valid YAML"),
        ("- just a list\n", "sources.yaml line 1: expected a mapping with a 'sources:' list"),
        ("sources:\n  - name: 'bad name!'\n    folder: /x\n", "line 2 (source 'bad name!'): name: String should match"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_sources(text, "sources.yaml")
    assert message in str(caught.value)


def test_schedules_and_a_missing_file() -> None:
    assert parse_schedule("30s") == 30 and parse_schedule("1.5h") == 5400 and parse_schedule("Manual") is None
    with pytest.raises(ValueError, match="not an interval"):
        parse_schedule("every day")
    with pytest.raises(ConfigError, match="cannot read the sources file"):
        load_sources(Path("/nonexistent/sources.yaml"))
