"""Prometheus metrics (``GET /metrics`` with ``ASKDOCS_AUTH__METRICS_TOKEN``), one registry per app."""

from __future__ import annotations

import hmac
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from askdocs.qa.generate import I_DO_NOT_KNOW
from askdocs.qa.pipeline import AskResult

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
STAGES = ("embed", "search", "generate", "total")


class Metrics:
    def __init__(self, queue_path: Path | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Histogram(
            "askdocs_request_seconds", "HTTP request latency", ["route", "method"], buckets=_BUCKETS, registry=r
        )
        self.responses = Counter("askdocs_responses", "HTTP responses", ["route", "status"], registry=r)
        self.stages = Histogram(
            "askdocs_stage_seconds", "/ask pipeline stage latency", ["stage"], buckets=_BUCKETS, registry=r
        )
        self.answers = Counter("askdocs_answers", "answers given, by the mode that answered", ["mode"], registry=r)
        self.unknown = Counter("askdocs_i_do_not_know", "answers that were 'I do not know'", registry=r)
        self.degraded = Counter("askdocs_degraded_answers", "LLM failed; extractive answer given", registry=r)
        self.rate_limited = Counter("askdocs_rate_limited", "requests refused with 429", registry=r)
        self.log_failures = Counter("askdocs_log_failures", "interactions the state store failed to record", registry=r)
        if queue_path is not None:
            r.register(_QueueCollector(queue_path))

    def answered(self, result: AskResult) -> None:
        answer = result.answer
        self.answers.labels(answer.mode).inc()
        if answer.answer.strip().startswith(I_DO_NOT_KNOW.rstrip(".")):
            self.unknown.inc()
        if result.degraded:
            self.degraded.inc()
        timings = answer.timings_ms
        for stage in STAGES:
            self.stages.labels(stage).observe(getattr(timings, stage) / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _QueueCollector(Collector):
    """Ingest figures read from the job queue at scrape time: they count every worker's jobs, not only ours."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        depth = GaugeMetricFamily("askdocs_ingest_queue_depth", "ingest jobs waiting or running", labels=["status"])
        docs = CounterMetricFamily("askdocs_ingest_documents", "documents ingested by jobs", labels=["status"])
        chunks = CounterMetricFamily("askdocs_ingest_chunks", "chunks written by ingest jobs")
        failed = CounterMetricFamily("askdocs_ingest_job_failures", "ingest jobs that failed")
        try:
            counts, per_doc, total_chunks, failures = _queue_figures(self._path)
        except sqlite3.Error:
            return
        for status in ("queued", "running"):
            depth.add_metric([status], counts.get(status, 0))
        for status, n in per_doc.items():
            docs.add_metric([status], n)
        chunks.add_metric([], total_chunks)
        failed.add_metric([], failures)
        yield from (depth, docs, chunks, failed)


def _queue_figures(path: Path) -> tuple[dict[str, int], dict[str, int], int, int]:
    if not path.exists():
        return {}, {}, 0, 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2) as db:
        counts = dict(db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall())
        rows = db.execute(
            "SELECT json_extract(r.value, '$.status'), COUNT(*), SUM(json_extract(r.value, '$.chunks')) "
            "FROM jobs, json_each(jobs.result, '$.results') AS r GROUP BY 1"
        ).fetchall()
    per_doc = {str(status): int(n) for status, n, _ in rows if status}
    total_chunks = sum(int(c or 0) for status, _, c in rows if status in ("new", "updated"))
    return counts, per_doc, total_chunks, int(counts.get("failed", 0))


router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format; needs ``Authorization: Bearer <ASKDOCS_AUTH__METRICS_TOKEN>``."""
    settings = request.app.state.guard.settings
    token = settings.auth.metrics_token
    if token is None:
        raise HTTPException(404, "metrics are off: set ASKDOCS_AUTH__METRICS_TOKEN to turn them on")
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise HTTPException(401, "GET /metrics needs 'Authorization: Bearer <ASKDOCS_AUTH__METRICS_TOKEN>'")
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
