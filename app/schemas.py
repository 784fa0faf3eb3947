"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class AskRequest(BaseModel):
    question: str = Field(description="The question, in plain language.")
    top_k: int | None = Field(default=None, ge=1, le=50, description="How many passages to answer from.")
    filters: dict[str, str | list[str]] | None = Field(
        default=None,
        description="Restrict the search: {'source': ..., 'doc_id': ..., 'chunker': ..., 'origin': ...}",
    )
    groups: list[str] = Field(
        default_factory=list,
        description="The asker's groups, as vouched for by the front end (e.g. an SSO proxy): documents whose "
        "source has an ACL are found only by its members. Without groups, only documents without an ACL.",
    )
    asked_by: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Who asked, as vouched for by the front end (e.g. 'slack:U0123'): the interaction log names "
        "them instead of the key. Honoured only from a frontend key.",
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
    idk: bool = Field(default=False, description='The answer is "I do not know.": the documents do not hold it.')
    closest: list[SourceOut] = Field(
        default_factory=list,
        description='With "I do not know": the nearest passages found (none close enough to answer from).',
    )
    interaction_id: str | None = Field(
        default=None, description="This answer in the interaction log: rate it with POST /feedback (null: log off)."
    )


class DocumentOut(BaseModel):
    doc_id: str
    source: str
    title: str
    chunks: int
    ingested_at: str
    chunker: str
    origin: str = Field(default="", description="The sources.yaml source it came from ('' for direct ingests).")


class IngestResultOut(BaseModel):
    source: str
    status: Literal["new", "updated", "unchanged", "failed"]
    chunks: int = 0
    doc_id: str = ""
    title: str = ""
    error: str = ""


class JobOut(BaseModel):
    job_id: str
    kind: Literal["upload", "url", "sync", "sitemap", "crawl"]
    status: Literal["queued", "running", "done", "failed"]
    target: str = Field(description="The file name, URL or sources.yaml source the job is about.")
    attempts: int
    progress: int = Field(description="Documents handled so far (a source sync reports as it goes).")
    created_at: float
    started_at: float | None
    finished_at: float | None
    error: str | None = Field(description="Why the job failed as a whole (per-document errors are in results).")
    results: list[IngestResultOut] = Field(description="One entry per document, once the job has run.")
    sync: dict[str, Any] | None = Field(default=None, description="A source sync's summary (counts, removed).")


class IngestResponse(BaseModel):
    jobs: list[JobOut]
    pending: int = Field(description="Jobs not finished yet: poll GET /ingest/{job_id}.")
    failed: int = Field(description="Jobs or documents that failed.")


class FeedbackIn(BaseModel):
    interaction_id: str = Field(min_length=1, max_length=64, description="From the /ask response.")
    rating: Literal["helpful", "not_helpful"]
    comment: str | None = Field(default=None, max_length=4000)
    corrected_answer: str | None = Field(
        default=None, max_length=20_000, description="The right answer; fine-tuning exports prefer it."
    )
    rated_by: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Who rated, as vouched for by the front end (e.g. 'slack:U0123'). Only from a frontend key.",
    )


class FeedbackOut(BaseModel):
    interaction_id: str
    rating: Literal["helpful", "not_helpful"]
    replaced: bool = Field(description="An earlier rating of this answer was replaced.")
    detail: str


class MeOut(BaseModel):
    name: str | None = Field(description="The key's name or the proxy's user; null: anonymous (no keys configured).")
    scope: Literal["ask", "admin", "frontend", "proxy", "anonymous"]
    groups: list[str] = Field(description="The groups the caller searches with (documents with an ACL).")
    admin: bool = Field(description="May open the admin pages and endpoints.")


class AskedOut(BaseModel):
    interaction_id: str
    question: str
    created_at: float
    idk: bool
    rating: Literal["helpful", "not_helpful"] | None


class KeyIn(BaseModel):
    name: str = Field(description="Letters, digits, '.', '_' or '-', at most 64.")
    scope: Literal["ask", "admin", "frontend"]
    groups: list[str] = Field(default_factory=list, description="The groups an ask key searches with.")


class KeyOut(BaseModel):
    name: str
    prefix: str = Field(description="The key's first 12 characters, to recognise it.")
    scope: Literal["ask", "admin", "frontend"]
    groups: list[str]
    created_at: float
    revoked_at: float | None


class KeyCreated(KeyOut):
    secret: str = Field(description="The key itself: shown this once, stored only as its SHA-256.")
