"""``recursive``: paragraphs, then sentences, then words, packed up to a token budget with overlap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chunkers.base import Piece, SectionLike, TokenCounter, check_size, paragraphs, sentences


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str
    tokens: int
    joiner: str  # what goes between this unit and the one before it


class RecursiveChunker:
    name = "recursive"

    def __init__(self, count_tokens: TokenCounter, size: int = 200, overlap: int = 40) -> None:
        check_size(size, overlap)
        self._count = count_tokens
        self.size = size
        self.overlap = overlap

    def split(self, sections: Sequence[SectionLike], title: str = "") -> list[Piece]:
        pieces: list[Piece] = []
        for index, section in enumerate(sections):
            pieces.extend(Piece(text, index) for text in self.split_text(section.text))
        return pieces

    def split_text(self, text: str) -> list[str]:
        units = self._units(text)
        return pack(units, self.size, self.overlap)

    def _units(self, text: str) -> list[_Unit]:
        units: list[_Unit] = []
        paras = paragraphs(text)
        for para, tokens in zip(paras, self._count(paras), strict=True):
            if tokens <= self.size:
                units.append(_Unit(para, tokens, "\n\n"))
                continue
            sents = sentences(para)
            for i, (sent, sent_tokens) in enumerate(zip(sents, self._count(sents), strict=True)):
                joiner = "\n\n" if i == 0 else " "
                if sent_tokens <= self.size:
                    units.append(_Unit(sent, sent_tokens, joiner))
                else:
                    units.extend(self._words(sent, joiner))
        return units

    def _words(self, sentence: str, joiner: str) -> list[_Unit]:
        """Split an over-long sentence into word runs that each fit the budget."""
        words = sentence.split()
        counts = self._count(words)
        runs: list[_Unit] = []
        current: list[str] = []
        tokens = 0
        for word, n in zip(words, counts, strict=True):
            if current and tokens + n > self.size:
                runs.append(_Unit(" ".join(current), tokens, joiner if not runs else " "))
                current, tokens = [], 0
            current.append(word)
            tokens += n
        if current:
            runs.append(_Unit(" ".join(current), tokens, joiner if not runs else " "))
        return runs


def pack(units: Sequence[_Unit], size: int, overlap: int) -> list[str]:
    """Greedy packing; each new chunk starts with the previous chunk's tail units up to ``overlap`` tokens."""
    chunks: list[list[_Unit]] = []
    current: list[_Unit] = []
    tokens = 0
    for unit in units:
        if current and tokens + unit.tokens > size:
            chunks.append(current)
            current, tokens = _tail(current, overlap, size - unit.tokens)
        current.append(unit)
        tokens += unit.tokens
    if current:
        chunks.append(current)
    return [_join(chunk) for chunk in chunks]


def _tail(units: list[_Unit], overlap: int, room: int) -> tuple[list[_Unit], int]:
    tail: list[_Unit] = []
    tokens = 0
    for unit in reversed(units):
        if tokens + unit.tokens > min(overlap, room):
            break
        tail.insert(0, unit)
        tokens += unit.tokens
    return tail, tokens


def _join(units: Sequence[_Unit]) -> str:
    if not units:
        return ""
    parts = [units[0].text]
    parts.extend(u.joiner + u.text for u in units[1:])
    return "".join(parts)
