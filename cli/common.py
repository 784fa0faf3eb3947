"""Shared by the commands: settings, console, error exit, and the service client used when the index is busy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import httpx
import typer
from rich.console import Console

from askdocs.errors import AskdocsError
from askdocs.settings import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except AskdocsError as exc:
        fail(str(exc))


@contextmanager
def clean_errors() -> Iterator[None]:
    """Our errors become one readable line and exit code 2; no stack trace for a user's mistake."""
    try:
        yield
    except AskdocsError as exc:
        fail(str(exc))


class ServiceClient:
    """Talks to a running ``askdocs serve`` (which holds the embedded index)."""

    def __init__(self, settings: Settings) -> None:
        self.base = settings.service.url.rstrip("/")
        secret = settings.service.api_key or settings.admin_token
        token = secret.get_secret_value() if secret else None
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.has_token = token is not None

    def reachable(self) -> bool:
        try:
            return httpx.get(f"{self.base}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = httpx.request(method, f"{self.base}{path}", headers=self._headers, timeout=600, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"cannot reach the service at {self.base}: {exc}")
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            fail(f"the service at {self.base} answered HTTP {response.status_code}: {detail}")
        return response.json()

    def ingest(self, **kwargs: Any) -> list[dict[str, Any]]:
        """POST /ingest and wait until its jobs have run: the per-document results."""
        body = self.request("POST", "/ingest", params={"wait": 600}, **kwargs)
        results: list[dict[str, Any]] = []
        for job in body["jobs"]:
            while job["status"] in ("queued", "running"):
                time.sleep(0.5)
                job = self.request("GET", f"/ingest/{job['job_id']}")
            results.extend(job["results"])
            if job["status"] == "failed" and not job["results"]:
                results.append({"source": job["target"], "status": "failed", "chunks": 0, "error": job["error"]})
        return results
