"""Citations you can trust: the ``[n]`` markers of an answer checked against the passages it was given.

A marker that names no passage is dropped; the sources are reordered cited first (in order of first citation),
then the uncited ones, and the markers renumbered so each still points at the passage the model meant.
Pure functions, no state.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from askdocs.models import Source

# "[2]", and the lists models also write: "[1, 3]", "[1,2]".
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_HSPACE = " \t"


@dataclass(frozen=True, slots=True)
class Citations:
    text: str  # the answer with valid markers renumbered, invalid ones removed, white space tidied
    order: tuple[int, ...]  # the passages' old numbers in their new order: cited first, then the rest
    cited: int  # how many of ``order`` (the first ones) the answer cites


def resolve_citations(text: str, passages: int) -> Citations:
    """Check the markers of ``text`` against ``passages`` numbered 1..passages, and renumber them."""
    parts = _MARKER.split(text)
    cited: list[int] = []
    for numbers in parts[1::2]:
        cited.extend(n for n in _numbers(numbers) if 1 <= n <= passages and n not in cited)
    order = (*cited, *(n for n in range(1, passages + 1) if n not in cited))
    new_number = {old: new for new, old in enumerate(order, start=1)}

    out = parts[0]
    for numbers, after in zip(parts[1::2], parts[2::2], strict=True):
        kept = [new_number[n] for n in dict.fromkeys(_numbers(numbers)) if n in new_number]
        if kept:
            out += "".join(f"[{n}]" for n in kept)
        else:
            out, after = _close_gap(out, after)
        out += after
    return Citations(out.strip(), order, len(cited))


def cite_sources(sources: Sequence[Source], citations: Citations) -> list[Source]:
    """``sources`` (numbered as the model saw them) in the citations' order, renumbered, with ``cited`` set."""
    return [
        replace(sources[old - 1], n=new, cited=new <= citations.cited)
        for new, old in enumerate(citations.order, start=1)
    ]


def is_uncited(citations: Citations, passages: int) -> bool:
    """The answer had passages to cite and cites none of them."""
    return passages > 0 and citations.cited == 0


def _numbers(group: str) -> list[int]:
    return [int(n) for n in group.split(",")]


def _close_gap(before: str, after: str) -> tuple[str, str]:
    """The text either side of a removed marker, without the gap it leaves ("days [9]." -> "days.")."""
    trimmed = before.rstrip(_HSPACE)
    if not trimmed or trimmed.endswith("\n"):
        return trimmed, after.lstrip(_HSPACE)  # the marker began a line
    if trimmed != before and (not after or after[0].isalnum()):
        return trimmed + " ", after  # "a [9]b", "a [9][2]": keep them apart
    return trimmed, after
