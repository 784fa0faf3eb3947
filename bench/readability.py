"""Main-content extraction on Mozilla Readability's test pages: what the HTML loader keeps against what a careful
extractor keeps.

    .venv/bin/python -m bench.readability --pages DIR [--worst 10] [--out FILE.json]

DIR holds ``<name>/source.html`` and ``<name>/expected.html`` per page (``pages/`` of
``/work/shared/eval/readability-test-pages.tar.gz``, unpacked). Each page's ``source.html`` goes through the real
loader (``ingest.loaders.load``, as a web page); its text (every section, the heading path of each section
written once above it) is scored against the text of ``expected.html``: both are split into lower-case words, each
into the multiset of its word 4-grams; precision is the share of the extracted 4-grams found in the expected ones,
recall the other way round, both summed over all pages (micro-averaged), F1 their harmonic mean. A page is
"empty" when the loader found no text in it (``no text found in the document``) though ``expected.html`` has some:
the loader lost a whole page.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from bs4 import BeautifulSoup

from askdocs.errors import LoadError
from ingest.loaders import RawSource, load

_WORD = re.compile(r"\w+")


@dataclass
class PageScore:
    name: str
    extracted: int  # 4-grams
    expected: int
    matched: int
    empty: bool  # the loader found no text, expected.html has some

    @property
    def f1(self) -> float:
        return _f1(self.matched, self.extracted, self.expected)


def grams(text: str) -> Counter[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return Counter(tuple(words[i : i + 4]) for i in range(len(words) - 3))


def _f1(matched: int, extracted: int, expected: int) -> float:
    precision = matched / extracted if extracted else 0.0
    recall = matched / expected if expected else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def loader_text(name: str, html: bytes) -> str | None:
    """The loader's text of the page: each section under its heading path, as it would be embedded; None when it
    found no text at all."""
    try:
        document = load(RawSource(f"https://readability.test/{name}/", html, "text/html"))
    except LoadError:
        return None
    parts: list[str] = []
    last_path: tuple[str, ...] = ()
    for section in document.sections:
        if section.heading_path and section.heading_path != last_path:
            parts.append(section.heading_path[-1])
        parts.append(section.text)
        last_path = section.heading_path
    return "\n\n".join(parts)


def score_page(page: Path) -> PageScore:
    expected_text = BeautifulSoup((page / "expected.html").read_bytes(), "html.parser").get_text(" ")
    expected = grams(expected_text)
    text = loader_text(page.name, (page / "source.html").read_bytes())
    extracted = grams(text or "")
    matched = sum((extracted & expected).values())
    empty = text is None and bool(_WORD.search(expected_text))
    return PageScore(page.name, sum(extracted.values()), sum(expected.values()), matched, empty)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=Path, required=True, help="folder of <name>/source.html + expected.html")
    parser.add_argument("--worst", type=int, default=10, help="list this many pages with the lowest F1")
    parser.add_argument("--out", type=Path, help="write the per-page scores here as JSON")
    args = parser.parse_args()
    pages = sorted(p for p in args.pages.iterdir() if (p / "source.html").is_file() and (p / "expected.html").is_file())
    if not pages:
        raise SystemExit(f"no <name>/source.html + expected.html pages under {args.pages}")
    started = time.perf_counter()
    scores = [score_page(page) for page in pages]
    elapsed = time.perf_counter() - started
    matched = sum(s.matched for s in scores)
    extracted = sum(s.extracted for s in scores)
    expected = sum(s.expected for s in scores)
    precision, recall = matched / max(extracted, 1), matched / max(expected, 1)
    print(f"{len(scores)} pages in {elapsed:.1f} s")
    print(f"word 4-grams: precision {precision:.3f}  recall {recall:.3f}  F1 {_f1(matched, extracted, expected):.3f}")
    empty = [s.name for s in scores if s.empty]
    print(f"pages read as empty though expected.html has text: {len(empty)}{': ' if empty else ''}{', '.join(empty)}")
    print(f"worst {args.worst} pages by F1:")
    for s in sorted(scores, key=lambda s: s.f1)[: args.worst]:
        print(f"  {s.name:45} F1 {s.f1:.3f}  extracted {s.extracted:6}  expected {s.expected:6}  matched {s.matched:6}")
    if args.out:
        args.out.write_text(json.dumps([asdict(s) for s in scores], indent=1))


if __name__ == "__main__":
    main()
