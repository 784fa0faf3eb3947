"""HTML: main content only, kept as sections under their heading path (h1-h6).

The main content is trafilatura's (``main_content.py``); when it finds none (a short page, a page it cannot
parse), the rules below pick it: page furniture dropped by tag, landmark role and id/class words, the rest walked
in document order. The walk keeps its own stack, so no nesting depth (an HTML bomb of 50,000 ``<div>``) can
exhaust Python's recursion limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Doctype, PageElement

from askdocs.models import Document, Section
from ingest.loaders import RawSource
from ingest.loaders.main_content import extract_sections
from ingest.loaders.sections import SectionBuilder, bullet_list, clean, table_text
from ingest.loaders.text import build, decode

# Page furniture that is never content.
_DROP = [
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "iframe",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "button",
    "dialog",
]
# Furniture known by its id or class; cookie and consent banners also by their aria-label.
# A word of an id or class ("cookie-banner", "site_menu"), not any substring: "module-http.cookiejar" is content.
_NOISE = re.compile(r"(?:^|[\s_-])(?:cookie|consent|gdpr|banner|breadcrumb|sidebar|skip-link|menu)", re.I)
_CONSENT = re.compile(r"cookie|consent|gdpr", re.I)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = {"p", "li", "pre", "blockquote", "dt", "dd", "figcaption", "caption", "address", "td", "th"}
_LISTS = ("ul", "ol")
# trafilatura picks the main content out of what the rules keep, except: on a short page there is little to pick
# (and its fixed cost is most of the parse), and on a huge one its work grows faster than the page (minutes).
_FEW_WORDS = 150
_MANY_ELEMENTS = 100_000


class HtmlLoader:
    kind = "html"

    def load(self, raw: RawSource) -> Document:
        html = decode(raw)
        soup = BeautifulSoup(html, "html.parser")
        title = _text(soup.title) if soup.title else ""
        h1 = soup.find("h1")
        title = title or (_text(h1) if h1 else "") or raw.stem
        _drop_furniture(soup)
        by_rules = _by_rules(soup)
        if sum(len(s.text.split()) for s in by_rules) < _FEW_WORDS or len(soup.find_all(True)) > _MANY_ELEMENTS:
            return build(raw, self.kind, title, by_rules)
        found = extract_sections(str(soup))
        return build(raw, self.kind, title, by_rules if found is None or _flattened(found) else found)


def _flattened(sections: list[Section]) -> bool:
    """trafilatura's answer to a page it finds too short: the whole text in one block, headings lost."""
    return len(sections) == 1 and not sections[0].heading_path and "\n" not in sections[0].text


def _by_rules(soup: BeautifulSoup) -> list[Section]:
    return _walk(soup.find("main") or soup.find(_is_main_role) or soup.find("article") or soup.body or soup)


def _drop_furniture(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for tag in soup.find_all(_is_page_furniture_role):
        tag.decompose()
    for tag in soup.find_all(_is_noise):
        tag.decompose()


def _is_page_furniture_role(tag: Tag) -> bool:
    return tag.get("role") in ("navigation", "banner", "contentinfo", "complementary")


def _is_main_role(tag: Tag) -> bool:
    return tag.get("role") == "main"


def _is_noise(tag: Tag) -> bool:
    if tag.name in ("html", "body", "main", "article"):
        return False
    if _CONSENT.search(str(tag.get("aria-label") or "")):
        return True
    names = " ".join([str(tag.get("id") or ""), *(tag.get("class") or [])])
    # A block that carries a heading is content, whatever its id says (a privacy policy's <section id="cookies">).
    return bool(_NOISE.search(names)) and tag.find(list(_HEADINGS)) is None


def _text(node: Tag) -> str:
    return clean(node.get_text(" ", strip=True))


def _walk(root: Tag) -> list[Section]:
    """The sections of ``root``: text and whole blocks in document order, headings opening sections."""
    builder = SectionBuilder()
    for node in _in_order(root, lambda tag: not _take(tag, builder)):
        if isinstance(node, NavigableString):
            builder.add(clean(str(node)))
    return builder.sections()


def _in_order(root: Tag, enter: Callable[[Tag], bool]) -> Iterator[PageElement]:
    """``root``'s descendants in document order, comments left out; a tag's children only when ``enter(tag)``
    (called once the tag itself was handed out). An explicit stack: deep nesting cannot overflow the call stack."""
    stack: list[PageElement] = list(reversed(root.contents))
    while stack:
        node = stack.pop()
        if isinstance(node, Comment | Doctype):
            continue
        yield node
        if isinstance(node, Tag) and enter(node):
            stack.extend(reversed(node.contents))


def _take(tag: Tag, builder: SectionBuilder) -> bool:
    """Take ``tag`` whole and say True, or say False: it is a container, walk into its children."""
    if tag.name in _HEADINGS:
        builder.heading(_HEADINGS[tag.name], _text(tag))
    elif tag.name == "table":
        builder.add(_table(tag))
    elif tag.name in _LISTS:
        builder.add(bullet_list(tag, _items, _split_item))
    elif tag.name in _BLOCKS:
        builder.add(_text(tag))
    elif tag.name != "br":
        return False
    return True


def _table(table: Tag) -> str:
    caption = table.find("caption")
    rows = [[_text(cell) for cell in tr.find_all(["th", "td"])] for tr in table.find_all("tr")]
    return table_text([[_text(caption)], *rows] if caption else rows)


def _items(listing: Tag) -> list[Tag]:
    """A list's own items, in order. An <li> left unclosed holds the items after it (Python's HTML parser nests
    them): they are the list's too. The items of a list inside an item are not."""
    inside = _in_order(listing, lambda tag: tag.name not in _LISTS)
    return [node for node in inside if isinstance(node, Tag) and node.name == "li"]


def _split_item(item: Tag) -> tuple[str, list[Tag]]:
    """An item's own text, and the lists inside it (their text is not the item's); the tree is left as it was.
    An unclosed <li> inside is the next item, not this one's text."""
    words: list[str] = []
    nested: list[Tag] = []
    for node in _in_order(item, lambda tag: tag.name not in _LISTS and tag.name != "li"):
        if isinstance(node, NavigableString):
            words.append(str(node))
        elif isinstance(node, Tag) and node.name in _LISTS:
            nested.append(node)
    return clean(" ".join(words)), nested
