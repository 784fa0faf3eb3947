from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.deps import ContainerDep
from askdocs.errors import AskdocsError

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/ready")
def ready(container: ContainerDep) -> JSONResponse:
    """The model is loaded and the index answers."""
    try:
        dimension = container.embedder.dimension
        points = container.index.count()
    except AskdocsError as exc:
        return JSONResponse({"status": "not ready", "reason": str(exc)}, status_code=503)
    return JSONResponse({"status": "ready", "model": container.embedder.name, "dimension": dimension, "points": points})
