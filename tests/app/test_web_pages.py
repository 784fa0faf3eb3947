"""The web pages over HTTP: shells that hold no data under a strict CSP, everything served from the app itself,
fragments and actions for admins only (and actions only from the page's script), reports and charts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from app.web import charts
from app.web.pages import ADMIN_PAGES
from app.web.templating import PAGE_CSP, STATIC
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import Settings
from tests.app.conftest import container_for
from tests.web.site import SECRET_QUESTION, restricted_copy

pytestmark = pytest.mark.store  # keys live in the store

PARTS = [f"/admin/{name}/part" for name in ADMIN_PAGES]
ACTIONS = {
    "/admin/documents/delete": {"doc_id": "x"},
    "/admin/ingest/submit": {"urls": "https://example.com/a"},
    "/admin/keys/create": {"name": "x", "scope": "ask"},
    "/admin/keys/revoke": {"name": "x"},
}
PAGE = {"X-Askdocs-Page": "1"}


@dataclass
class Served:
    client: TestClient
    keys: dict[str, str]
    reports: Path

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


@pytest.fixture(scope="module")
def served(
    handbook_dir: Path,
    embedder: SentenceTransformerEmbedder,
    module_store_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("pages")
    restricted_copy(handbook_dir, embedder, data_dir)
    reports = data_dir / "reports"
    settings = Settings(  # type: ignore[call-arg]
        data_dir=data_dir, database={"url": module_store_url}, service={"reports_dir": str(reports)}, _env_file=None
    )
    container = container_for(settings, embedder)
    assert container.keys is not None
    keys = {"admin": container.keys.create("ops", "admin")[1], "staff": container.keys.create("staff", "ask")[1]}
    with TestClient(create_app(container)) as client:
        yield Served(client, keys, reports)
    container.close()


def test_the_pages_are_shells_under_a_strict_policy_and_load_nothing_from_elsewhere(served: Served) -> None:
    for path in ["/", *(f"/admin/{name}" for name in ADMIN_PAGES)]:
        page = served.client.get(path)  # no key: a shell holds no data
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), path
        assert page.headers["Content-Security-Policy"] == PAGE_CSP
        assert "script-src 'self'" in PAGE_CSP and "unsafe-inline" not in PAGE_CSP
        assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", page.text), path  # no inline script
        assert not re.findall(r'(?:src|href)="(?!/|#)', page.text), path  # every script, style, link: this app's
    assert "staff" not in served.client.get("/").text and "Leave" not in served.client.get("/admin/documents").text
    assert served.client.get("/admin", follow_redirects=False).headers["location"] == "/admin/documents"
    missing = served.client.get("/admin/nope")
    assert missing.status_code == 404 and "pages: documents, ingest, log, stats, keys, evals" in missing.text


def test_every_static_file_is_served_and_names_nothing_outside(served: Served) -> None:
    files = sorted(p.name for p in STATIC.iterdir())
    assert files == ["admin.js", "ask.js", "askdocs.css", "icon.svg", "session.js"]
    for name in files:
        response = served.client.get(f"/static/{name}")
        assert response.status_code == 200 and response.text, name
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", response.text), name  # no CDN, no host
    assert (
        served.client.get("/static/ask.js")
        .headers["content-type"]
        .startswith(("text/javascript", "application/javascript"))
    )


def test_fragments_and_actions_are_for_admins_only(served: Served) -> None:
    for path in PARTS:
        assert served.client.get(path).status_code == 401, path
        refused = served.client.get(path, headers=served.as_("staff"))
        assert refused.status_code == 403 and "needs an admin key; 'staff' has scope 'ask'" in refused.text, path
        shown = served.client.get(path, headers=served.as_("admin"))
        assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store", path
    for path, form in ACTIONS.items():
        assert served.client.post(path, data=form, headers=PAGE).status_code == 401, path
        assert served.client.post(path, data=form, headers=PAGE | served.as_("staff")).status_code == 403, path
        # From a form on another site (no page header), even an admin's browser is refused.
        forged = served.client.post(path, data=form, headers=served.as_("admin"))
        assert forged.status_code == 403 and "from the askdocs admin page" in forged.text, path
    # A link cannot make a page say something (a message, a "new key") the service did not.
    said = {"message": "Your key leaked: go to evil.example", "secret": "askd_planted"}
    for path in PARTS:
        shown = served.client.get(path, params=said, headers=served.as_("admin")).text
        assert "evil.example" not in shown and "askd_planted" not in shown, path


def test_documents_are_searched_and_an_unknown_one_is_not_deleted(served: Served) -> None:
    admin = served.as_("admin")
    found = served.client.get("/admin/documents/part", params={"q": "EXPENSES"}, headers=admin).text
    assert found.count('data-doc-id="') == 1 and "Expenses Policy" in found and "1 of 8 documents" in found
    gone = served.client.post("/admin/documents/delete", data={"doc_id": "nope"}, headers=PAGE | admin)
    assert gone.status_code == 404 and "no document with id 'nope'" in gone.text
    restricted = served.client.get("/admin/documents/part", params={"q": "executive"}, headers=admin).text
    assert "/hr/executive-pay.md" in restricted and "hr-share" in restricted  # admins see every document


def test_an_ingest_form_queues_urls_and_refuses_what_post_ingest_refuses(served: Served) -> None:
    admin = PAGE | served.as_("admin")
    queued = served.client.post("/admin/ingest/submit", data={"urls": "\nhttp://127.0.0.1:9/nothing\n"}, headers=admin)
    assert queued.status_code == 200 and "Queued 1 job" in queued.text and "127.0.0.1:9/nothing" in queued.text
    form = {"web_url": "http://127.0.0.1:9/sitemap.xml", "web_kind": "crawl", "max_pages": "5", "max_depth": "1"}
    crawl = served.client.post("/admin/ingest/submit", data=form, headers=admin)
    assert "Queued 1 job" in crawl.text and "crawl · " in crawl.text and "127.0.0.1:9/sitemap.xml" in crawl.text
    odd = served.client.post("/admin/ingest/submit", data=form | {"web_kind": "spider"}, headers=admin)
    assert odd.status_code == 422
    bad = served.client.post("/admin/ingest/submit", data={"urls": "ftp://x"}, headers=admin)
    assert bad.status_code == 422 and "'ftp://x'" in bad.text
    # What a browser sends for a file input left empty: a part with an empty file name.
    empty = b'--b\r\nContent-Disposition: form-data; name="files"; filename=""\r\n\r\n\r\n--b--\r\n'
    form = admin | {"Content-Type": "multipart/form-data; boundary=b"}
    nothing = served.client.post("/admin/ingest/submit", content=empty, headers=form)
    assert nothing.status_code == 422 and "send at least one file" in nothing.text
    wrong = served.client.post("/admin/ingest/submit", files={"files": ("a.exe", b"MZ")}, headers=admin)
    assert wrong.status_code == 415


def test_the_log_and_stats_show_what_was_asked(served: Served) -> None:
    staff, admin = served.as_("staff"), served.as_("admin")
    for question in ("How many vacation days do I get?", SECRET_QUESTION, "Who won the 1954 World Cup?"):
        served.client.post("/ask", json={"question": question}, headers=staff)
    log = served.client.get("/admin/log/part", params={"asked_by": "staff", "since": "1h"}, headers=admin).text
    assert log.count("<article") == 3 and "Who won the 1954 World Cup?" in log
    idk = served.client.get("/admin/log/part", params={"idk": "true", "asked_by": "staff"}, headers=admin).text
    assert "Who won the 1954 World Cup?" in idk and "How many vacation days" not in idk
    assert served.client.get("/admin/log/part", params={"since": "soon"}, headers=admin).status_code == 422
    assert served.client.get("/admin/log/part", params={"rating": "great"}, headers=admin).status_code == 422
    stats = served.client.get("/admin/stats/part", params={"since": "1h"}, headers=admin).text
    assert stats.count('<svg class="chart"') == 4 and "Questions per day:" in stats
    assert re.search(r"I do not know: [1-9]", stats) and "Who won the 1954 World Cup?" in stats
    assert re.search(r"extractive: p50 \d+ ms, p95 \d+ ms", stats)


def test_evaluation_reports_are_shown_with_their_charts(served: Served) -> None:
    admin = served.as_("admin")
    empty = served.client.get("/admin/evals/part", headers=admin).text
    assert "No evaluation reports in" in empty and "askdocs eval retrieval --out" in empty
    (served.reports / "modes").mkdir(parents=True)
    table = "| strategy | recall@5 |\n|---|---|\n| hybrid | 0.961 |\n| <b>bm25</b> | 0.942 |\n"
    (served.reports / "modes" / "retrieval-x.md").write_text(f"`askdocs eval retrieval --dataset x`\n\n{table}")
    Image.new("RGB", (4, 3), "white").save(served.reports / "modes" / "retrieval-x.png")
    shown = served.client.get("/admin/evals/part", headers=admin).text
    assert "<code>askdocs eval retrieval --dataset x</code>" in shown and "<td>0.961</td>" in shown
    assert "&lt;b&gt;bm25&lt;/b&gt;" in shown and "<b>" not in shown  # a report's text never becomes markup
    assert 'src="data:image/png;base64,' in shown
    one = served.client.get("/admin/evals/part", params={"report": "modes/retrieval-x.md"}, headers=admin)
    assert one.status_code == 200 and "0.961" in one.text
    for outside in ("../../etc/passwd", "/etc/hostname", "modes/../modes/retrieval-x.md"):
        refused = served.client.get("/admin/evals/part", params={"report": outside}, headers=admin)
        assert refused.status_code == 404 and "no evaluation report" in refused.text, outside


def test_charts_draw_the_figures_and_escape_their_labels() -> None:
    days = charts.per_day({"2026-12-01": 3, "2026-12-02": 0, "2026-12-03": 6})
    assert days.count('class="bar"') == 3 and "Questions per day: 9 in 3 days, at most 6 a day" in days
    assert 'height="0.0"' in days  # the empty day has a bar of nothing
    split = charts.shares([("answered", 3), ("<I do not know>", 1)])
    assert "answered: 3 (75 %)" in split and "&lt;I do not know&gt;: 1 (25 %)" in split and "<I do" not in split
    latency = charts.latency(
        {"extractive": {"n": 4, "p50": 120.0, "p95": 300.0}, "prompted": {"n": 2, "p50": 900.0, "p95": 1500.0}}
    )
    assert "extractive: p50 120 ms, p95 300 ms; prompted: p50 900 ms, p95 1500 ms" in latency
    assert "No questions" in charts.per_day({}) and "Nothing to count" in charts.shares([("a", 0)])
