"""The ask page in headless Chromium: a streamed answer with its citations, "I do not know" with the closest
passages, ratings that reach the log, the asker's recent questions, and a clear message for every failure."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from app.main import create_app
from tests.servers import pieces, serve
from tests.web.browser import PHONE, ask, by_id, emulate, open_page, wait
from tests.web.conftest import Site

pytestmark = pytest.mark.store  # the service logs every answer in its store

STREAMED = "Every full-time employee receives 25 vacation days per calendar year [1], and may carry 5 over [2]."


def test_an_answer_streams_in_with_numbered_citations_that_show_their_passage(browser: WebDriver, site: Site) -> None:
    open_page(browser, site.url + "/", site.keys["staff"])
    site.llm.replies.append(STREAMED)
    answer = ask(browser, "How many vacation days do I get?")
    assert answer.get_attribute("data-state") == "done"
    # The answer came as the stand-in sent it, a word at a time, before the final event.
    assert int(answer.get_attribute("data-tokens") or 0) == len(pieces(STREAMED))
    assert int(answer.get_attribute("data-first-token-ms") or 0) <= int(answer.get_attribute("data-done-ms") or 0)
    assert "25 vacation days per calendar year" in by_id(browser, "answer-text").text
    prompt = " ".join(" ".join(m["content"] for m in site.llm.requests[-1]["messages"]).split())
    assert "25 vacation days" in prompt  # the real search found the leave page's passage for the model
    cites = browser.find_elements(By.CSS_SELECTOR, "#answer-text a.cite")
    assert [c.text for c in cites] == ["[1]", "[2]"]
    first = by_id(browser, "source-1")
    assert "Leave and Time Off" in first.find_element(By.CLASS_NAME, "source-title").text
    assert "cited" in (first.get_attribute("class") or "")
    hover = cites[0].get_attribute("title") or ""
    assert len(hover) > 100 and hover.rstrip("…") in prompt  # the passage (its start), shown on hover
    passage = first.find_element(By.TAG_NAME, "details")
    assert passage.get_attribute("open") is None
    cites[0].click()
    wait(browser).until(lambda d: passage.get_attribute("open") is not None)
    assert browser.switch_to.active_element == first
    assert first.find_element(By.TAG_NAME, "blockquote").text == hover
    assert "written by the language model" in by_id(browser, "answer-note").text


def test_i_do_not_know_is_said_as_such_with_the_closest_passages(browser: WebDriver, site: Site) -> None:
    open_page(browser, site.url + "/", site.keys["staff"])
    answer = ask(browser, "What is the airspeed velocity of an unladen swallow?", quote=True)
    text = by_id(browser, "answer-text")
    assert text.text == "I do not know." and "idk" in (text.get_attribute("class") or "")
    assert by_id(browser, "sources-title").text.startswith("The documents do not answer this. The closest passages")
    closest = browser.find_elements(By.CSS_SELECTOR, "#sources li.source")
    assert 1 <= len(closest) <= 3 and all(c.find_element(By.CLASS_NAME, "source-title").text for c in closest)
    assert not by_id(browser, "feedback").get_attribute("hidden")  # an "I do not know" can be rated too
    assert answer.get_attribute("data-interaction-id")


def test_a_rating_and_a_correction_reach_the_log_page(browser: WebDriver, site: Site) -> None:
    open_page(browser, site.url + "/", site.keys["staff"])
    question = "How long is parental leave?"
    answer = ask(browser, question, quote=True)
    interaction = answer.get_attribute("data-interaction-id")
    status = by_id(browser, "feedback-status")
    browser.find_element(By.CSS_SELECTOR, "[data-rating=helpful]").click()
    wait(browser).until(lambda d: status.get_attribute("data-rated") == "helpful")
    assert status.text == "Thanks: your rating was recorded."
    browser.find_element(By.CSS_SELECTOR, "#correct summary").click()
    by_id(browser, "corrected").send_keys("Sixteen weeks, paid in full.")
    by_id(browser, "comment").send_keys("the answer was about vacation")
    browser.find_element(By.CSS_SELECTOR, "#correct-form button").click()
    wait(browser).until(lambda d: status.get_attribute("data-rated") == "corrected")
    assert status.text == "Thanks: your new rating replaced the earlier one."

    open_page(browser, site.url + "/", site.keys["staff"])  # the asker's questions, from the log
    assert question in [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#recent button")]

    open_page(browser, site.url + "/admin/log?rating=not_helpful", site.keys["admin"])
    logged = browser.find_element(By.CSS_SELECTOR, f'article[data-interaction-id="{interaction}"]')
    assert question in logged.text and "not helpful" in logged.text and "staff" in logged.text
    assert "Sixteen weeks, paid in full." in logged.text and "the answer was about vacation" in logged.text
    open_page(browser, site.url + "/admin/log?rating=helpful", site.keys["admin"])
    assert not browser.find_elements(By.CSS_SELECTOR, f'article[data-interaction-id="{interaction}"]')


def test_a_failed_language_model_is_said_and_the_answer_quotes_the_documents(browser: WebDriver, site: Site) -> None:
    open_page(browser, site.url + "/", site.keys["staff"])
    site.llm.replies.append(500)
    ask(browser, "How many vacation days do I get?")
    note = by_id(browser, "answer-note").text
    assert "The language model failed" in note and "quoted from the documents" in note
    assert "25 vacation days" in by_id(browser, "answer-text").text
    assert browser.find_elements(By.CSS_SELECTOR, "#answer-text a.cite")


def test_without_a_key_the_page_asks_for_one_and_keeps_it(browser: WebDriver, site: Site) -> None:
    open_page(browser, site.url + "/", None)
    assert by_id(browser, "who").text == "Not signed in"
    assert by_id(browser, "signin").get_attribute("open") is not None
    assert browser.switch_to.active_element == by_id(browser, "key")
    ask(browser, "How many vacation days do I get?")
    assert "This service needs an API key" in by_id(browser, "notice").text
    by_id(browser, "key").send_keys(site.keys["staff"])
    browser.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
    wait(browser).until(lambda d: by_id(d, "who").text == "Key “staff” (ask)")
    assert ask(browser, "How many vacation days do I get?", quote=True).get_attribute("data-state") == "done"
    browser.find_element(By.CSS_SELECTOR, "#signin summary").click()
    by_id(browser, "forget-key").click()
    wait(browser).until(lambda d: by_id(d, "who").text == "Not signed in")


def test_rate_limited_the_page_says_how_long_to_wait(browser: WebDriver, site: Site) -> None:
    assert site.container.keys is not None
    key = site.container.keys.create("burst", "ask")[1]
    open_page(browser, site.url + "/", key)
    with httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {key}"}) as client:
        codes = [client.get("/me").status_code for _ in range(120)]
    assert codes[-1] == 429  # the page's own two requests and these: over 120 a minute
    ask(browser, "How many vacation days do I get?")
    notice = by_id(browser, "notice").text
    assert "Too many requests: rate limit of 120/minute for the key 'burst' exceeded; retry in" in notice
    button = by_id(browser, "ask-button")
    wait(browser).until(lambda d: button.text.startswith("Ask (in ") and not button.is_enabled())


def test_a_service_that_went_away_is_said(browser: WebDriver, site: Site) -> None:
    with serve(create_app(site.container)) as other:  # the same service on a second server, stopped below
        open_page(browser, other + "/", site.keys["staff"])
    ask(browser, "How many vacation days do I get?")
    assert "The service cannot be reached" in by_id(browser, "notice").text


def test_the_page_works_from_the_keyboard_with_a_visible_focus(browser: WebDriver, site: Site) -> None:
    open_page(browser, site.url + "/", site.keys["staff"])
    keys = ActionChains(browser)
    keys.send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.text == "Skip to the content"
    keys.send_keys(Keys.ENTER).send_keys(Keys.TAB).perform()
    question = browser.switch_to.active_element
    assert question == by_id(browser, "question")
    assert question.value_of_css_property("outline-style") != "none"  # the focus is seen
    answer = by_id(browser, "answer")
    keys.send_keys("How many vacation days do I get?").key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(
        Keys.CONTROL
    ).perform()
    wait(browser).until(lambda d: answer.get_attribute("data-state") == "done")
    for _ in range(40):  # from the question on, Tab reaches the rating buttons
        keys.send_keys(Keys.TAB).perform()
        if browser.switch_to.active_element.get_attribute("data-rating") == "helpful":
            break
    keys.send_keys(Keys.ENTER).perform()
    wait(browser).until(lambda d: by_id(d, "feedback-status").get_attribute("data-rated") == "helpful")


@pytest.mark.parametrize("page", ["/", "/admin/documents", "/admin/log", "/admin/keys"])
def test_on_a_phone_in_the_dark_nothing_runs_off_the_screen(browser: WebDriver, site: Site, page: str) -> None:
    emulate(browser, dark=True, size=PHONE, mobile=True)
    open_page(browser, site.url + page, site.keys["admin"])
    if page == "/":
        ask(browser, "How many vacation days do I get?", quote=True)
    width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] == PHONE[0], width  # wide tables scroll inside their own box
    body = browser.find_element(By.TAG_NAME, "body")
    assert body.value_of_css_property("background-color") == "rgba(20, 23, 28, 1)"  # the dark scheme's
