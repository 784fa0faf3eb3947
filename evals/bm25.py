"""The lexical floor: BM25 over the same chunks, as Qdrant sparse vectors with the IDF modifier."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import qdrant_edge as qe

from askdocs.models import Document
from chunkers import Chunker


class Bm25Index:
    """A throwaway embedded shard holding one sparse BM25 vector per chunk, with the chunk's span."""

    def __init__(self, path: Path) -> None:
        config = qe.EdgeConfig(sparse_vectors={"bm25": qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)})
        self._shard = qe.EdgeShard.create(str(path), config)
        self._model = qe.Bm25()
        self._found: list[tuple[str, tuple[int, int]]] = []  # point id -> (doc_id, answer span)
        self.chunks = 0

    def add(self, documents: Sequence[Document], chunker: Chunker) -> None:
        points = []
        for document in documents:
            for piece in chunker.split(document.sections, document.title):
                start = piece.context_start if piece.context_start is not None else piece.start
                end = piece.context_end if piece.context_end is not None else piece.end
                self._found.append((document.doc_id, (start, end)))
                vector: dict[str, qe.NamedVector] = {"bm25": self._model.embed_document(piece.embed_text or piece.text)}
                points.append(qe.Point(self.chunks, vector, {"doc_id": document.doc_id}))  # for per-article scope
                self.chunks += 1
        for i in range(0, len(points), 512):
            self._shard.update(qe.UpdateOperation.upsert_points(points[i : i + 512]))

    def search(self, question: str, limit: int, doc_id: str | None = None) -> list[tuple[str, tuple[int, int]]]:
        """The best chunks' (doc_id, answer span), best first."""
        query = qe.Query.Nearest(self._model.embed_query(question), using="bm25")
        flt = qe.Filter(must=[qe.FieldCondition("doc_id", match=qe.MatchValue(doc_id))]) if doc_id else None
        points = self._shard.query(qe.QueryRequest(limit=limit, query=query, filter=flt, with_payload=False))
        return [self._found[int(p.id)] for p in points]

    def close(self) -> None:
        self._shard.close()
