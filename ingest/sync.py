"""Bring one sources.yaml source up to date: new documents in, changed ones replaced, vanished ones removed.

Removal is the dangerous part, so it runs only when the source was actually reached: a folder that is not
there (an unmounted volume) or a site that does not answer removes nothing. A page that answers 404/410 is
gone; one that times out or fails to parse keeps its last good version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from askdocs.errors import LoadError
from askdocs.index.protocol import VectorIndex
from askdocs.settings import IngestSettings
from ingest.loaders import RawSource, doc_id_for
from ingest.pipeline import Ingestor, Outcome, Status
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


@dataclass(slots=True)
class SyncReport:
    source: str
    outcomes: list[Outcome] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # doc ids dropped because they vanished from the source
    reached: bool = False  # the source answered, so vanished documents could be told apart from an outage
    error: str = ""

    def summary(self) -> dict[str, Any]:
        count = {s.value: sum(1 for o in self.outcomes if o.status is s) for s in Status}
        return {
            "source": self.source,
            **count,
            "removed": len(self.removed),
            "reached": self.reached,
            "error": self.error,
            "failures": [{"source": o.source, "error": o.error} for o in self.outcomes if o.status is Status.FAILED],
        }


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
    on_outcome: Callable[[Outcome], None] = lambda _: None,
) -> SyncReport:
    """``namespace`` keys the stored validators: pass what, when it changes, must refetch every page
    (the source's chunking and ACL)."""
    report = SyncReport(spec.name)
    if spec.folder is not None:
        if not spec.folder.is_dir():
            report.error = f"folder {spec.folder} does not exist (an unmounted volume?); nothing was removed"
            return report
        report.reached = True
    held = {d.doc_id for d in index.documents() if d.origin == spec.name}
    provenance = spec.provenance
    deferred = DeferredValidators(validators, namespace) if validators is not None else None
    seen: set[str] = set()
    for item in _items(spec, reader, web_policy(spec, settings), deferred, held):
        if isinstance(item, RawSource | Fetched):
            raw = item.raw if isinstance(item, Fetched) else item
            outcome = ingestor.ingest_raw(raw, provenance)
            seen.add(outcome.doc_id or doc_id_for(raw.source))
            report.reached = True
            if isinstance(item, Fetched) and outcome.status is not Status.FAILED and deferred is not None:
                deferred.commit(item.final_url or item.url)  # stored only now that the document is
        elif isinstance(item, NotModified):
            seen.add(doc_id_for(item.url))
            report.reached = True
            outcome = Outcome(item.url, Status.UNCHANGED, doc_id=doc_id_for(item.url))
        else:
            outcome = Outcome(item.source, Status.FAILED, error=item.reason)
            if item.gone:
                report.reached = True  # the server answered: the page is gone
            else:
                seen.add(doc_id_for(item.source))  # failing for now: keep its last good version
        report.outcomes.append(outcome)
        on_outcome(outcome)
    if report.reached:
        for doc_id in sorted(held - seen):
            index.delete_document(doc_id)
            report.removed.append(doc_id)
    elif not report.error:
        report.error = "the source did not answer; nothing was removed"
    return report


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
