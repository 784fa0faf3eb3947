"""Dependency aliases for the routes."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from app.container import Container


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def require_admin(
    container: ContainerDep,
    authorization: Annotated[str | None, Header()] = None,
    x_admin_token: Annotated[str | None, Header()] = None,
) -> None:
    expected = container.settings.admin_token
    if expected is None:
        raise HTTPException(403, "admin endpoints are disabled: set ASKDOCS_ADMIN_TOKEN on the service")
    given = x_admin_token or (authorization or "").removeprefix("Bearer ").strip()
    if not given or not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise HTTPException(401, "missing or wrong admin token (send 'Authorization: Bearer <token>')")


AdminDep = Depends(require_admin)
