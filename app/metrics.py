"""Prometheus metrics of the service: requests, pipeline stages, answers, limits, ingestion, the queue."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from askdocs.jobs import Job
from askdocs.models import DocumentStatus

REGISTRY = CollectorRegistry()
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Histogram(
    "askdocs_request_seconds",
    "HTTP request latency",
    ["route", "method", "status"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
STAGES = Histogram(
    "askdocs_stage_seconds", "Answer pipeline stage latency", ["stage"], buckets=_SECONDS, registry=REGISTRY
)
ANSWERS = Counter("askdocs_answers_total", "Answers given, by mode", ["mode"], registry=REGISTRY)
IDK = Counter("askdocs_idk_answers_total", 'Answers that were "I do not know"', registry=REGISTRY)
DEGRADED = Counter("askdocs_degraded_answers_total", "LLM answers that fell back to extractive", registry=REGISTRY)
RATE_LIMITED = Counter("askdocs_rate_limited_total", "Requests refused by the rate limit", registry=REGISTRY)
INGESTED = Counter(
    "askdocs_ingest_documents_total", "Documents handled by jobs, by status", ["status"], registry=REGISTRY
)
CHUNKS = Counter("askdocs_ingest_chunks_total", "Chunks written by ingest jobs", registry=REGISTRY)
QUEUE = Gauge("askdocs_queue_depth", "Ingest jobs queued or running", registry=REGISTRY)
LOG_FAILURES = Gauge("askdocs_log_failures", "Interaction log writes that failed since start", registry=REGISTRY)


def record_answer(mode: str, idk: bool, degraded: bool, timings_ms: dict[str, float]) -> None:
    ANSWERS.labels(mode).inc()
    if idk:
        IDK.inc()
    if degraded:
        DEGRADED.inc()
    for stage in ("embed", "search", "generate", "total"):
        STAGES.labels(stage).observe(timings_ms.get(stage, 0.0) / 1000)


def record_job(job: Job) -> None:
    """A finished ingest job of the worker inside the service (``askdocs serve``; separate ``askdocs worker``
    processes serve no metrics)."""
    for document in job.result.documents:
        INGESTED.labels(document.status.value).inc()
        if document.status in (DocumentStatus.NEW, DocumentStatus.UPDATED):
            CHUNKS.inc(document.chunks)


def exposition(queue_depth: int | None, log_failures: int | None) -> bytes:
    if queue_depth is not None:
        QUEUE.set(queue_depth)
    if log_failures is not None:
        LOG_FAILURES.set(log_failures)
    return generate_latest(REGISTRY)
