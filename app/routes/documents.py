from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, HTTPException

from app.deps import ContainerDep
from app.schemas import DocumentOut
from app.security import AdminCaller as AdminDep
from app.security import CallerDep, get_caller, require_admin

router = APIRouter(tags=["documents"], dependencies=[Depends(get_caller)])


def _may_list(caller: CallerDep, container: ContainerDep) -> None:
    """The list names every document, restricted ones too: once callers have keys, it is for admins only."""
    if caller.scope != "anonymous":
        require_admin(caller, container)


@router.get("/documents", response_model=list[DocumentOut], dependencies=[Depends(_may_list)])
def list_documents(container: ContainerDep) -> list[DocumentOut]:
    """The documents in the index."""
    return [DocumentOut(**{k: v for k, v in asdict(d).items() if k != "version"}) for d in container.index.documents()]


@router.delete("/documents/{doc_id}", dependencies=[AdminDep])
def delete_document(doc_id: str, container: ContainerDep) -> dict[str, str]:
    """Remove a document and all its chunks (admin token)."""
    if not any(d.doc_id == doc_id for d in container.index.documents()):
        raise HTTPException(404, f"no document with id {doc_id!r}")
    container.index.delete_document(doc_id)
    return {"deleted": doc_id}
