"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AskRequest(BaseModel):
    question: str = Field(description="The question, in plain language.")
    top_k: int | None = Field(default=None, ge=1, le=50, description="How many passages to answer from.")
    filters: dict[str, str | list[str]] | None = Field(
        default=None, description="Restrict the search: {'source': ..., 'doc_id': ..., 'chunker': ...}"
    )
    retrieval: Literal["dense", "sparse", "hybrid"] | None = Field(
        default=None, description="Override the retrieval mode (default ASKDOCS_RETRIEVAL__MODE)."
    )


class SourceOut(BaseModel):
    n: int
    title: str
    url_or_path: str
    page: int | None
    heading: str
    score: float
    snippet: str


class TimingsOut(BaseModel):
    embed: float
    search: float
    generate: float
    total: float


class AskResponse(BaseModel):
    answer: str
    sources: list[SourceOut]
    mode: str
    timings_ms: TimingsOut
    degraded: bool = False
    reason: str | None = None


class DocumentOut(BaseModel):
    doc_id: str
    source: str
    title: str
    chunks: int
    ingested_at: str
    chunker: str


class IngestResultOut(BaseModel):
    source: str
    status: str
    chunks: int
    doc_id: str
    error: str


class IngestResponse(BaseModel):
    results: list[IngestResultOut]
    failed: int
