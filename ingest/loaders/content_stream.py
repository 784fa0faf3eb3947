"""pypdf's content-stream parsing, the same operations read faster.

Two thirds of a 10-K's parse went to ``ContentStream._parse_content_stream`` (py-spy on 3M's 2018 10-K,
docs/INGEST.md "Parse time"): pure Python reading a page's drawing operators byte by byte, a call or more per
byte. Text pages are mostly numbers, names, short strings and ``TJ`` arrays of them; here one regular expression
reads each such token in one step, and builds the very objects pypdf builds (the same constructors, on the same
bytes). Anything else is read by pypdf's own ``read_object`` where it stands (dictionaries, strings with escapes,
names with ``#``), and a stream holding what this reader does not follow at all (an inline image, a comment, an
``R`` after two numbers, a token past pypdf's length limits, more tokens than its budget, any error) is parsed by
pypdf's own parser from the start, so its errors and warnings are pypdf's. ``tests/ingest/test_content_stream.py``
checks the operations are equal on every page of real filings.

``parsed_fast()`` puts this parser in place of pypdf's for the time of a block (the PDF loader's parse).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from typing import Any

from pypdf._configuration import get_configuration
from pypdf.generic import ArrayObject, ContentStream, FloatObject, NameObject, NumberObject, read_object
from pypdf.generic._utils import StreamParsingBudget, create_string_object

_DELIMITED = rb"[^\s()<>\[\]{}/%]"  # what pypdf reads up to NameObject.delimiter_pattern
# A name of printable ASCII without "#": pypdf's unnumbering and decoding leave it as it is.
_NAME_CHAR = b"[" + re.escape(bytes(c for c in range(0x21, 0x7F) if chr(c) not in "#()<>[]{}/%")) + b"]"
_TOKEN = re.compile(
    rb"[\x00\t\n\f\r ]*"  # what pypdf's read_non_whitespace skips (not \v)
    rb"(?:(?P<num>[+-.0-9]{1,19})(?![+-.0-9])(?=.)"  # NumberObject.NumberPattern's run, within its 20-byte peek
    rb"|(?P<name>/" + _NAME_CHAR + rb"{0,1000})(?!" + _DELIMITED + rb")"
    rb"|\((?P<str>[^()\\]*)\)"
    rb"|<(?P<hex>[0-9A-Fa-f\x00\t\n\f\r ]*)>"
    rb"|(?P<op>[A-Za-z'\"]" + _DELIMITED + rb"{0,100})(?!" + _DELIMITED + rb")"
    rb"|(?P<array>\[)"
    rb"|(?P<close>\])"
    rb"|(?P<other>.)"
    rb"|$)",
    re.DOTALL,
)
_ELEMENT_SPACE = re.compile(rb"[\x00\t\n\v\f\r ]*")  # inside an array pypdf also skips \v (bytes.isspace)
_ALONE = re.compile(rb"\d\s+R[^a-zA-Z]|(?<![^\s()<>\[\]{}/%])BI(?![^\s()<>\[\]{}/%])")
_LINE_END = re.compile(rb"[\r\n]")
_HEX_SPACE = re.compile(rb"[\x00\t\n\f\r ]")


class _Unfollowed(Exception):
    """The stream holds something only pypdf's own parser reads the way pypdf does."""


_PYPDF_PARSE = ContentStream._parse_content_stream


def _parse(self: ContentStream, stream: Any) -> None:  # the BytesIO that ContentStream.operations passes
    try:
        operations = _operations(stream.getvalue(), self.forced_encoding)
    except Exception:  # _Unfollowed, or pypdf's own error: pypdf parses it and says what it says
        _PYPDF_PARSE(self, stream)
        return
    self._operations.extend(operations)


@contextmanager
def parsed_fast() -> Iterator[None]:
    # Put back as pypdf has it, whatever happened meanwhile: two threads loading PDFs at once leave it right (the
    # later one's pages after the first one's end are read by pypdf's own parser, slower, the same).
    ContentStream._parse_content_stream = _parse  # type: ignore[method-assign]
    try:
        yield
    finally:
        ContentStream._parse_content_stream = _PYPDF_PARSE  # type: ignore[method-assign]


def _operations(data: bytes, encoding: Any) -> list[tuple[Any, bytes]]:
    """The stream's (operands, operator) pairs, as pypdf's ContentStream reads them."""
    if _ALONE.search(data):
        raise _Unfollowed
    reader = _Reader(data, encoding)
    operations: list[tuple[Any, bytes]] = []
    operands: list[Any] = []
    budget = reader.budget
    while True:
        found = reader.next_token(top=True)
        if found is _EOF:
            return operations
        budget.remaining_budget -= 1
        if budget.remaining_budget < 0:
            raise _Unfollowed  # pypdf raises its LimitReachedError
        if type(found) is bytes:  # an operator (operands are pypdf objects, never plain bytes)
            operations.append((operands, found))
            operands = []
        else:
            operands.append(found)


_EOF = object()
_END = object()
_NUM, _NAME, _STR, _HEX, _OP, _ARRAY, _CLOSE, _OTHER = range(1, 9)  # _TOKEN's groups, in order


def _number(text: bytes) -> Any:
    """NumberObject or FloatObject of ``text``, as read_object builds them (their own constructors for a text
    that is not a number: they warn and give 0)."""
    try:
        return float.__new__(FloatObject, text) if b"." in text else int.__new__(NumberObject, int(text))
    except ValueError:
        return FloatObject(text) if b"." in text else NumberObject(text)


class _Reader:
    def __init__(self, data: bytes, encoding: Any) -> None:
        self.data, self.encoding, self.pos = data, encoding, 0
        self.budget = StreamParsingBudget(remaining_budget=get_configuration().stream_parsing_work_maximum_count)
        self._stream = BytesIO(data)

    def next_token(self, top: bool) -> Any:
        """The next object; at the top level an operator as bytes, in an array _END for its closing bracket;
        _EOF at the end of the data."""
        match = _TOKEN.match(self.data, self.pos)
        assert match is not None  # the last two alternatives match anything
        group = match.lastindex
        self.pos = match.end()
        if group == _NUM:
            return _number(match[_NUM])
        if group == _OP and top:
            return match[_OP]
        if group == _NAME:
            return NameObject(match[_NAME].decode("ascii"))
        if group == _STR:
            return create_string_object(match[_STR], self.encoding)
        if group == _HEX:
            digits = _HEX_SPACE.sub(b"", match[_HEX])
            digits += b"0"[: len(digits) % 2]  # pypdf pads an odd last digit with 0
            return create_string_object(bytes.fromhex(digits.decode()), self.encoding)
        if group == _ARRAY:
            return self._array(match.start(_ARRAY))
        if group == _CLOSE and not top:
            return _END
        if group is None:  # the end of the data
            return _EOF
        if match[_OTHER] == b"%" and top:  # a comment: pypdf skips it to its line's end, that included
            end = _LINE_END.search(self.data, self.pos)
            self.pos = end.end() if end else len(self.data)
            return self.next_token(top)
        return self._pypdf(match.start(group))

    def _array(self, start: int) -> ArrayObject:
        """An array as ArrayObject.read_from_stream reads it; one with a comment or a null, by pypdf."""
        array = ArrayObject()
        left = get_configuration().array_maximum_element_count
        budget = self.budget.remaining_budget
        while True:
            self.pos = _ELEMENT_SPACE.match(self.data, self.pos).end()  # type: ignore[union-attr]
            if self.pos == len(self.data):
                return array  # pypdf ends an unclosed array at the end of the data
            if self.data[self.pos : self.pos + 1] in (b"n", b"%"):  # "null" has a shortcut there, "%" a comment
                self.budget.remaining_budget = budget
                return self._pypdf(start)
            found = self.next_token(top=False)
            if found is _END or found is _EOF:
                return array
            left -= 1
            self.budget.remaining_budget -= 1
            if left < 0 or self.budget.remaining_budget < 0:
                raise _Unfollowed
            array.append(found)

    def _pypdf(self, at: int) -> Any:
        """The object at ``at`` read by pypdf's read_object (it raises what pypdf raises)."""
        self._stream.seek(at)
        found = read_object(self._stream, None, self.encoding, parsing_budget=self.budget)
        self.pos = self._stream.tell()
        return found
