"""A title from a document's cover page, where the cover says what the document is.

SEC filings (10-K, 10-Q, 20-F, 8-K: the annual and quarterly reports of listed companies) carry a cover page that
names the registrant, the form and the period; their PDF metadata titles are often an accession number
("0000320193-23-000006") and their pages rarely repeat the company's name. A title such as "Apple Inc. Form 10-Q,
quarterly period ended December 31, 2022" goes into every chunk's embedded text (the structural chunker's heading
line), so "What was Apple's revenue last quarter?" can find a table that never says "Apple".
"""

from __future__ import annotations

import re

_FORM = re.compile(r"\bFORM\s+(10-K|10-Q|20-F|40-F|8-K)\b", re.IGNORECASE)
_REGISTRANT = re.compile(
    r"Commission\s+File\s+(?:Number|No\.?)\s*:?\s*[\d-]{3,}[\s_]*(?P<name>[^\n(_]{2,80}?)\s*(?:\n|\(|_|$)",
    re.IGNORECASE,
)
_EXACT_NAME = re.compile(r"(?P<name>[^\n(_]{2,80}?)[\s_]*\(\s*Exact name of (?:the )?registrant", re.IGNORECASE)
_PERIOD = re.compile(
    r"For the (?P<kind>quarterly period|fiscal year|period) ended\s+(?P<date>[A-Z][a-z]+\.? \d{1,2}, \d{4})",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")


def cover_title(text: str) -> str | None:
    """ "<registrant> Form <form>, <period>" from the start of an SEC filing; None for any other text."""
    head = text[:4000]
    form = _FORM.search(head)
    name = _registrant(head)
    if not form or not name:
        return None
    title = f"{name} Form {form.group(1).upper()}"
    if period := _PERIOD.search(head):
        title += f", {period.group('kind').lower()} ended {period.group('date')}"
    return title


def _registrant(head: str) -> str | None:
    for pattern in (_EXACT_NAME, _REGISTRANT):
        if found := pattern.search(head):
            name = _SPACE.sub(" ", found.group("name")).strip(" ,:;")
            # The text before "(Exact name" may run on from the file number: keep what follows it.
            name = re.split(r"\b(?:Number|No\.?)\s*:?\s*[\d-]{3,}\s*", name)[-1].strip()
            if any(c.isalpha() for c in name) and len(name.split()) <= 8:
                return name
    return None
