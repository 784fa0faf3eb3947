"""Bring one sources.yaml source up to date: new documents in, changed ones replaced, vanished ones removed.

Removal is the dangerous part, so it runs only when the source was actually reached: a folder that is not
there (an unmounted volume) or a site that does not answer removes nothing. A page that answers 404/410 is
gone; one that times out or fails to parse keeps its last good version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from askdocs.errors import LoadError
from askdocs.index.protocol import VectorIndex
from askdocs.jobs import JobResult, SyncSummary
from askdocs.models import DocumentResult, DocumentStatus
from askdocs.settings import IngestSettings
from ingest.loaders import RawSource, doc_id_for
from ingest.pipeline import Ingestor
from ingest.sourcefile import SourceSpec
from ingest.sources import Reader, expand
from ingest.web import (
    Failed,
    Fetched,
    NotModified,
    Validators,
    ValidatorStore,
    WebPolicy,
    crawl,
    fetch_page,
    from_sitemap,
)


@dataclass(frozen=True, slots=True)
class _Gone:
    source: str
    reason: str
    gone: bool  # the source says it no longer exists (404/410), as opposed to failing for now


_Item = RawSource | Fetched | NotModified | _Gone


class DeferredValidators:
    """Holds a page's ETag/Last-Modified back until its document is stored, so a crash between fetching and
    storing cannot turn into a 304 for a page the index never got. Keyed by the source's settings too:
    a changed chunker or ACL must not be answered with "not modified"."""

    def __init__(self, store: ValidatorStore, namespace: str) -> None:
        self._store = store
        self._namespace = namespace
        self._pending: dict[str, Validators] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> Validators | None:
        return self._store.get(f"{self._namespace} {url}")

    def put(self, url: str, validators: Validators) -> None:
        with self._lock:
            self._pending[url] = validators

    def commit(self, url: str) -> None:
        with self._lock:
            validators = self._pending.pop(url, None)
        if validators is not None:
            self._store.put(f"{self._namespace} {url}", validators)


def web_policy(spec: SourceSpec, settings: IngestSettings) -> WebPolicy:
    return WebPolicy.from_settings(
        settings,
        allow_hosts=tuple(spec.allow_hosts),
        allow_prefixes=tuple(spec.allow_prefixes),
        allow_private_network=spec.allow_private_network,
        max_depth=spec.max_depth,
        max_pages=spec.max_pages,
        concurrency=spec.concurrency,
        delay_s=spec.delay_s,
        respect_robots=spec.respect_robots,
    )


def sync_source(
    spec: SourceSpec,
    ingestor: Ingestor,
    index: VectorIndex,
    reader: Reader,
    settings: IngestSettings,
    validators: ValidatorStore | None = None,
    namespace: str = "",
    on_outcome: Callable[[DocumentResult], None] = lambda _: None,
) -> JobResult:
    """The documents' results and the sync's summary (documents removed, whether the source answered).
    ``namespace`` keys the stored validators: pass what, when it changes, must refetch every page (the source's
    chunking and ACL)."""
    if spec.folder is not None and not spec.folder.is_dir():
        error = f"folder {spec.folder} does not exist (an unmounted volume?); nothing was removed"
        return JobResult((), SyncSummary(spec.name, error=error))
    results: list[DocumentResult] = []
    reached = spec.folder is not None
    held = {d.doc_id for d in index.documents() if d.origin == spec.name}
    provenance = spec.provenance
    deferred = DeferredValidators(validators, namespace) if validators is not None else None
    seen: set[str] = set()
    for item in _items(spec, reader, web_policy(spec, settings), deferred, held):
        if isinstance(item, RawSource | Fetched):
            raw = item.raw if isinstance(item, Fetched) else item
            outcome = ingestor.ingest_raw(raw, provenance)
            seen.add(outcome.doc_id or doc_id_for(raw.source))
            reached = True
            if isinstance(item, Fetched) and outcome.status is not DocumentStatus.FAILED and deferred is not None:
                deferred.commit(item.final_url or item.url)  # stored only now that the document is
        elif isinstance(item, NotModified):
            seen.add(doc_id_for(item.url))
            reached = True
            outcome = DocumentResult(item.url, DocumentStatus.UNCHANGED, doc_id=doc_id_for(item.url))
        else:
            outcome = DocumentResult(item.source, DocumentStatus.FAILED, error=item.reason)
            if item.gone:
                reached = True  # the server answered: the page is gone
            else:
                seen.add(doc_id_for(item.source))  # failing for now: keep its last good version
        results.append(outcome)
        on_outcome(outcome)
    if not reached:
        return JobResult(tuple(results), SyncSummary(spec.name, error="the source did not answer; nothing was removed"))
    for doc_id in sorted(held - seen):
        index.delete_document(doc_id)
    return JobResult(tuple(results), SyncSummary(spec.name, removed=len(held - seen), reached=True))


def _items(
    spec: SourceSpec, reader: Reader, policy: WebPolicy, store: DeferredValidators | None, held: set[str]
) -> Iterator[_Item]:
    if spec.folder is not None:
        refs, missing = expand([str(spec.folder)])
        yield from (_Gone(e.source, e.reason, gone=False) for e in missing)
        for ref in refs:
            try:
                yield reader.read(ref)
            except LoadError as exc:
                yield _Gone(ref.location, exc.reason, gone=False)
        return
    if spec.kind == "url":
        results: Iterator[Any] = (fetch_page(url, policy, store) for url in spec.url or [])
    elif spec.kind == "sitemap" and spec.sitemap:
        results = from_sitemap(spec.sitemap, policy, store)
    else:
        results = crawl(spec.crawl or [], policy, store)
    for result in results:
        if isinstance(result, Fetched):
            yield result
        elif isinstance(result, NotModified):
            if doc_id_for(result.url) in held:
                yield result
            else:  # validators survived but the document did not (a wiped index): fetch it whole
                again = fetch_page(result.url, policy, None)
                if isinstance(again, Fetched):
                    yield again
                elif isinstance(again, Failed):
                    yield _Gone(again.url, again.reason, again.gone)
        elif isinstance(result, Failed):
            yield _Gone(result.url, result.reason, result.gone)
