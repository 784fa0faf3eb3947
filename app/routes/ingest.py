"""Ingest jobs over HTTP: POST /ingest queues uploads and URLs; GET /ingest/{job_id} shows how they went."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from app.deps import ContainerDep
from app.schemas import IngestResponse, IngestResultOut, JobOut
from app.security import AdminCaller as AdminDep
from askdocs.formats import CONTENT_TYPES, READABLE, SUFFIXES, media_type
from askdocs.jobs import MAX_DEPTH, MAX_PAGES, Job, JobKind, JobQueue
from askdocs.urls import ONLY_HTTP, is_http_url

router = APIRouter(tags=["ingest"], dependencies=[AdminDep])
_POLL_S = 0.1


def job_out(job: Job) -> JobOut:
    spec = job.spec
    target = str(spec.get("name") or spec.get("url") or spec.get("source") or "")
    results = [IngestResultOut.model_validate(asdict(r)) for r in job.result.documents]
    return JobOut(
        job_id=job.job_id,
        kind=job.kind.value,
        status=job.status.value,
        target=target,
        attempts=job.attempts,
        progress=job.progress,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        results=results,
        sync=asdict(job.result.sync) | job.result.counts() if job.result.sync else None,
    )


def _queue(container: ContainerDep) -> JobQueue:
    if container.jobs is None:
        raise HTTPException(503, "this service was started without an ingest job queue")
    return container.jobs


@router.post("/ingest", response_model=IngestResponse, status_code=202)
async def ingest(
    container: ContainerDep,
    files: Annotated[list[UploadFile] | None, File(description="HTML, PDF, Markdown or text files")] = None,
    urls: Annotated[list[str] | None, Form(description="http(s) URLs of pages or PDFs to fetch")] = None,
    wait: Annotated[float, Query(ge=0, le=600, description="Seconds to wait for the jobs to finish.")] = 0,
    sitemaps: Annotated[list[str] | None, Form(description="Sitemaps (or indexes): their pages are fetched")] = None,
    crawls: Annotated[list[str] | None, Form(description="Start URLs: their pages and the linked ones")] = None,
    max_pages: Annotated[int, Form(ge=1, le=10_000, description="Pages per sitemap or crawl.")] = MAX_PAGES,
    max_depth: Annotated[int, Form(ge=0, le=20, description="Links followed from a crawl's start.")] = MAX_DEPTH,
) -> IngestResponse:
    """Queue uploaded files, URLs, sitemaps and crawls for ingestion (admin token). A worker runs them; see
    GET /ingest/{job_id}. Private addresses are reached only with ASKDOCS_INGEST__ALLOW_PRIVATE_NETWORK."""
    queue = _queue(container)
    web = [(JobKind.SITEMAP, url) for url in sitemaps or []] + [(JobKind.CRAWL, url) for url in crawls or []]
    if not files and not urls and not web:
        raise HTTPException(
            422, "send at least one file (field 'files'), URL ('urls'), sitemap ('sitemaps') or crawl start ('crawls')"
        )
    for url in [*(urls or []), *(u for _, u in web)]:
        if not is_http_url(url):
            raise HTTPException(422, f"{url!r}: {ONLY_HTTP}")
    uploads = [await _read(upload, container.settings.service.max_upload_mb) for upload in files or []]
    jobs: list[Job] = []
    for name, data, content_type in uploads:  # all read and checked before anything is queued
        upload_id = await run_in_threadpool(queue.put_upload, name, data, content_type)
        spec = {"upload_id": upload_id, "name": name, "content_type": content_type}
        jobs.append(_submitted(await run_in_threadpool(queue.submit, JobKind.UPLOAD, spec)))
    for url in urls or []:
        jobs.append(_submitted(await run_in_threadpool(queue.submit, JobKind.URL, {"url": url})))
    for kind, url in web:
        limits: dict[str, Any] = {"url": url, "max_pages": max_pages, "max_depth": max_depth}
        jobs.append(_submitted(await run_in_threadpool(queue.submit, kind, limits)))
    jobs = await _waited(queue, jobs, wait)
    out = [job_out(j) for j in jobs]
    failed = sum(1 for j in out if j.status == "failed") + sum(
        1 for j in out if j.status == "done" for r in j.results if r.status == "failed"
    )
    return IngestResponse(jobs=out, pending=sum(1 for j in jobs if not j.finished), failed=failed)


async def _read(upload: UploadFile, limit_mb: int) -> tuple[str, bytes, str | None]:
    _check_type(upload)
    limit = limit_mb * 2**20
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"{upload.filename}: over the {limit_mb} MiB upload limit")
    return upload.filename or "upload", data, upload.content_type


async def _waited(queue: JobQueue, jobs: list[Job], wait: float) -> list[Job]:
    """The jobs as they are once all have finished, or ``wait`` seconds have passed."""
    deadline = time.monotonic() + wait
    while wait and time.monotonic() < deadline and not all(j.finished for j in jobs):
        await asyncio.sleep(_POLL_S)
        jobs = [queue.get(j.job_id) or j for j in jobs]
    return jobs


def _check_type(upload: UploadFile) -> None:
    """Refuse, before it is stored, a file that names no format the loaders read, by suffix or by content type."""
    mime = media_type(upload.content_type)
    if Path(upload.filename or "").suffix.lower() not in SUFFIXES and mime not in CONTENT_TYPES:
        raise HTTPException(
            415,
            f"{upload.filename}: not a file type askdocs reads ({mime or 'no content type'}); send {READABLE}",
        )


def _submitted(job: Job | None) -> Job:
    if job is None:  # only keyed submissions are ever refused, and these have no key
        raise HTTPException(500, "the job queue refused an unkeyed job")
    return job


@router.get("/ingest/{job_id}", response_model=JobOut)
def job_status(job_id: str, container: ContainerDep) -> JobOut:
    """One ingest job: queued, running, done or failed, with per-document results and errors (admin token)."""
    job = _queue(container).get(job_id)
    if job is None:
        raise HTTPException(404, f"no ingest job {job_id!r}")
    return job_out(job)


@router.get("/ingest", response_model=list[JobOut])
def recent_jobs(container: ContainerDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[JobOut]:
    """The most recent ingest jobs, newest first (admin token)."""
    return [job_out(j) for j in _queue(container).recent(limit)]
