"""What a point holds: a chunk written as a payload, read back as a ``Chunk``. The one place payload keys are named.

Both adapters write with :func:`payload_of` and read with :func:`chunk_of` / :func:`fetched_hits`, so nothing outside
``askdocs.index`` sees a payload. The stored key of ``Chunk.version`` is ``content_hash``, its name in indexes
built before the field was renamed: those indexes keep working.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from askdocs.models import Chunk, DocumentInfo, Hit, SentenceVectors

DENSE = "dense"
SPARSE = "sparse"
SENTENCES = "sentences"  # a multivector: one row per answer candidate of the chunk (askdocs/sentences.py)
SENTENCE_KEYS = "sentence_keys"  # the candidates' keys, in the order of the rows
ACL = "acl"  # the groups allowed to see a chunk; empty = everyone
VERSION = "content_hash"
CHUNK_INDEX = "chunk_index"
EMBED_HEAD = "embed_head"  # the text embedded before the chunk's text, when there was any
EMBED_TEXT = "embed_text"  # the embedded text, when it is not the text with a head
POINT_ID = "point_id"  # the chunk's id; the embedded engine keys its points by a number made from it
# Fields with a payload index: callers filter on the first four; the others serve version checks and access.
KEYWORD_INDEXES = ("doc_id", "source", VERSION, "chunker", "origin", ACL)
INTEGER_INDEXES = (CHUNK_INDEX,)
DOC_FIELDS = ["doc_id", "source", "title", "chunk_count", "ingested_at", VERSION, "chunker", "origin"]


def payload_of(chunk: Chunk) -> dict[str, Any]:
    return {
        POINT_ID: chunk.point_id,
        "text": chunk.text,
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "title": chunk.title,
        "heading_path": list(chunk.heading_path),
        "page": chunk.page,
        CHUNK_INDEX: chunk.chunk_index,
        "chunk_count": chunk.chunk_count,
        "chunker": chunk.chunker,
        VERSION: chunk.version,
        "ingested_at": chunk.ingested_at,
        "start": chunk.start,
        "end": chunk.end,
        "context": chunk.context,
        "context_start": chunk.context_start,
        "context_end": chunk.context_end,
        "origin": chunk.origin,
        ACL: list(chunk.acl),
    } | _embedded_head(chunk)


def _embedded_head(chunk: Chunk) -> dict[str, str]:
    """What was embedded beyond the text (the heading line the structural chunker puts first), so the chunk can
    be embedded again the same way (``askdocs index reembed``) without re-parsing its document."""
    if chunk.embed_text == chunk.text:
        return {}
    if chunk.embed_text.endswith(chunk.text):
        return {EMBED_HEAD: chunk.embed_text[: len(chunk.embed_text) - len(chunk.text)]}
    return {EMBED_TEXT: chunk.embed_text}


def sentence_parts(sentences: SentenceVectors | None) -> tuple[list[list[float]] | None, dict[str, Any]]:
    """A chunk's candidate vectors as its ``SENTENCES`` vector and the payload naming them (nothing when none)."""
    if sentences is None or not sentences.keys:
        return None, {}
    return np.asarray(sentences.vectors, dtype=np.float32).tolist(), {SENTENCE_KEYS: list(sentences.keys)}


def sentences_of(payload: Mapping[str, Any] | None, stored: Any) -> SentenceVectors | None:
    """A point's candidate vectors, when it has them (read back with its ``SENTENCE_KEYS``)."""
    keys = (payload or {}).get(SENTENCE_KEYS) or []
    rows = stored.get(SENTENCES) if isinstance(stored, dict) else None
    if not keys or rows is None or len(rows) != len(keys):
        return None
    return SentenceVectors(tuple(int(k) for k in keys), np.asarray(rows, dtype=np.float32))


def point_id_of(key: Any, payload: Mapping[str, Any] | None) -> str:
    """A stored point's chunk id: its payload's, or (points written before the payload held it) its key."""
    return str((payload or {}).get(POINT_ID) or key)


def chunk_of(key: Any, payload: Mapping[str, Any] | None) -> Chunk:
    """The stored chunk. Points written by older versions may lack later fields: they get the defaults."""
    p = payload or {}
    text = str(p.get("text") or "")
    return Chunk(
        point_id=point_id_of(key, p),
        doc_id=str(p.get("doc_id") or ""),
        source=str(p.get("source") or ""),
        title=str(p.get("title") or ""),
        text=text,
        embed_text=str(p.get(EMBED_TEXT) or (str(p.get(EMBED_HEAD) or "") + text)),
        chunk_index=int(p.get(CHUNK_INDEX) or 0),
        chunk_count=int(p.get("chunk_count") or 0),
        chunker=str(p.get("chunker") or ""),
        version=str(p.get(VERSION) or ""),
        ingested_at=str(p.get("ingested_at") or ""),
        heading_path=tuple(str(h) for h in p.get("heading_path") or ()),
        page=_int_or_none(p.get("page")),
        start=int(p.get("start") or 0),
        end=int(p.get("end") or 0),
        context=p.get("context") or None,
        context_start=_int_or_none(p.get("context_start")),
        context_end=_int_or_none(p.get("context_end")),
        origin=str(p.get("origin") or ""),
        acl=tuple(str(g) for g in p.get(ACL) or ()),
    )


def fetched_hits(
    query: np.ndarray,
    scored: Sequence[tuple[Any, float]],
    dense: Sequence[tuple[Any, float]],
    vectors: bool,
    retrieve: Callable[[list[Any], bool], list[Any]],
) -> list[Hit]:
    """A search's scored points as hits, best first; a point gone between the search and the fetch is left out.
    Payloads are fetched for all (``retrieve(ids, with_vector)``: records with ``id``, ``payload``, ``vector``);
    dense vectors for all when the caller wants ``vectors``, else only for the points the dense search did not score
    (``dense``: its list), for their cosine to the query: the others' cosines are their dense scores (the engine
    scores normalised vectors by their dot product). A hundred 384-number vectors made into Python lists cost more
    than the rest of the fetch."""
    cosines = {} if vectors else dict(dense)
    known = [key for key, _ in scored if key in cosines]
    unknown = [key for key, _ in scored if key not in cosines]
    records = (retrieve(known, False) if known else []) + (retrieve(unknown, True) if unknown else [])
    found = {r.id: r for r in records}
    hits = []
    for key, score in scored:
        record = found.get(key)
        if record is None:
            continue
        chunk = chunk_of(key, record.payload)
        if key in cosines:
            hits.append(Hit(chunk, float(score), float(cosines[key])))
        else:
            vector = np.asarray(record.vector[DENSE], dtype=np.float32)
            hits.append(Hit(chunk, float(score), float(np.dot(query, vector)), vector))
    return hits


def document_info(payload: Mapping[str, Any]) -> DocumentInfo:
    return DocumentInfo(
        doc_id=str(payload.get("doc_id", "")),
        source=str(payload.get("source", "")),
        title=str(payload.get("title", "")),
        chunks=int(payload.get("chunk_count") or 0),
        ingested_at=str(payload.get("ingested_at", "")),
        version=str(payload.get(VERSION, "")),
        chunker=str(payload.get("chunker", "")),
        origin=str(payload.get("origin") or ""),
    )


def expected_chunks(payload: Mapping[str, Any] | None) -> int:
    """The chunk count a version's points record (for the completeness check)."""
    return int((payload or {}).get("chunk_count") or 0)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
