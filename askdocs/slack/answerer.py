"""Who answers the bot's questions: the service's own pipeline in-process, or a running service over HTTP.

Both speak the body of ``POST /ask`` (``askdocs.qa.response.answer_body`` plus ``interaction_id``), read here
into a :class:`Reply`. Failures are the project's errors: ``IndexError_`` when the index (or the service holding
it) cannot answer, ``InputError`` for a question the service refuses, ``StoreError`` when feedback cannot be kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

from askdocs.errors import ConfigError, IndexError_, InputError, StoreError
from askdocs.qa.generate import I_DO_NOT_KNOW

Rating = Literal["helpful", "not_helpful"]


@dataclass(frozen=True, slots=True)
class SourceRef:
    n: int
    title: str
    url_or_path: str
    page: int | None
    heading: str
    cited: bool


@dataclass(frozen=True, slots=True)
class Reply:
    answer: str
    sources: tuple[SourceRef, ...]
    mode: str
    degraded: bool
    uncited: bool
    interaction_id: str | None

    @property
    def idk(self) -> bool:
        return self.answer.strip().rstrip(".").lower() == I_DO_NOT_KNOW.rstrip(".").lower()

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Reply:
        """From the /ask response body."""
        sources = tuple(
            SourceRef(s["n"], s["title"], s["url_or_path"], s.get("page"), s.get("heading", ""), s.get("cited", False))
            for s in body.get("sources", [])
        )
        return cls(
            body["answer"],
            sources,
            body.get("mode", "extractive"),
            bool(body.get("degraded")),
            bool(body.get("uncited")),
            body.get("interaction_id"),
        )


class Answerer(Protocol):
    def ask(self, question: str, groups: Sequence[str], asker: str) -> Reply:
        """Answer searching only documents without an ACL or shared with ``groups``; ``asker`` is for the log."""
        ...

    def rate(self, interaction_id: str, rating: Rating, rated_by: str) -> None:
        """Record feedback on a logged answer; LookupError when the log does not have it."""
        ...


class HttpAnswerer:
    """A running ``askdocs serve`` over HTTP (embedded mode: the service holds the index), with a frontend key
    so that it honours the asker's groups."""

    def __init__(self, base_url: str, key: str | None, timeout_s: float = 120.0) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._timeout = timeout_s

    def ask(self, question: str, groups: Sequence[str], asker: str) -> Reply:
        response = self._post("/ask", {"question": question, "groups": list(groups), "asked_by": asker})
        if response.status_code >= 500:
            raise IndexError_(f"the askdocs service at {self._base} answered HTTP {response.status_code}")
        if response.status_code == 422:
            raise InputError(_detail(response))
        if response.status_code >= 400:
            raise ConfigError(
                f"the askdocs service refused the bot (HTTP {response.status_code}): {_detail(response)}; "
                "give it a frontend key in ASKDOCS_SERVICE__API_KEY (askdocs keys create --scope frontend)"
            )
        return Reply.from_body(response.json())

    def rate(self, interaction_id: str, rating: Rating, rated_by: str) -> None:
        response = self._post("/feedback", {"interaction_id": interaction_id, "rating": rating, "rated_by": rated_by})
        if response.status_code == 404:
            raise LookupError(interaction_id)
        if response.status_code >= 400:
            raise StoreError(
                f"the askdocs service did not keep the rating (HTTP {response.status_code}): {_detail(response)}"
            )

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        try:
            return httpx.post(f"{self._base}{path}", json=body, headers=self._headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise IndexError_(f"cannot reach the askdocs service at {self._base}: {exc}") from exc


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text
