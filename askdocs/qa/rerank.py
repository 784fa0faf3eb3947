"""Re-ranking the search's candidates before context selection.

``PeriodBoost``: a question that names a year ("What is the FY2018 capital expenditure for 3M?") is about the
document of that period; a company's reports of other years hold the same headings and tables, and the search
cannot tell them apart. The year is read from the question (the latest it names: "FY2015 - FY2017" means the 2017
report) and from each candidate's document: its title ("3M COMPANY Form 10-K, fiscal year ended December 31,
2018") and file name ("3M_2018_10K.pdf"), both stored with every chunk. A candidate whose document names that year
gains ``weight`` on its score min-max normalised over the candidates (so the same weight means the same in dense,
BM25 and hybrid search); the others keep their order. A question without a year, or with no candidate of its year,
is left as the search ranked it.

``SamePage``: chunks of one page of a document are one source. A statement page is cut into several chunks, all
naming the statement, and they crowd the candidates: ten hits may cover four pages. The best of them stands for
the page, answering from all of them joined in reading order; the page's other chunks leave the list, so the
next pages move up. Chunks without a page (web pages, text) are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit

from askdocs.models import Hit
from askdocs.qa.select import join_in_order

# "2018", "FY2018", "FY 2018", "3M_2018_10K", "2021Q1"; not "FY18" (two digits are too often something else), nor
# a part of a longer number or an amount ("12018", "$2018", "2018.5").
_YEAR = re.compile(r"(?<![\d$.,])(?:FY\s?)?((?:19|20)\d\d)(?!\d|[.,]\d)", re.IGNORECASE)


class Reranker(Protocol):
    def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]: ...


def named_years(text: str) -> set[int]:
    """The years a text names, as numbers."""
    return {int(y) for y in _YEAR.findall(text)}


def document_label(hit: Hit) -> str:
    """What a chunk says about its document beyond its text: the title and the file name of its source."""
    path = urlsplit(hit.chunk.source).path if "://" in hit.chunk.source else hit.chunk.source
    return f"{hit.chunk.title} {PurePosixPath(path).name}"


class PeriodBoost:
    def __init__(self, weight: float) -> None:
        if not 0 <= weight <= 10:
            raise ValueError(f"the period boost's weight must be within [0, 10], got {weight}")
        self.weight = weight

    def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        years = named_years(question)
        if not years or not hits or self.weight == 0:
            return list(hits)
        year = max(years)
        matches = [year in named_years(document_label(h)) for h in hits]
        if not any(matches):
            return list(hits)
        low = min(h.score for h in hits)
        span = (max(h.score for h in hits) - low) or 1.0
        scored = [
            Hit(h.chunk, (h.score - low) / span + (self.weight if match else 0.0), h.dense_score, h.vector)
            for h, match in zip(hits, matches, strict=True)
        ]
        return sorted(scored, key=lambda h: -h.score)


class SamePage:
    def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        pages: dict[tuple[str, int], list[Hit]] = {}
        for hit in hits:
            if hit.chunk.page is not None:
                pages.setdefault((hit.doc_id, hit.chunk.page), []).append(hit)
        merged: list[Hit] = []
        for hit in hits:
            group = pages.get((hit.doc_id, hit.chunk.page), []) if hit.chunk.page is not None else [hit]
            if not group or group[0] is not hit:
                continue
            joined = tuple(h.point_id for h in group)
            merged.append(hit if len(group) == 1 else hit.with_context(page_text(group), joined))
        return merged


def page_text(group: Sequence[Hit]) -> str:
    """The passages of one page in reading order: overlapping chunks joined without repeating their overlap; the
    larger contexts of small-to-big chunks, each once."""
    ordered = sorted(group, key=lambda h: h.chunk.span)
    if all(h.chunk.context is None for h in ordered):
        return join_in_order(ordered)
    return "\n\n".join(dict.fromkeys(h.answer_text for h in ordered))


class RerankChain:
    """Re-rankers applied in order."""

    def __init__(self, steps: Sequence[Reranker]) -> None:
        self.steps = list(steps)

    def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        ranked = list(hits)
        for step in self.steps:
            ranked = step.rerank(question, ranked)
        return ranked
