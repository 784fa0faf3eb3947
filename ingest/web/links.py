"""What a crawler reads in a page besides its text: the links, and the canonical URL it declares."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.web.urls import looks_like_page, resolve


@dataclass(frozen=True, slots=True)
class PageLinks:
    links: tuple[str, ...]  # absolute, normalised, page-like, in document order, no repeats
    canonical: str | None  # from <link rel="canonical">, absolute and normalised


def read_links(html: bytes, url: str) -> PageLinks:
    """Every followable link (``<a>``/``<area>`` ``href``, against ``<base href>`` if given; not rel=nofollow)."""
    from bs4 import BeautifulSoup  # here, not at import: the CLI imports this package to start

    soup = BeautifulSoup(html, "html.parser")
    base_tag = soup.find("base", href=True)
    base = (resolve(url, str(base_tag["href"])) if base_tag else None) or url
    links: dict[str, None] = {}
    for tag in soup.find_all(["a", "area"], href=True):
        if "nofollow" in _rel(tag.get("rel")):
            continue
        link = resolve(base, str(tag["href"]))
        if link and looks_like_page(link):
            links[link] = None
    canonical = None
    for tag in soup.find_all("link", href=True):
        if "canonical" in _rel(tag.get("rel")):
            canonical = resolve(base, str(tag["href"]))
            break
    return PageLinks(tuple(links), canonical)


def _rel(value: object) -> set[str]:
    words = value if isinstance(value, list) else str(value or "").split()
    return {str(w).lower() for w in words}
