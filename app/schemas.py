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
    mode: Literal["prompted", "finetuned", "extractive"] | None = Field(
        default=None,
        description="Override the answer mode (default ASKDOCS_LLM__MODE with an LLM configured, else extractive).",
    )


class SourceOut(BaseModel):
    n: int
    title: str
    url_or_path: str
    page: int | None
    heading: str
    score: float
    snippet: str
    cited: bool = Field(default=False, description="The answer cites it; cited sources come first.")


class TimingsOut(BaseModel):
    embed: float
    search: float
    generate: float
    total: float


class AskResponse(BaseModel):
    answer: str
    sources: list[SourceOut]
    mode: Literal["prompted", "finetuned", "extractive"] = Field(
        description="The mode that answered: the one asked for, or extractive when degraded."
    )
    timings_ms: TimingsOut
    degraded: bool = Field(default=False, description="The LLM failed; the answer is extractive.")
    reason: str | None = None
    uncited: bool = Field(default=False, description="An LLM answer that cites none of its sources: check it.")


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
