"""Sparse (lexical) vectors for hybrid retrieval: BM25 term weights; Qdrant applies the IDF (``Modifier.IDF``).

Documents get saturated term frequencies (k, b, average length); queries get weight 1 per unique term. The
tokenizer, stop words and stemmer are Qdrant's own (``qdrant_edge.Bm25``), so both adapters index the same terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class SparseVec:
    indices: list[int]
    values: list[float]


class SparseEncoder(Protocol):
    def encode_documents(self, texts: Sequence[str]) -> list[SparseVec]: ...

    def encode_query(self, text: str) -> SparseVec: ...


class Bm25Encoder:
    def __init__(self, avg_len: float = 200.0) -> None:
        self._avg_len = avg_len
        self._model: Any = None

    def _bm25(self) -> Any:
        if self._model is None:
            import qdrant_edge as qe

            self._model = qe.Bm25(qe.Bm25Config(avg_len=self._avg_len))
        return self._model

    def encode_documents(self, texts: Sequence[str]) -> list[SparseVec]:
        model = self._bm25()
        return [_vec(model.embed_document(t)) for t in texts]

    def encode_query(self, text: str) -> SparseVec:
        return _vec(self._bm25().embed_query(text))


def _vec(sparse: Any) -> SparseVec:
    return SparseVec(list(sparse.indices), list(sparse.values))
