"""The admin pages' fragments (``/admin/<page>/part``) and the actions their forms send, for admins only. Each
renders what the JSON endpoint of the same data returns, by calling it: one set of checks and one shape for the
API and the page. Actions come back as the page's fragment anew, with a message."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse

from app.container import Container
from app.deps import ContainerDep
from app.routes import documents, ingest, interactions
from app.schemas import DocumentOut
from app.security import AdminCaller as AdminDep
from app.web import charts
from app.web.templating import part
from askdocs.jobs import MAX_DEPTH, MAX_PAGES

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[AdminDep])
JOBS_SHOWN = 30
REFRESH_MS = 1000  # how often the ingest page looks again while jobs run


def from_the_page(request: Request) -> None:
    """Actions only from the admin page's script, which sends this header: a form on another site cannot (it would
    need CORS), so a browser signed in through the proxy cannot be made to delete or ingest by someone else's page."""
    if request.headers.get("x-askdocs-page") != "1":
        raise HTTPException(403, "send this action from the askdocs admin page (header X-Askdocs-Page: 1)")


Action = Depends(from_the_page)


@router.get("/documents/part", response_class=HTMLResponse)
def documents_part(container: ContainerDep, q: str = "") -> HTMLResponse:
    """The documents in the index, newest first; ``q`` keeps those whose title, source or id hold it."""
    return _documents(container, q)


def _documents(container: Container, q: str, message: str = "") -> HTMLResponse:
    """(A message is never taken from the request: a link could make the page say anything.)"""
    found = documents.list_documents(container)
    needle = q.strip().lower()
    shown = [d for d in found if not needle or needle in f"{d.title}\n{d.source}\n{d.doc_id}".lower()]
    shown.sort(key=lambda d: d.ingested_at, reverse=True)
    return part("parts/documents.html", documents=shown, total=len(found), q=q, message=message)


@router.post("/documents/delete", response_class=HTMLResponse, dependencies=[Action])
def delete_document(
    container: ContainerDep, doc_id: Annotated[str, Form()], q: Annotated[str, Form()] = ""
) -> HTMLResponse:
    known: dict[str, DocumentOut] = {d.doc_id: d for d in documents.list_documents(container)}
    documents.delete_document(doc_id, container)  # 404 for an unknown id, as DELETE /documents/{id}
    gone = known[doc_id]
    said = f"Deleted “{gone.title or gone.source}” and its {gone.chunks} chunks."
    return _documents(container, q, said)


@router.get("/ingest/part", response_class=HTMLResponse)
def ingest_part(container: ContainerDep) -> HTMLResponse:
    """The latest jobs with their progress and per-document outcomes; looked at again while any is running."""
    return _ingest(container)


def _ingest(container: Container, message: str = "") -> HTMLResponse:
    jobs = ingest.recent_jobs(container, JOBS_SHOWN)
    running = any(j.status in ("queued", "running") for j in jobs)
    return part(
        "parts/ingest.html",
        jobs=jobs,
        refresh=REFRESH_MS if running else 0,
        message=message,
        max_pages=MAX_PAGES,
        max_depth=MAX_DEPTH,
    )


@router.post("/ingest/submit", response_class=HTMLResponse, dependencies=[Action])
async def submit_ingest(
    container: ContainerDep,
    files: Annotated[list[UploadFile] | None, File()] = None,
    urls: Annotated[str, Form()] = "",
    web_url: Annotated[str, Form()] = "",
    web_kind: Annotated[Literal["sitemap", "crawl"], Form()] = "sitemap",
    max_pages: Annotated[int, Form(ge=1, le=10_000)] = MAX_PAGES,
    max_depth: Annotated[int, Form(ge=0, le=20)] = MAX_DEPTH,
) -> HTMLResponse:
    """Uploads, URLs (one a line), a sitemap or a crawl, queued as POST /ingest queues them."""
    chosen = [f for f in files or [] if f.filename]  # a file input left empty sends one nameless part
    named = [line.strip() for line in urls.splitlines() if line.strip()]
    web = [web_url.strip()] if web_url.strip() else []
    queued = await ingest.ingest(
        container,
        files=chosen or None,
        urls=named or None,
        wait=0,
        sitemaps=web if web_kind == "sitemap" else None,
        crawls=web if web_kind == "crawl" else None,
        max_pages=max_pages,
        max_depth=max_depth,
    )
    said = f"Queued {len(queued.jobs)} job{'s' if len(queued.jobs) != 1 else ''}: they run one after another below."
    return _ingest(container, said)


Choice = Literal["", "helpful", "not_helpful"]


@router.get("/log/part", response_class=HTMLResponse)
def log_part(
    container: ContainerDep,
    rating: Choice = "",
    mode: Literal["", "extractive", "prompted", "finetuned"] = "",
    since: str = "7d",
    idk: Literal["", "true", "false"] = "",
    channel: Literal["", "api", "stream", "cli", "slack"] = "",
    asked_by: str = "",
) -> HTMLResponse:
    """The interaction log as GET /interactions filters it, newest first, with the feedback given."""
    found = interactions.interactions(
        container,
        rating or None,
        mode or None,
        since.strip() or None,
        {"true": True, "false": False}.get(idk),
        channel or None,
        100,
        asked_by.strip() or None,
    )
    chosen = {"rating": rating, "mode": mode, "since": since, "idk": idk, "channel": channel, "asked_by": asked_by}
    return part("parts/log.html", items=found, chosen=chosen)


@router.get("/stats/part", response_class=HTMLResponse)
def stats_part(container: ContainerDep, since: str = "30d") -> HTMLResponse:
    """GET /interactions/stats as charts: questions per day, answered vs "I do not know", ratings, latency."""
    figures = interactions.stats(container, since.strip() or None)
    n, unrated = figures["questions"], figures["questions"] - figures["rated"]
    drawn = {
        "per_day": charts.per_day(figures["per_day"]),
        "answered": charts.shares([("answered", n - figures["idk"]), ("I do not know", figures["idk"])]),
        "ratings": charts.shares(
            [("helpful", figures["helpful"]), ("not helpful", figures["not_helpful"]), ("not rated", unrated)]
        ),
        "latency": charts.latency(figures["latency_ms"]),
    }
    return part("parts/stats.html", figures=figures, charts=drawn, since=since)
