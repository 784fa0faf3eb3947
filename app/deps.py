"""Dependency aliases for the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.container import Container


async def get_container(request: Request) -> Container:
    """Async: FastAPI runs a plain function dependency on a worker thread, a hop per request for one attribute."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]
