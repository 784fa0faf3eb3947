"""The rows of the tables in a passage, so an extractive answer can quote the row that holds a number.

PDF text brings a table two ways: as rows whose cells are joined by " | " (a table the loader recognised), or as
a label line followed by lines of bare amounts, the next label sometimes run on after the last amount
("(25,666 ) Stock-based compensation expense"). Both become one ``Row``: the label and its amounts, with the
column headings (the years) of the table it sits in when the passage holds them. Everything else is left as text.
Pure functions, no state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_AMOUNT = r"\(?\s?[-−–]?\s?\$?\s?\d[\d,]*(?:\.\d+)?\s?%?\s?\)?\s?%?|[—–-]{1,2}"
_LEADING_AMOUNTS = re.compile(rf"^((?:(?:{_AMOUNT})(?:\s+|$))+)(.*)$")
_ONE_AMOUNT = re.compile(_AMOUNT)
_BARE_NUMBER = re.compile(r"\d{1,4}\s*")
_YEAR = re.compile(r"^(?:FY\s?)?(?:19|20)\d\d$")
MAX_LABEL_WORDS = 16  # a longer line is prose, not a row's label


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    amounts: tuple[str, ...]
    columns: tuple[str, ...] = ()  # the table's column headings (years), when the passage holds them

    def quote(self) -> str:
        """The row as an answer quotes it: each amount with its column when the columns are known."""
        if len(self.columns) == len(self.amounts):
            return f"{self.label}: " + "; ".join(f"{a} ({c})" for a, c in zip(self.amounts, self.columns, strict=True))
        return " | ".join((self.label, *self.amounts))


Unit = Row | str  # a table row, or a line of text


def rows_and_lines(text: str) -> list[Unit]:
    """The passage's lines in order, the table rows among them gathered into ``Row``s (label and amounts joined
    across lines); a label line without amounts after it stays a line of text."""
    units: list[Unit] = []
    label: str | None = None  # a short line that may be the label of the amounts on the lines after it
    amounts: list[str] = []
    columns: tuple[str, ...] = ()

    def close() -> None:
        nonlocal label, amounts, columns
        if label is not None and amounts:
            if all(_YEAR.match(a) for a in amounts):
                columns = tuple(amounts)  # a heading row: the years its columns are for
            else:
                units.append(Row(label, tuple(amounts), columns))
        elif label is not None:
            units.append(label)
        label, amounts = None, []

    for raw in text.split("\n"):
        line = " ".join(raw.split())
        if not line:
            continue
        if " | " in line:
            close()
            cells = [c.strip() for c in line.split("|")]
            if any(_ONE_AMOUNT.fullmatch(c) for c in cells[1:]):
                label, amounts = cells[0] or "(row)", [_tidy(c) for c in cells[1:] if c]
                close()
            else:
                units.append(line)
            continue
        leading = _LEADING_AMOUNTS.match(line)
        if leading and leading.group(2) and (_BARE_NUMBER.fullmatch(leading.group(1)) or leading.group(2)[0].islower()):
            leading = None  # "52 Weeks Ended", "$400 million to $475 million": a number that begins a phrase
        if leading and (label is not None or not leading.group(2)):
            amounts += [_tidy(a.group(0)) for a in _ONE_AMOUNT.finditer(leading.group(1))]
            rest = leading.group(2).strip()
            if rest:
                close()
                label = rest if _label_like(rest) else None
                if label is None:
                    units.append(rest)
            continue
        close()
        if _label_like(line):
            label = line
        else:
            units.append(line)
    close()
    return units


def _label_like(line: str) -> bool:
    return len(line.split()) <= MAX_LABEL_WORDS and any(c.isalpha() for c in line)


def _tidy(amount: str) -> str:
    """ "(25,666 )" -> "(25,666)", "$ 1,242,408" -> "$1,242,408"."""
    return re.sub(r"(?<=[($])\s+|\s+(?=[)%])", "", amount.strip())
