"""``askdocs ingest --crawl`` and ``--sitemap`` end to end: the command (in this process), the test site on
127.0.0.1, a real embedded index in a temporary data dir."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.runner import clean_env, run
from tests.ingest.test_web_site import Site, running

PRIVATE_HINT = "private and local addresses are refused unless allowed (--allow-private-network)"


def test_crawl_and_sitemap_into_the_index(tmp_path: Path) -> None:
    env = clean_env(ASKDOCS_DATA_DIR=str(tmp_path / "data"))
    site = Site()
    with running(site) as base:
        refused = run(env, "ingest", "--crawl", f"{base}/handbook/")
        assert refused.returncode == 1 and site.hits == []
        assert f"{base}/handbook/: 127.0.0.1 is a loopback address; {PRIVATE_HINT}" in refused.stderr

        both = run(
            env,
            *("ingest", "--crawl", f"{base}/handbook/", "--allow-prefix", "/handbook/", "--max-depth", "2"),
            *("--sitemap", f"{base}/sitemap.xml", "--allow-private-network"),
        )
    assert both.returncode == 1, both.stderr  # the 404 (linked, and listed in the sitemap) and the redirect loop
    # The crawl ingests 7 pages; the sitemap then lists 5 of them again (unchanged) and leaves 2 alone.
    for row in (
        "documents ingested          │ 7",
        "skipped (unchanged)         │ 5",
        "failed                      │ 3",
    ):
        assert row in both.stdout, both.stdout
    assert "skipped (robots.txt, scope) │ 3" in both.stdout and "not visited (--max-pages)   │ 0" in both.stdout
    assert "skipped 2: disallowed by robots.txt for user agent 'askdocs-ingest/0.1'" in both.stdout
    assert "skipped 1: outside the allowed hosts or paths" in both.stdout
    assert f"failed {base}/handbook/missing.html: HTTP 404 Not Found" in both.stderr
    assert f"failed {base}/handbook/loop: redirect loop: {base}/handbook/loop -> " in both.stderr

    docs = {d["source"].removeprefix(base): d for d in json.loads(run(env, "docs", "list", "--json").stdout)}
    assert set(docs) == {
        *("/handbook/index.html", "/handbook/leave.html", "/handbook/travel.html", "/handbook/expenses.html"),
        *("/handbook/deep/one.html", "/handbook/deep/two.html", "/handbook/benefits"),
    }
    assert docs["/handbook/benefits"]["title"] == "Northwind Labs Benefits and Travel Guide"  # read as a PDF
