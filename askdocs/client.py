"""The one client of the service's own HTTP API, for the processes that reach a running ``askdocs serve``: the CLI
(while the service holds the embedded index) and the Slack bot in Socket Mode.

Every failure is a :class:`ServiceError`: ``status`` None when nothing answered, else the HTTP status, with the
service's ``detail``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx

from askdocs.errors import ServiceError
from askdocs.settings import Settings

ACTIVE = ("queued", "running")


class ServiceClient:
    def __init__(self, base_url: str, key: str | None = None, *, timeout_s: float = 600.0) -> None:
        self.base = base_url.rstrip("/")
        self.has_key = bool(key)
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._timeout = timeout_s

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout_s: float = 600.0) -> ServiceClient:
        """ASKDOCS_SERVICE__URL with the key ASKDOCS_SERVICE__API_KEY (default: ASKDOCS_ADMIN_TOKEN)."""
        secret = settings.service.api_key or settings.admin_token
        return cls(settings.service.url, secret.get_secret_value() if secret else None, timeout_s=timeout_s)

    def reachable(self) -> bool:
        try:
            return httpx.get(f"{self.base}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def ask(
        self,
        question: str,
        *,
        top_k: int | None = None,
        groups: Sequence[str] = (),
        asked_by: str | None = None,
    ) -> dict[str, Any]:
        """The /ask response body. ``groups`` and ``asked_by`` are honoured from a frontend key only."""
        body: dict[str, Any] = {"question": question, "groups": list(groups)}
        if top_k is not None:
            body["top_k"] = top_k
        if asked_by is not None:
            body["asked_by"] = asked_by
        found: dict[str, Any] = self.request("POST", "/ask", json=body)
        return found

    def rate(self, interaction_id: str, rating: str, *, rated_by: str | None = None) -> dict[str, Any]:
        body = {"interaction_id": interaction_id, "rating": rating}
        said: dict[str, Any] = self.request(
            "POST", "/feedback", json=body | ({"rated_by": rated_by} if rated_by else {})
        )
        return said

    def documents(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.request("GET", "/documents")
        return found

    def delete_document(self, doc_id: str) -> None:
        self.request("DELETE", f"/documents/{doc_id}")

    def ingest(self, *, poll_s: float = 0.5, **form: Any) -> list[dict[str, Any]]:
        """POST /ingest (``files=`` and/or ``data={"urls": [...]}``) and wait until its jobs have run: the
        per-document results, a job that failed as a whole as one failed result."""
        body = self.request("POST", "/ingest", params={"wait": 600}, **form)
        results: list[dict[str, Any]] = []
        for job in body["jobs"]:
            while job["status"] in ACTIVE:
                time.sleep(poll_s)
                job = self.request("GET", f"/ingest/{job['job_id']}")
            results.extend(job["results"])
            if job["status"] == "failed" and not job["results"]:
                results.append({"source": job["target"], "status": "failed", "chunks": 0, "error": job["error"]})
        return results

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The response's JSON; a ServiceError naming the service and its answer otherwise."""
        try:
            response = httpx.request(
                method, f"{self.base}{path}", headers=self._headers, timeout=self._timeout, **kwargs
            )
        except httpx.HTTPError as exc:
            raise ServiceError(f"cannot reach the askdocs service at {self.base}: {exc}") from exc
        if response.status_code >= 400:
            detail = _detail(response)
            raise ServiceError(
                f"the askdocs service at {self.base} answered HTTP {response.status_code}: {detail}",
                response.status_code,
                detail,
            )
        return response.json()


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except (ValueError, AttributeError):
        return response.text
