"""The admin pages for API keys (through the /keys endpoints) and evaluation reports (files of askdocs eval)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from app.container import Container
from app.deps import ContainerDep
from app.routes import keys
from app.schemas import KeyIn
from app.security import AdminCaller as AdminDep
from app.web import reports
from app.web.admin import Action
from app.web.templating import part

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[AdminDep])
REPORTS_SHOWN = 4


@router.get("/keys/part", response_class=HTMLResponse)
async def keys_part(container: ContainerDep) -> HTMLResponse:
    return await _keys(container)


async def _keys(container: Container, message: str = "", secret: str = "") -> HTMLResponse:
    """The keys, and after an action its message (and a new key's secret): never from the request."""
    listed = await keys.list_keys(container)
    listed.sort(key=lambda k: (k.revoked_at is not None, -k.created_at))
    return part("parts/keys.html", keys=listed, message=message, secret=secret)


@router.post("/keys/create", response_class=HTMLResponse, dependencies=[Action])
async def create_key(
    container: ContainerDep,
    name: Annotated[str, Form()],
    scope: Annotated[Literal["ask", "admin", "frontend"], Form()],
    groups: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """As POST /keys; the secret is shown in this one response."""
    made = await keys.create_key(KeyIn(name=name.strip(), scope=scope, groups=groups.split(",")), container)
    said = f"Key “{made.name}” created ({made.scope}). Copy it now: it is shown only this once."
    return await _keys(container, said, made.secret)


@router.post("/keys/revoke", response_class=HTMLResponse, dependencies=[Action])
async def revoke_key(container: ContainerDep, name: Annotated[str, Form()]) -> HTMLResponse:
    await keys.revoke_key(name, container)
    return await _keys(container, f"Key “{name}” revoked: it is refused from its next request on.")


@router.get("/evals/part", response_class=HTMLResponse)
async def evals_part(container: ContainerDep, report: str = "") -> HTMLResponse:
    """The latest reports with their charts, or the one named (from the list: never a path from outside it)."""
    folder = container.settings.service.reports_dir
    listed = await run_in_threadpool(reports.listing, folder)
    if report:
        chosen = [item for item in listed if item[0] == report]
        if not chosen:
            raise HTTPException(404, f"no evaluation report {report!r} in {folder}")
    else:
        chosen = listed[:REPORTS_SHOWN]
    shown = [await run_in_threadpool(reports.read, folder, path, modified) for path, modified in chosen]
    return part("parts/evals.html", reports=shown, listed=listed, folder=str(folder), one=bool(report))
