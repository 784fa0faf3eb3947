"""From a loaded Document to the Chunks of one version: the strategy chosen by name, the pieces dressed for citing."""

from __future__ import annotations

from datetime import UTC, datetime

from askdocs.embedding import Embedder
from askdocs.errors import InputError
from askdocs.index.protocol import point_id_for
from askdocs.models import Chunk, Document, Provenance
from chunkers import Chunker, UnknownChunkerError, make_chunker


def build_chunker(name: str, embedder: Embedder, size: int, overlap: int) -> Chunker:
    """The named strategy, counting tokens with the embedding model's tokenizer."""
    try:
        return make_chunker(name, embedder.count_tokens, embed=embedder.embed_documents, size=size, overlap=overlap)
    except UnknownChunkerError as exc:
        raise InputError(str(exc)) from exc
    except ValueError as exc:
        raise InputError(f"chunker {name!r}: {exc}") from exc


def make_chunks(chunker: Chunker, document: Document, version: str, provenance: Provenance) -> list[Chunk]:
    """The document split by ``chunker``, as the chunks of this version, each with what is needed to cite it."""
    pieces = chunker.split(document.sections, document.title)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    chunks = []
    for i, piece in enumerate(pieces):
        section = document.sections[piece.section]
        chunks.append(
            Chunk(
                point_id=point_id_for(document.doc_id, f"{version[:16]}:{i}"),
                doc_id=document.doc_id,
                source=document.source,
                title=document.title,
                text=piece.text,
                embed_text=piece.embed_text or piece.text,
                chunk_index=i,
                chunk_count=len(pieces),
                chunker=chunker.name,
                version=version,
                ingested_at=now,
                heading_path=section.heading_path or ((piece.lead,) if piece.lead else ()),
                page=section.page,
                start=piece.start,
                end=piece.end,
                context=piece.context,
                context_start=piece.context_start,
                context_end=piece.context_end,
                origin=provenance.origin,
                acl=provenance.acl,
            )
        )
    return chunks
