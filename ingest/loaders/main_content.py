"""A page's main content found by trafilatura, read back as sections under their heading path.

trafilatura (Apache 2.0) tells article text from page furniture better than rules on ids and classes (on
Mozilla Readability's test pages: docs/INGEST.md). Its XML output keeps what askdocs needs and its plain text
drops: headings with their level (``<head rend="h2">``), lists (``<list><item>``) and tables
(``<table><row><cell>``). This module turns that XML into Sections; the loader falls back to its own rules when
trafilatura finds nothing, or finds no heading where the rules find some (short pages, where trafilatura returns
the page's text flattened into one block).
"""

from __future__ import annotations

import logging
import re

from lxml import etree

from askdocs.models import Section

_SPACE = re.compile(r"\s+")
_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?)\]])")
_LEVEL = re.compile(r"h([1-6])")
_XML = etree.XMLParser(recover=True)  # trafilatura's XML can carry characters XML forbids


def extract_sections(html: str) -> list[Section] | None:
    """The main content's sections, or None when trafilatura finds no main content (or fails on the page)."""
    import trafilatura  # heavy (lxml, htmldate, justext): imported when a page is read, not with the package

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # it logs every page it finds too short
    try:
        xml = trafilatura.extract(
            html,
            output_format="xml",
            include_tables=True,
            include_comments=False,
            include_images=False,
            include_links=False,
            include_formatting=False,
            deduplicate=False,
            fast=True,  # no external fallback extractors (readability, justext): faster, and as good here
        )
        main = etree.fromstring(xml.encode("utf-8"), _XML).find("main") if xml else None
    except (ValueError, TypeError, LookupError, etree.LxmlError):
        return None
    if main is None:
        return None
    reader = _XmlSections()
    for element in main:
        reader.add(element)
    reader.flush()
    return reader.sections or None


class _XmlSections:
    """The top-level elements of trafilatura's <main> in order; a <head> closes the current section."""

    def __init__(self) -> None:
        self.path: list[str] = []
        self.blocks: list[str] = []
        self.sections: list[Section] = []

    def flush(self) -> None:
        text = "\n\n".join(b for b in self.blocks if b)
        if text.strip():
            self.sections.append(Section(text, tuple(p for p in self.path if p)))
        self.blocks = []

    def add(self, element: etree._Element) -> None:
        tag = element.tag
        if tag == "head":
            self.flush()
            match = _LEVEL.fullmatch(str(element.get("rend") or ""))
            level = int(match.group(1)) if match else min(len(self.path) + 1, 6)
            del self.path[level - 1 :]
            self.path.extend([""] * (level - 1 - len(self.path)))
            self.path.append(_text(element))
        elif tag == "list":
            self.blocks.append(_list(element))
        elif tag == "table":
            self.blocks.append(_table(element))
        elif tag == "code":
            self.blocks.append("".join(element.itertext()).strip())
        elif isinstance(tag, str):  # p, quote and any other block: its words
            self.blocks.append(_text(element))


def _text(element: etree._Element) -> str:
    for br in element.iter("lb"):
        br.tail = " " + (br.tail or "")
    return _BEFORE_PUNCT.sub(r"\1", _SPACE.sub(" ", "".join(element.itertext()))).strip()


def _list(element: etree._Element, depth: int = 0) -> str:
    """``- item`` lines; a list inside an item follows it, indented (not repeated inside the item's own line)."""
    lines = []
    for item in element.iterchildren("item"):
        nested = [child for child in item if child.tag == "list"]
        for child in nested:
            _detach(child)
        text = _text(item)
        if text:
            lines.append(f"{'  ' * depth}- {text}")
        lines += [_list(child, depth + 1) for child in nested]
    return "\n".join(line for line in lines if line)


def _detach(element: etree._Element) -> None:
    """Take ``element`` out of its parent, keeping the text that followed it."""
    parent, before, tail = element.getparent(), element.getprevious(), element.tail or ""
    if parent is None:
        return
    if before is not None:
        before.tail = f"{before.tail or ''} {tail}"
    else:
        parent.text = f"{parent.text or ''} {tail}"
    parent.remove(element)


def _table(element: etree._Element) -> str:
    rows = []
    for row in element.iter("row"):
        cells = [_text(cell) for cell in row.iterchildren("cell")]
        while cells and not cells[-1]:  # a caption comes as a row of one cell padded to the table's width
            cells.pop()
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)
