"""API keys over HTTP, for admins: the same store as ``askdocs keys``. A key's secret is shown once, on creation."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from app.deps import ContainerDep
from app.schemas import KeyCreated, KeyIn, KeyOut
from app.security import AdminCaller as AdminDep
from askdocs.store.keys import ApiKey, KeyStore

router = APIRouter(tags=["keys"], dependencies=[AdminDep])


def _keys(container: ContainerDep) -> KeyStore:
    if container.keys is None:
        raise HTTPException(503, "this service was started without a key store")
    return container.keys


def key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        name=key.name,
        prefix=key.prefix,
        scope=key.scope,
        groups=list(key.groups),
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


@router.get("/keys", response_model=list[KeyOut])
async def list_keys(container: ContainerDep) -> list[KeyOut]:
    """Every key, revoked ones too, oldest first: name, visible prefix, scope, groups (admin)."""
    return [key_out(k) for k in await run_in_threadpool(_keys(container).keys)]


@router.post("/keys", response_model=KeyCreated, status_code=201)
async def create_key(body: KeyIn, container: ContainerDep) -> KeyCreated:
    """A new key; its secret is in this response only (admin)."""
    groups = tuple(g.strip() for g in body.groups if g.strip())
    key, secret = await run_in_threadpool(_keys(container).create, body.name, body.scope, groups)
    return KeyCreated(**key_out(key).model_dump(), secret=secret)


@router.delete("/keys/{name}")
async def revoke_key(name: str, container: ContainerDep) -> dict[str, str]:
    """Revoke a key: refused from its next request on (admin)."""
    if not await run_in_threadpool(_keys(container).revoke, name):
        raise HTTPException(404, f"no active key named {name!r}")
    return {"revoked": name}
