from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.deps import ContainerDep
from askdocs.errors import AskdocsError
from askdocs.index.protocol import check_model

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/ready")
def ready(container: ContainerDep) -> JSONResponse:
    """The model is loaded, the index answers and holds vectors of that model; the number formats of both."""
    try:
        dimension = container.embedder.dimension
        points = container.index.count()
        # a server alias may have been switched to another model's vectors under the running service
        check_model(container.index.stored_model(), container.embedder.model_id)
        stored = list(container.index.stored_precisions())
    except AskdocsError as exc:
        return JSONResponse({"status": "not ready", "reason": str(exc)}, status_code=503)
    return JSONResponse(
        {
            "status": "ready",
            "model": container.embedder.name,
            "dimension": dimension,
            "points": points,
            "precision": container.embedder.precision.precision,  # what this process embeds documents in
            "index_precisions": stored,  # what the stored vectors were made in, as recorded ([]: not recorded)
        }
    )
