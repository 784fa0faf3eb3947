"""The answer candidates of a passage: its sentences, and its table rows judged by their label.

The extractive answer picks among them by meaning; ingest finds each one's place in a chunk (``candidate_spans``)
so that the chunk's own forward pass can give it a vector (askdocs/sentences.py), stored under ``sentence_key``.
Pure functions, no state.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from askdocs.qa.table_rows import Row, rows_and_lines
from chunkers.base import sentences

MAX_CANDIDATE_CHARS = 600
_WORDS = re.compile(r"\S+")


def candidates(text: str) -> list[tuple[str, str]]:
    """The passage's answer candidates: (what its meaning is judged by, what the answer quotes). A table row is one
    candidate, quoted with its columns, so the answer shows the number with what it is and when."""
    out = []
    for unit in rows_and_lines(text):
        if isinstance(unit, Row):
            # Judged by its label: the amounts say nothing of what the row is about.
            out.append((unit.label[:MAX_CANDIDATE_CHARS], unit.quote()[:MAX_CANDIDATE_CHARS]))
            continue
        for sentence in sentences(unit.strip().lstrip("-* ").strip()):
            # Headings and labels ("Dental care") are not answers; short lines with figures may be.
            if len(sentence.split()) >= 4 or any(ch.isdigit() for ch in sentence):
                out.append((sentence[:MAX_CANDIDATE_CHARS],) * 2)
    return out


def sentence_key(judged: str) -> int:
    """What a candidate's stored vector is found by: a checksum of its text, white space evened out."""
    return zlib.crc32(" ".join(judged.split()).encode("utf-8"))


@dataclass(frozen=True, slots=True)
class Located:
    """A candidate found in its text: its key, its characters, what it is judged by, and whether it is a table row
    (judged by its label)."""

    key: int
    start: int
    end: int
    judged: str
    row: bool = False


def candidate_spans(text: str) -> list[Located]:
    """Each candidate of ``text`` found in it. The candidates' white space is evened out (table rows are read line
    by line), so they are looked for word by word; one that cannot be found (a row without a label) is left out."""
    words = list(_WORDS.finditer(text))
    squeezed = " ".join(m.group(0) for m in words)
    starts: list[int] = []  # offset in ``text`` of each character of ``squeezed`` that opens a word
    for m in words:
        starts.extend(range(m.start(), m.end()))
        starts.append(m.end())  # the space after the word (or the end)
    found = []
    at = 0
    for judged, quote in candidates(text):
        wanted = " ".join(judged.split())
        i = squeezed.find(wanted, at)
        if i < 0:
            i = squeezed.find(wanted)
        if i < 0 or not wanted:
            continue
        row = quote != judged  # a row: quoted with its amounts, judged by its label
        found.append(Located(sentence_key(judged), starts[i], starts[i + len(wanted) - 1] + 1, judged, row))
        at = i + len(wanted)
    return found
