"""The crawl: breadth first, level by level, ``concurrency`` pages at a time in a thread pool, results yielded as
they complete. A level is finished before the next starts, so every page is reached at its shortest depth.

``max_pages`` counts pages requested (a page robots.txt keeps us from is not requested). Pages that answer for
the same canonical URL are yielded once.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from ingest.web.fetcher import Fetcher
from ingest.web.guard import Resolver, system_resolver
from ingest.web.page import Page, PageFetcher, page_fetcher
from ingest.web.policy import Failed, Fetched, NotModified, Skipped, ValidatorStore, WebPolicy, WebResult
from ingest.web.urls import normalise

log = logging.getLogger(__name__)

Seeds = Callable[[Fetcher], Iterable[str | Failed | Skipped]]


@dataclass(frozen=True, slots=True)
class _Task:
    url: str
    depth: int
    explicit: bool  # named by the user: a robots.txt refusal is reported as Failed


class CrawlRun(Iterator[WebResult]):
    """The results of one crawl, as they come. Once exhausted: ``skipped`` (pages left alone on purpose) and
    ``unvisited`` (links still queued when ``max_pages`` was reached). ``close()`` stops early."""

    def __init__(
        self,
        policy: WebPolicy,
        store: ValidatorStore | None,
        seeds: Seeds,
        *,
        follow: bool,
        explicit: bool,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.skipped: list[Skipped] = []
        self.unvisited = 0
        self._policy, self._store, self._resolver = policy, store, resolver
        self._follow, self._explicit = follow, explicit
        self._seen: set[str] = set()
        self._frontier: deque[_Task] = deque()
        self._results = self._run(seeds)

    def __next__(self) -> WebResult:
        return next(self._results)

    def close(self) -> None:
        self._results.close()

    def _run(self, seeds: Seeds) -> Generator[WebResult, None, None]:
        with (
            page_fetcher(self._policy, self._store, self._resolver) as pages,
            ThreadPoolExecutor(self._policy.concurrency, thread_name_prefix="askdocs-crawl") as pool,
        ):
            for seed in seeds(pages.fetcher):
                if isinstance(seed, Failed):
                    yield seed
                elif isinstance(seed, Skipped):
                    self.skipped.append(seed)
                else:
                    self._enqueue(seed, 0, self._explicit)
            yield from self._pages(pages, pool)
            self.unvisited = len(self._frontier)
            if self.unvisited:
                log.info("stopped at max_pages=%d; %d links not visited", self._policy.max_pages, self.unvisited)

    def _pages(self, pages: PageFetcher, pool: ThreadPoolExecutor) -> Iterator[WebResult]:
        inflight: dict[Future[Page], _Task] = {}
        requested = 0
        yielded: set[str] = set()
        while True:
            while self._ready(inflight, requested):
                task = self._frontier.popleft()
                inflight[pool.submit(_fetch, pages, task)] = task
            if not inflight:
                return
            finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for future in finished:
                task = inflight.pop(future)
                page = future.result()
                if page.result is None:
                    log.debug("skipped %s: %s", task.url, page.skipped)
                    self.skipped.append(Skipped(task.url, page.skipped))
                    continue
                requested += 1
                self._seen.update(page.aliases)
                if self._follow and task.depth < self._policy.max_depth:
                    for link in page.links:
                        if self._policy.in_scope(link):
                            self._enqueue(link, task.depth + 1, False)
                if isinstance(page.result, Fetched | NotModified):
                    if page.result.url in yielded:
                        continue  # another URL of the same document
                    yielded.add(page.result.url)
                yield page.result

    def _ready(self, inflight: dict[Future[Page], _Task], requested: int) -> bool:
        if not self._frontier or len(inflight) >= self._policy.concurrency:
            return False
        if requested + len(inflight) >= self._policy.max_pages:
            return False
        return not inflight or self._frontier[0].depth <= min(t.depth for t in inflight.values())

    def _enqueue(self, url: str, depth: int, explicit: bool) -> None:
        if url not in self._seen:
            self._seen.add(url)
            self._frontier.append(_Task(url, depth, explicit))


def _fetch(pages: PageFetcher, task: _Task) -> Page:
    try:
        return pages.fetch(task.url, explicit=task.explicit)
    except Exception as exc:  # one page's surprise must not end the crawl
        log.exception("unexpected error fetching %s", task.url)
        return Page(Failed(task.url, f"unexpected error ({type(exc).__name__}: {exc})"))


def crawl(start: Sequence[str], policy: WebPolicy, store: ValidatorStore | None = None) -> CrawlRun:
    """Pages from ``start``, following links on allowed hosts and paths up to ``policy.max_depth``.
    With no allow-list, the start URLs' hosts are allowed."""
    urls = list(start)
    return CrawlRun(policy.for_start(urls), store, lambda _: _starts(urls), follow=True, explicit=True)


def _starts(urls: Sequence[str]) -> Iterator[str | Failed]:
    for url in urls:
        try:
            yield normalise(url)
        except ValueError as exc:
            yield Failed(url, f"not a valid URL ({exc})")
