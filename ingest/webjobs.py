"""Sitemap and crawl jobs queued over HTTP (``POST /ingest``, the admin page): the pages are fetched as
``askdocs ingest --sitemap`` / ``--crawl`` fetch them (the same guard, robots.txt, size and time limits, private
addresses only with ``ASKDOCS_INGEST__ALLOW_PRIVATE_NETWORK``), and each page is one document's outcome. Unlike a
sources.yaml source, a job only adds and updates: nothing is removed, and no validators are kept between jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from askdocs.jobs import MAX_DEPTH, MAX_PAGES, JobKind, JobResult
from askdocs.models import DocumentResult, DocumentStatus
from askdocs.settings import IngestSettings
from ingest.pipeline import Ingestor
from ingest.web import CrawlRun, Failed, Fetched, WebPolicy, crawl, from_sitemap


def run_web_job(
    kind: JobKind,
    spec: dict[str, Any],
    ingestor: Ingestor,
    settings: IngestSettings,
    on_progress: Callable[[int], None] = lambda _: None,
) -> tuple[JobResult, str | None]:
    """Each page's outcome and, when not one page could be had, why."""
    url = str(spec["url"])
    try:
        policy = WebPolicy.from_settings(
            settings,
            allow_private_network=settings.allow_private_network,
            max_pages=int(spec.get("max_pages") or MAX_PAGES),
            max_depth=int(spec.get("max_depth", MAX_DEPTH)),
        )
    except ValueError as exc:
        return JobResult(), str(exc)
    run: CrawlRun = crawl([url], policy) if kind is JobKind.CRAWL else from_sitemap(url, policy)
    outcomes: list[DocumentResult] = []
    for page in run:
        if isinstance(page, Fetched):
            outcomes.append(ingestor.ingest_raw(page.raw))
        elif isinstance(page, Failed):
            outcomes.append(DocumentResult(page.url, DocumentStatus.FAILED, error=page.reason))
        on_progress(len(outcomes))
    result = JobResult(tuple(outcomes))
    if not outcomes:
        skipped = f"; {len(run.skipped)} left alone (robots.txt or out of scope)" if run.skipped else ""
        return result, f"no page found from {url}{skipped}"
    if all(o.status is DocumentStatus.FAILED for o in outcomes):
        return result, f"not one page could be ingested from {url}: {outcomes[0].error}"
    return result, None
