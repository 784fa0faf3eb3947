"""Web ingestion: one page, a crawl, or a sitemap's pages, fetched through an SSRF guard.

    crawl(start, policy) / from_sitemap(url, policy)   CrawlRun: an iterator of WebResult
      └── PageFetcher (page.py)      robots.txt, conditional GET, status, type sniffing, canonical URL, links
            └── Fetcher (fetcher.py) redirects by hand, size and time limits, per-host delay
                  └── Guard (guard.py)  scheme, allowed host, every resolved address; on every hop

Every page ends as one result: Fetched (a RawSource named by its canonical URL), NotModified (304 to our
validators) or Failed (with a reason; ``gone`` for 404/410). Nothing a page does ends the crawl. Pages robots.txt
keeps us from are not results: a crawl lists them in ``CrawlRun.skipped``, unless the user named the page.
"""

from ingest.web.crawl import CrawlRun, crawl
from ingest.web.guard import Guard, GuardError
from ingest.web.page import fetch_page
from ingest.web.policy import (
    Failed,
    Fetched,
    NotModified,
    Skipped,
    Validators,
    ValidatorStore,
    WebPolicy,
    WebResult,
)
from ingest.web.sitemap import from_sitemap

__all__ = [
    "CrawlRun",
    "Failed",
    "Fetched",
    "Guard",
    "GuardError",
    "NotModified",
    "Skipped",
    "ValidatorStore",
    "Validators",
    "WebPolicy",
    "WebResult",
    "crawl",
    "fetch_page",
    "from_sitemap",
]
