"""The admin pages in headless Chromium: an ask key is refused every one of them; an admin uploads a PDF and it is
answered from, with its page; a document is deleted after a confirmation; a key is created, used and revoked;
and whoever asks (by key or through the sign-in proxy) never sees a source their groups do not open."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fpdf import FPDF
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from app.web.pages import ADMIN_PAGES
from tests.web.browser import ask, by_id, extra_headers, open_page, wait
from tests.web.conftest import Site
from tests.web.site import SECRET_QUESTION

pytestmark = pytest.mark.store  # keys, jobs and the log live in the store

FACT = "The Zephyr parking garage opens at 6:15 every weekday morning."


def test_an_ask_key_is_refused_every_admin_page(browser: WebDriver, site: Site) -> None:
    open_page(browser, site.url + "/", site.keys["staff"])
    assert not browser.find_element(By.CSS_SELECTOR, ".admin-nav").is_displayed()  # no admin links to follow
    for name in ADMIN_PAGES:
        open_page(browser, f"{site.url}/admin/{name}", site.keys["staff"])
        part = by_id(browser, "part")
        assert part.get_attribute("data-refused") == "403", name
        refused = part.find_element(By.CSS_SELECTOR, "section.refused")
        assert "Admins only" in refused.text and "needs an admin key; 'staff' has scope 'ask'" in refused.text
        assert not part.find_elements(By.CSS_SELECTOR, "table, form, article"), name  # nothing of the page
    open_page(browser, f"{site.url}/admin/documents", site.keys["admin"])
    assert browser.find_elements(By.CSS_SELECTOR, "#part table.documents tr[data-doc-id]")


def make_pdf(path: Path) -> Path:
    pdf = FPDF()
    pdf.set_title("Facilities Guide")
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "Facilities Guide. This guide covers the offices, meeting rooms and the canteen.")
    pdf.add_page()
    pdf.multi_cell(0, 8, f"Parking. {FACT} Spaces are given out in the order people arrive.")
    pdf.output(str(path))
    return path


def test_an_admin_uploads_a_pdf_and_it_is_answered_with_its_page(
    browser: WebDriver, site: Site, tmp_path: Path
) -> None:
    open_page(browser, f"{site.url}/admin/ingest", site.keys["admin"])
    by_id(browser, "files").send_keys(str(make_pdf(tmp_path / "facilities.pdf")))
    by_id(browser, "files").find_element(By.XPATH, "./ancestor::form//button").click()
    wait(browser).until(lambda d: "Queued 1 job" in by_id(d, "part").text)
    row = "#part tr[data-status]"  # the newest job first; the page follows it while it runs
    job = wait(browser, 120).until(
        lambda d: (found := d.find_element(By.CSS_SELECTOR, row)).get_attribute("data-status") == "done" and found.text
    )
    assert "facilities.pdf" in job and "new" in job and "chunks" in job, job

    open_page(browser, site.url + "/", site.keys["staff"])
    ask(browser, "When does the Zephyr parking garage open?", quote=True)
    assert "6:15" in by_id(browser, "answer-text").text
    cited = browser.find_element(By.CSS_SELECTOR, "#sources li.cited")
    assert "Facilities Guide" in cited.text and "page 2" in cited.text


def test_a_document_is_deleted_only_once_confirmed(browser: WebDriver, site: Site) -> None:
    open_page(browser, f"{site.url}/admin/documents?q=on-call", site.keys["admin"])
    rows = browser.find_elements(By.CSS_SELECTOR, "#part tr[data-doc-id]")
    assert len(rows) == 1 and "On-call Policy" in rows[0].text
    doc_id = rows[0].get_attribute("data-doc-id")
    confirm = rows[0].find_element(By.CSS_SELECTOR, "details.confirm")
    button = confirm.find_element(By.TAG_NAME, "button")
    assert not button.is_displayed()  # closed: one click cannot delete
    confirm.find_element(By.TAG_NAME, "summary").click()
    assert "Remove “On-call Policy" in confirm.text
    button.click()
    wait(browser).until(lambda d: "Deleted “On-call Policy" in by_id(d, "part").text)
    assert not browser.find_elements(By.CSS_SELECTOR, "#part tr[data-doc-id]")
    assert doc_id not in {d.doc_id for d in site.container.index.documents()}


def test_a_key_made_on_the_page_works_until_it_is_revoked_there(browser: WebDriver, site: Site) -> None:
    open_page(browser, f"{site.url}/admin/keys", site.keys["admin"])
    by_id(browser, "k-name").send_keys("payroll-tool")
    by_id(browser, "k-groups").send_keys("hr, staff")
    browser.find_element(By.CSS_SELECTOR, "form.create-key button").click()
    wait(browser).until(lambda d: d.find_elements(By.ID, "new-secret"))
    secret = by_id(browser, "new-secret").get_attribute("value") or ""
    me = httpx.get(site.url + "/me", headers={"Authorization": f"Bearer {secret}"}).json()
    assert me == {"name": "payroll-tool", "scope": "ask", "groups": ["hr", "staff"], "admin": False}
    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-key="payroll-tool"]')
    assert secret[:12] in row.text and "hr, staff" in row.text
    row.find_element(By.TAG_NAME, "summary").click()
    row.find_element(By.TAG_NAME, "button").click()
    wait(browser).until(lambda d: "Key “payroll-tool” revoked" in by_id(d, "part").text)
    assert not browser.find_elements(By.ID, "new-secret")  # shown once only
    gone = httpx.get(site.url + "/me", headers={"Authorization": f"Bearer {secret}"})
    assert gone.status_code == 401 and "revoked" in gone.text
    open_page(browser, site.url + "/", secret)  # the holder's page says so
    assert "Your API key was refused: the API key 'payroll-tool' was revoked." in by_id(browser, "notice").text


def seen(browser: WebDriver) -> str:
    """All the page holds: its text, and its markup (links, titles, hidden passages)."""
    return browser.page_source + by_id(browser, "main").text


def test_a_non_member_never_sees_a_restricted_source(browser: WebDriver, site: Site) -> None:
    for key, member in ((site.keys["staff"], False), (site.keys["hr"], True)):
        open_page(browser, site.url + "/", key)
        ask(browser, SECRET_QUESTION, quote=True)
        page = seen(browser)
        for secret in ("4.2 million", "executive-pay", "Executive compensation"):
            assert (secret in page) is member, (key, secret)
    # Signed in through the proxy: its user and groups, never the key's.
    for groups, member in (("staff", False), ("hr,staff", True)):
        extra_headers(browser, {"X-Forwarded-User": "alice", "X-Forwarded-Groups": groups})
        open_page(browser, site.url + "/", None)
        assert by_id(browser, "who").text == f"Signed in as alice; groups {groups.replace(',', ', ')}"
        ask(browser, SECRET_QUESTION, quote=True)
        page = seen(browser)
        assert ("4.2 million" in page) is member and ("executive-pay" in page) is member, groups
