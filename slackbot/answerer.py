"""Who answers the bot's questions: the service's own pipeline in-process (``app.slack``), or a running service over
HTTP (:class:`HttpAnswerer`, through the one client of the service's API).

Both speak the body of ``POST /ask`` (``askdocs.qa.response.answer_body`` plus ``interaction_id``), read here
into a :class:`Reply`. Failures are the project's errors: ``VectorIndexError`` when the index (or the service
holding it) cannot answer, ``InputError`` for a question the service refuses, ``StoreError`` when feedback cannot
be kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal, Protocol

from askdocs.client import ServiceClient
from askdocs.errors import ConfigError, InputError, ServiceError, StoreError, VectorIndexError
from askdocs.models import Source, says_idk

Rating = Literal["helpful", "not_helpful"]
_SOURCE_FIELDS = {f.name for f in fields(Source)}


@dataclass(frozen=True, slots=True)
class Reply:
    answer: str
    sources: tuple[Source, ...]
    mode: str
    degraded: bool
    uncited: bool
    interaction_id: str | None

    @property
    def idk(self) -> bool:
        return says_idk(self.answer)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Reply:
        """From the /ask response body."""
        sources = tuple(Source(**{k: v for k, v in s.items() if k in _SOURCE_FIELDS}) for s in body.get("sources", []))
        return cls(
            body["answer"],
            sources,
            body.get("mode", "extractive"),
            bool(body.get("degraded")),
            bool(body.get("uncited")),
            body.get("interaction_id"),
        )


class Answerer(Protocol):
    def ask(self, question: str, groups: Sequence[str], asked_by: str) -> Reply:
        """Answer searching only documents without an ACL or shared with ``groups``; ``asked_by`` names the
        person in the log."""
        ...

    def rate(self, interaction_id: str, rating: Rating, rated_by: str) -> None:
        """Record feedback on a logged answer; LookupError when the log does not have it."""
        ...


class HttpAnswerer:
    """A running ``askdocs serve`` over HTTP (embedded mode: the service holds the index), with a frontend key
    so that it honours the asker's groups."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    def ask(self, question: str, groups: Sequence[str], asked_by: str) -> Reply:
        try:
            return Reply.from_body(self._client.ask(question, groups=groups, asked_by=asked_by))
        except ServiceError as exc:
            if exc.status is None or exc.status >= 500:
                raise VectorIndexError(str(exc)) from exc
            if exc.status == 422:
                raise InputError(exc.detail) from exc
            raise ConfigError(
                f"the askdocs service refused the bot (HTTP {exc.status}): {exc.detail}; give it a frontend key "
                "in ASKDOCS_SERVICE__API_KEY (askdocs keys create --scope frontend)"
            ) from exc

    def rate(self, interaction_id: str, rating: Rating, rated_by: str) -> None:
        try:
            self._client.rate(interaction_id, rating, rated_by=rated_by)
        except ServiceError as exc:
            if exc.status == 404:
                raise LookupError(interaction_id) from exc
            raise StoreError(f"the askdocs service did not keep the rating: {exc}") from exc
