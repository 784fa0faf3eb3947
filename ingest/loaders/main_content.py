"""A page's main content found by trafilatura, read back as sections under their heading path.

trafilatura (Apache 2.0) tells article text from page furniture better than rules on ids and classes (on
Mozilla Readability's test pages: docs/INGEST.md). Its XML output keeps what askdocs needs and its plain text
drops: headings with their level (``<head rend="h2">``), lists (``<list><item>``) and tables
(``<table><row><cell>``). This module turns that XML into Sections; the HTML loader (``html.py``) decides whether
they or its own rules' sections stand: the rules' when trafilatura finds nothing or flattens the page's text into
one block, trafilatura's when the rules found little of a page trafilatura reads whole.
"""

from __future__ import annotations

import logging
import re

from lxml import etree

from askdocs.models import Section
from ingest.loaders.sections import SectionBuilder, bullet_list, clean, table_text

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
    builder = SectionBuilder()
    for element in main:
        _read(element, builder)
    return builder.sections() or None


def _read(element: etree._Element, builder: SectionBuilder) -> None:
    """One top-level element of trafilatura's <main>: a <head> opens a section, anything else is a block of it."""
    tag = element.tag
    if tag == "head":
        match = _LEVEL.fullmatch(str(element.get("rend") or ""))
        builder.heading(int(match.group(1)) if match else None, _text(element))
    elif tag == "list":
        builder.add(bullet_list(element, _items, _split_item))
    elif tag == "table":
        builder.add(table_text([_text(cell) for cell in row.iterchildren("cell")] for row in element.iter("row")))
    elif tag == "code":
        builder.add("".join(element.itertext()).strip())
    elif isinstance(tag, str):  # p, quote and any other block: its words
        builder.add(_text(element))


def _text(element: etree._Element) -> str:
    for br in element.iter("lb"):
        br.tail = " " + (br.tail or "")
    return clean("".join(element.itertext()))


def _items(element: etree._Element) -> list[etree._Element]:
    return list(element.iterchildren("item"))


def _split_item(item: etree._Element) -> tuple[str, list[etree._Element]]:
    """An item's own text and the lists inside it, taken out of it so that its text does not repeat theirs."""
    nested = [child for child in item if child.tag == "list"]
    for child in nested:
        _detach(child)
    return _text(item), nested


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
