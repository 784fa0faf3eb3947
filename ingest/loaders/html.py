"""HTML: main content only, kept as sections under their heading path (h1-h6).

The main content is trafilatura's (``main_content.py``); when it finds none (a short page, a page it cannot
parse), the rules below pick it: page furniture dropped by tag, landmark role and id/class words, the rest walked
in document order. The walk keeps its own stack, so no nesting depth (an HTML bomb of 50,000 ``<div>``) can
exhaust Python's recursion limit.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Doctype, PageElement

from askdocs.models import Document, Section
from ingest.loaders import RawSource
from ingest.loaders.main_content import extract_sections
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
_SPACE = re.compile(r"\s+")
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
    root = soup.find("main") or soup.find(_is_main_role) or soup.find("article") or soup.body or soup
    walker = _Walker()
    walker.walk(root)
    walker.flush()
    return walker.sections


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


_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?)\]])")


def _text(node: Tag) -> str:
    return _BEFORE_PUNCT.sub(r"\1", _SPACE.sub(" ", node.get_text(" ", strip=True))).strip()


class _Walker:
    """Walks the tree in document order; a heading closes the current section and opens the next."""

    def __init__(self) -> None:
        self.path: list[str] = []
        self.blocks: list[str] = []
        self.sections: list[Section] = []

    def flush(self) -> None:
        text = "\n\n".join(b for b in self.blocks if b)
        if text.strip():
            self.sections.append(Section(text, tuple(p for p in self.path if p)))
        self.blocks = []

    def add(self, block: str) -> None:
        if block:
            self.blocks.append(block)

    def walk(self, node: Tag) -> None:
        """Document order with an explicit stack of pending nodes (deep nesting cannot overflow the call stack)."""
        stack: list[PageElement] = list(reversed(node.contents))
        while stack:
            child = stack.pop()
            if isinstance(child, Comment | Doctype):
                continue
            if isinstance(child, NavigableString):
                self.add(_SPACE.sub(" ", str(child)).strip())
            elif isinstance(child, Tag) and not self._tag(child):
                stack.extend(reversed(child.contents))

    def _tag(self, tag: Tag) -> bool:
        """Take ``tag`` whole and say True, or say False: it is a container, walk into its children."""
        if tag.name in _HEADINGS:
            self.flush()
            level = _HEADINGS[tag.name]
            del self.path[level - 1 :]
            self.path.extend([""] * (level - 1 - len(self.path)))
            self.path.append(_text(tag))
        elif tag.name == "table":
            self.add(_table(tag))
        elif tag.name in ("ul", "ol"):
            items = [_text(li) for li in tag.find_all("li")]
            self.add("\n".join(f"- {item}" for item in items if item))
        elif tag.name in _BLOCKS:
            self.add(_text(tag))
        elif tag.name != "br":
            return False
        return True


def _table(table: Tag) -> str:
    rows = []
    for tr in table.find_all("tr"):
        cells = [_text(cell) for cell in tr.find_all(["th", "td"])]
        if any(cells):
            rows.append(" | ".join(cells))
    caption = table.find("caption")
    head = [_text(caption)] if caption else []
    return "\n".join(head + rows)
