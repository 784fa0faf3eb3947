"""The limits of one document's parse. Its time grows with the work, so a big filing on a busy machine is not lost.

A fixed limit per document either stops a 300-page annual report on a busy machine or lets a runaway parse of a
small file run for many minutes. The budget is a base every document gets, plus time for each MB of the file, each
page the loader reads and each page it OCRs (pages as the loader reports them: ``ingest/loaders/work.py``).
The defaults and how they were chosen: docs/INGEST.md, "Parse time".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from askdocs.settings import IngestSettings
from ingest.loaders.work import Work


@dataclass(frozen=True, slots=True)
class ParseBudget:
    """How long one document's parse may take: ``base_s``, plus ``per_mb_s`` for each MB of the file, plus
    ``per_page_s`` for each page the loader reads and ``per_ocr_page_s`` for each page it OCRs."""

    base_s: float = 60.0
    per_page_s: float = 1.0
    per_ocr_page_s: float = 20.0
    per_mb_s: float = 5.0

    def __post_init__(self) -> None:
        if self.base_s <= 0:
            raise ValueError(f"parse timeout must be more than 0 s, got {self.base_s}")
        for name in ("per_page_s", "per_ocr_page_s", "per_mb_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"parse time {name} must be 0 or more, got {getattr(self, name)}")

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> ParseBudget:
        return cls(
            settings.parse_timeout_s,
            settings.parse_timeout_per_page_s,
            settings.parse_timeout_per_ocr_page_s,
            settings.parse_timeout_per_mb_s,
        )

    def seconds(self, size: int, done: Work = Work()) -> float:
        """The time for a file of ``size`` bytes holding ``done`` work."""
        return sum(rate * amount for rate, amount, _ in self._terms(size, done))

    def explain(self, size: int, done: Work) -> str:
        """How the time adds up, as " (60 s + 1 s x 160 pages + 5 s x 1.2 MB)", terms that add nothing left out;
        "" when the base is all."""
        terms = [
            f"{seconds_text(rate)} x {round(amount, 2):g} {unit}"
            for rate, amount, unit in self._terms(size, done)[1:]
            if round(rate * amount, 1) > 0
        ]
        return f" ({' + '.join([seconds_text(self.base_s), *terms])})" if terms else ""

    def _terms(self, size: int, done: Work) -> list[tuple[float, float, str]]:
        return [
            (self.base_s, 1, ""),
            (self.per_page_s, done.pages, "pages"),
            (self.per_ocr_page_s, done.ocr_pages, "pages to OCR"),
            (self.per_mb_s, size / 2**20, "MB"),
        ]


def seconds_text(seconds: float) -> str:
    """0.01 s, 0.3 s, 92.4 s, 276 s, 1234 s."""
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"


@dataclass(frozen=True, slots=True)
class ParseLimits:
    budget: ParseBudget = field(default_factory=ParseBudget)
    memory_mb: int = 2048
    ahead: int = 4  # documents handed to the child before their turn (reading overlaps embedding)
    # A parse that ran out of time is tried once more with this many times its budget. The budget already allows
    # for a busy machine (docs/INGEST.md, "Parse time"); a parse over it met a machine several times busier still,
    # or a document that never ends: three times covers the first and bounds what the second costs (4 budgets).
    retry_factor: float = 3.0

    def __post_init__(self) -> None:
        if self.memory_mb < 256:
            raise ValueError(f"parse memory limit must be at least 256 MB, got {self.memory_mb}")
        if self.ahead < 1:
            raise ValueError(f"ahead must be at least 1 document, got {self.ahead}")
        if self.retry_factor < 1:
            raise ValueError(f"a second try gets at least the first one's time, got a factor of {self.retry_factor}")
