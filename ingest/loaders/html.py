"""HTML: main content only, kept as sections under their heading path (h1-h6).

The rules below drop page furniture (by tag, landmark role and id/class words) and walk the rest in document
order; trafilatura (``main_content.py``) then picks the main content out of what they kept. When the rules find
little (a page whose article sat in something they took for furniture), trafilatura reads the page as received,
and whichever of the two found more text wins: the rules never give less than trafilatura found. A ``<form>``
that holds the content (ASP.NET WebForms and SharePoint wrap the whole page in one) is content; a search box is
not. Permalink anchors beside headings ("¶", "#") are dropped first, so no heading path carries them. The walk
keeps its own stack, so no nesting depth (an HTML bomb of 50,000 ``<div>``) can exhaust Python's recursion limit.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Doctype, PageElement

from askdocs.models import Document, Section
from ingest.loaders import RawSource
from ingest.loaders.main_content import extract_sections
from ingest.loaders.sections import SectionBuilder, bullet_list, clean, table_text
from ingest.loaders.text import build, decode

# Never text a reader sees.
_INVISIBLE = ["script", "style", "noscript", "template", "svg"]
# Page furniture that is never content; a <form> is judged apart (``_holds_the_content``).
_DROP = ["iframe", "nav", "header", "footer", "aside", "button", "dialog"]
# Furniture known by its id or class; cookie and consent banners also by their aria-label.
# A word of an id or class ("cookie-banner", "site_menu"), not any substring: "module-http.cookiejar" is content.
_NOISE = re.compile(r"(?:^|[\s_-])(?:cookie|consent|gdpr|banner|breadcrumb|sidebar|skip-link|menu)", re.I)
_CONSENT = re.compile(r"cookie|consent|gdpr", re.I)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = {"p", "li", "pre", "blockquote", "dt", "dd", "figcaption", "caption", "address", "td", "th"}
_LISTS = ("ul", "ol")
# A layout table's cell holding any of these is walked into; one of text only is a block.
_IN_LAYOUT_CELLS = ["table", *_HEADINGS, "p", "div", "ul", "ol", "pre", "blockquote"]
_WORD = re.compile(r"\w+")
# A link to its own heading whose text is only a permalink mark (Sphinx, MkDocs, Hugo, Docusaurus, rustdoc).
_PERMALINK_TEXT = re.compile("[\\s\u00b6#\u00a7\u2693\U0001f517\u200b\ufe0e\ufe0f]*")
# Under this many words the rules found little, and trafilatura reads the page as received if they dropped most of
# its words. Over that many elements the rules decide alone: trafilatura's work grows faster than the page (minutes).
_FEW_WORDS = 150
# trafilatura's text of the page as received wins over the rules' when it has over this many times their words: the
# rules missed the article (a short page's furniture it keeps, a cookie notice or a menu, is not worth taking).
_MISSED = 2
_MANY_ELEMENTS = 100_000


class HtmlLoader:
    kind = "html"

    def load(self, raw: RawSource) -> Document:
        html = decode(raw)
        soup = _parse(html)
        title = _text(soup.title) if soup.title else ""
        h1 = soup.find("h1")
        title = title or (_text(h1) if h1 else "") or raw.stem
        page_words = _visible_words(soup)
        _drop_furniture(soup)
        return build(raw, self.kind, title, _main_content(html, soup, page_words))


def _parse(html: str) -> BeautifulSoup:
    """The page as read: what no reader sees, and permalink anchors, taken out."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(_INVISIBLE):
        tag.decompose()
    for link in soup.find_all(_is_permalink):
        link.decompose()
    return soup


def _main_content(html: str, soup: BeautifulSoup, page_words: int) -> list[Section]:
    """The rules' sections or trafilatura's. Where the rules found 150 words or more, trafilatura picks the main
    content out of what they kept (its precision is the point), unless it flattens it into one block. Where they
    found fewer and under half of the page's words, it reads the page as received, and its sections win when they
    hold over twice the rules' words and are not just the page's links: the rules missed the article."""
    by_rules = _by_rules(soup)
    if len(soup.find_all(True)) > _MANY_ELEMENTS:
        return by_rules
    ruled = _size(by_rules)
    if sum(_count(s.text) for s in by_rules) >= _FEW_WORDS:
        read = soup
    elif _MISSED * ruled < page_words:  # maybe the article, in something the rules took for furniture
        read = _parse(html)
    else:  # the rules kept most of a short page: no article left to find (nor trafilatura's fixed cost to pay)
        return by_rules
    found = extract_sections(str(read))
    if found is None:
        return by_rules
    if read is soup:
        return by_rules if _flattened(found) else found
    return found if _size(found) > _MISSED * ruled and not _only_links(found, read) else by_rules


def _only_links(sections: list[Section], soup: BeautifulSoup) -> bool:
    """trafilatura's last resort on a page with no article is the whole page's text: on an app shell, the words
    of its menu. Nine words in ten from the page's links: not content."""
    words = Counter(w.lower() for s in sections for w in _WORD.findall(" ".join([*s.heading_path, s.text])))
    links = Counter(w.lower() for a in soup.find_all("a") for w in _WORD.findall(a.get_text(" ")))
    return sum((words & links).values()) >= 0.9 * sum(words.values())


def _size(sections: list[Section]) -> int:
    """Words of the sections' text and of their headings, each heading path counted once."""
    paths = {s.heading_path for s in sections}
    return sum(_count(s.text) for s in sections) + sum(_count(" ".join(p)) for p in paths)


def _visible_words(soup: BeautifulSoup) -> int:
    """Words of the page's body (its title is not the body's, even where no <body> tag says where that starts)."""
    if soup.body:
        return _words_in(soup.body)
    return _words_in(soup) - (_words_in(soup.title) if soup.title else 0)


def _words_in(tag: Tag) -> int:
    return _count(tag.get_text(" "))


def _count(text: str) -> int:
    """Words as the 150-word threshold counts them: runs of non-space ("11.2.1." is one)."""
    return len(text.split())


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
    # Forms last: what is left once the rest of the furniture is gone says whether a form holds the content.
    forms = soup.find_all("form")
    words = _visible_words(soup) if forms else 0
    for form in forms:
        if _holds_the_content(form, words):
            form.name = "div"  # trafilatura would drop it too, unless it held over half of the page
        else:
            form.decompose()


def _holds_the_content(form: Tag, words: int) -> bool:
    """A form around the page (ASP.NET WebForms, SharePoint: ``<form id="aspnetForm">``) or the article, not a
    search box, a sign-up or a comment form: it holds the main content, the page's h1, or most of its words."""
    if form.find(["main", "article", "h1"]) or form.find(_is_main_role):
        return True
    return _words_in(form) > words / 2


def _is_permalink(tag: Tag) -> bool:
    """A link to a place on its own page whose text is a permalink mark or nothing (Sphinx's "¶", "#", "🔗")."""
    href = str(tag.get("href") or "")
    return tag.name == "a" and href.startswith("#") and _PERMALINK_TEXT.fullmatch(tag.get_text()) is not None


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
    elif tag.name == "table" and not _is_layout(tag):
        builder.add(_table(tag))
    elif tag.name in _LISTS:
        builder.add(bullet_list(tag, _items, _split_item))
    elif tag.name in ("td", "th") and tag.find(_IN_LAYOUT_CELLS):
        return False
    elif tag.name in _BLOCKS:
        builder.add(_text(tag))
    elif tag.name != "br":
        return False
    return True


def _is_layout(table: Tag) -> bool:
    """A table that lays out the page (old ASP.NET and CMS templates: menus, columns, the article in one cell),
    not one of data: walked like any container, so the headings in it still open sections."""
    return table.get("role") in ("presentation", "none") or table.find(["table", *_HEADINGS]) is not None


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
