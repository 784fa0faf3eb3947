"""The pages' shells: ``/`` (ask) and ``/admin/<page>``. They hold no data and need no key (the browser cannot
send one when it navigates); what they show, their scripts fetch with the caller's key or through its proxy."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.deps import ContainerDep
from app.web.templating import STATIC, page

router = APIRouter(include_in_schema=False)

ADMIN_PAGES = {  # path -> title, in the navigation's order
    "documents": "Documents",
    "ingest": "Ingest",
    "log": "Interaction log",
    "stats": "Stats",
    "keys": "API keys",
    "evals": "Evaluations",
}


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


@router.get("/", response_class=HTMLResponse)
def ask_page(container: ContainerDep) -> HTMLResponse:
    """The question box, the streamed answer with its sources, feedback, the asker's recent questions."""
    limit = container.settings.service.max_question_chars
    return page("ask.html", title="Ask", script="ask", pages=ADMIN_PAGES, current="", max_chars=limit)


@router.get("/admin")
def admin_home() -> RedirectResponse:
    return RedirectResponse("/admin/documents", status_code=307)


@router.get("/admin/{name}", response_class=HTMLResponse)
def admin_page(name: str) -> HTMLResponse:
    """An admin page's shell; its content comes from ``/admin/<name>/part``, for admins only."""
    if name not in ADMIN_PAGES:
        raise HTTPException(404, f"no admin page {name!r}; pages: {', '.join(ADMIN_PAGES)}")
    return page("admin.html", title=ADMIN_PAGES[name], script="admin", pages=ADMIN_PAGES, current=name)
