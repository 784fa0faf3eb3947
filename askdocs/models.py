"""Shared vocabulary: the few dataclasses every part passes around."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

AnswerMode = Literal["extractive", "prompted", "finetuned"]
LLMMode = Literal["prompted", "finetuned"]
I_DO_NOT_KNOW = "I do not know."
RetrievalMode = Literal["dense", "sparse", "hybrid"]
RETRIEVAL_MODES: tuple[RetrievalMode, ...] = ("dense", "sparse", "hybrid")
# How hybrid search fuses its two lists: "dbsf" (each list's scores normalised by mean +- 3 sd, then summed) or
# "rrf" (reciprocal rank fusion, k=60). docs/EVAL.md compares them.
Fusion = Literal["dbsf", "rrf"]
FUSIONS: tuple[Fusion, ...] = ("dbsf", "rrf")


@dataclass(frozen=True, slots=True)
class Section:
    """A structural unit of a loaded document: an HTML/Markdown section or a PDF page."""

    text: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """One source document as loaded, before chunking."""

    doc_id: str
    source: str
    title: str
    sections: tuple[Section, ...]
    content_hash: str  # hash of the loaded text: unchanged text, unchanged hash
    kind: str = "text"  # html | pdf | markdown | text

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document as stored in the index, with everything needed to cite it."""

    point_id: str
    doc_id: str
    source: str
    title: str
    text: str
    embed_text: str
    chunk_index: int
    chunk_count: int
    chunker: str
    version: str  # the document version: hash of its text, the chunking settings and its provenance
    ingested_at: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    start: int = 0  # character offsets of ``text`` in the document text
    end: int = 0
    context: str | None = None  # a larger enclosing text to answer from (small-to-big)
    context_start: int | None = None
    context_end: int | None = None
    origin: str = ""  # the sources.yaml source that brought the document in ("" for direct ingests)
    acl: tuple[str, ...] = ()  # groups allowed to see it (empty: everyone)
    joined: tuple[str, ...] = ()  # the point ids of the chunks whose texts a joined ``context`` holds

    def with_context(self, context: str, joined: tuple[str, ...] = ()) -> Chunk:
        """The same chunk answering from ``context`` (neighbours or the chunks of its page joined around it, their
        point ids ``joined``)."""
        return replace(self, context=context, joined=joined)

    @property
    def answer_text(self) -> str:
        """The text to answer from: the enclosing context when the chunker stored one."""
        return self.context or self.text

    @property
    def span(self) -> tuple[int, int]:
        """Character offsets of the answer text in the document text."""
        if self.context_start is not None and self.context_end is not None:
            return self.context_start, self.context_end
        return self.start, self.end


@dataclass(frozen=True, slots=True)
class Hit:
    """A search result: the stored chunk and its score."""

    chunk: Chunk
    score: float  # the ranking score: cosine (dense), BM25 (sparse) or the fused score (hybrid: DBSF or RRF)
    dense_score: float | None = None  # cosine to the question, whatever ranked the hit
    vector: Any = None  # the stored dense vector (numpy), when the search returned it (MMR needs it)

    @property
    def point_id(self) -> str:
        return self.chunk.point_id

    @property
    def relevance(self) -> float:
        """The cosine similarity, the one score comparable across modes (thresholds apply to it)."""
        return self.score if self.dense_score is None else self.dense_score

    @property
    def text(self) -> str:
        return self.chunk.text

    @property
    def answer_text(self) -> str:
        return self.chunk.answer_text

    @property
    def doc_id(self) -> str:
        return self.chunk.doc_id

    def with_context(self, context: str, joined: tuple[str, ...] = ()) -> Hit:
        return replace(self, chunk=self.chunk.with_context(context, joined))


@dataclass(frozen=True, slots=True)
class SentenceVectors:
    """The stored vectors of a chunk's answer candidates (askdocs/qa/candidates.py), each found by its key."""

    keys: tuple[int, ...]
    vectors: Any  # numpy, one unit row per key


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    doc_id: str
    source: str
    title: str
    chunks: int
    ingested_at: str
    version: str
    chunker: str
    origin: str = ""


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a document came from: its sources.yaml source and who may see it. Part of its version."""

    origin: str = ""
    acl: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    """A cited source as the caller sees it."""

    n: int
    title: str
    url_or_path: str
    page: int | None
    heading: str
    score: float
    snippet: str
    cited: bool = False  # the answer cites it; cited sources come first


@dataclass(slots=True)
class Timings:
    embed: float = 0.0
    search: float = 0.0
    generate: float = 0.0
    total: float = 0.0


@dataclass(slots=True)
class Answer:
    text: str
    sources: list[Source]
    mode: AnswerMode
    timings_ms: Timings = field(default_factory=Timings)

    @property
    def idk(self) -> bool:
        return says_idk(self.text)


def says_idk(text: str) -> bool:
    """The one test for an "I do not know" answer: case, surrounding space and the full stop do not matter."""
    return text.strip().rstrip(".").rstrip().lower() == I_DO_NOT_KNOW.rstrip(".").lower()


class DocumentStatus(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DocumentResult:
    """What ingesting one document did: an ingest run reports it, a job keeps it, the API shows it."""

    source: str
    status: DocumentStatus
    chunks: int = 0
    doc_id: str = ""
    title: str = ""
    error: str = ""
