from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool

from app.deps import AdminDep, ContainerDep
from app.schemas import DocumentOut, IngestResponse, IngestResultOut

router = APIRouter(tags=["documents"])


@router.get("/documents", response_model=list[DocumentOut])
def list_documents(container: ContainerDep) -> list[DocumentOut]:
    """The documents in the index."""
    return [
        DocumentOut(**{k: v for k, v in asdict(d).items() if k != "content_hash"}) for d in container.index.documents()
    ]


@router.delete("/documents/{doc_id}", dependencies=[AdminDep])
def delete_document(doc_id: str, container: ContainerDep) -> dict[str, str]:
    """Remove a document and all its chunks (admin token)."""
    if not any(d.doc_id == doc_id for d in container.index.documents()):
        raise HTTPException(404, f"no document with id {doc_id!r}")
    container.index.delete_document(doc_id)
    return {"deleted": doc_id}


@router.post("/ingest", response_model=IngestResponse, dependencies=[AdminDep])
async def ingest(
    container: ContainerDep,
    files: Annotated[list[UploadFile] | None, File(description="HTML, PDF, Markdown or text files")] = None,
    urls: Annotated[list[str] | None, Form(description="http(s) URLs to fetch")] = None,
) -> IngestResponse:
    """Ingest uploaded files and/or URLs into the running service's index (admin token)."""
    sink = container.sink
    if sink is None:
        raise HTTPException(503, "this service was started without an ingest sink")
    if not files and not urls:
        raise HTTPException(422, "send at least one file (field 'files') or URL (field 'urls')")
    limit = container.settings.service.max_upload_mb * 2**20
    results = []
    for upload in files or []:
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise HTTPException(413, f"{upload.filename}: over the {limit // 2**20} MiB upload limit")
        name = upload.filename or "upload"
        results.append(await run_in_threadpool(sink.ingest_bytes, name, data, upload.content_type))
    for url in urls or []:
        results.append(await run_in_threadpool(sink.ingest_url, url))
    out = [IngestResultOut(**asdict(r)) for r in results]
    return IngestResponse(results=out, failed=sum(1 for r in out if r.status == "failed"))
