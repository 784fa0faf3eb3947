"""Headless Chromium driven by Selenium: Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs both).
The driver's path is given to Selenium, so Selenium Manager never looks for (or downloads) one. Used by the
browser tests (tests/web) and by ``scripts/screenshots``."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

WAIT_S = 30.0  # far beyond what any page takes here: a wait that runs out is a failure, never a delay
PHONE = (390, 844)  # CSS pixels of a common phone
DESKTOP = (1280, 900)
# Nothing in the background: no updates, no sync, no metrics (the tests allow loopback only, and so does CI).
QUIET = (
    "--headless=new",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
)


class BrowserUnavailable(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Chromium:
    browser: Path
    driver: Path


def find_chromium() -> Chromium:
    """Chromium and its driver (``ASKDOCS_TEST_CHROMIUM`` / ``ASKDOCS_TEST_CHROMEDRIVER``, else on the PATH)."""
    found = {
        name: shutil.which(os.environ.get(variable) or name)
        for name, variable in (("chromium", "ASKDOCS_TEST_CHROMIUM"), ("chromedriver", "ASKDOCS_TEST_CHROMEDRIVER"))
    }
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise BrowserUnavailable(
            f"{' and '.join(missing)} not found: apt-get install chromium chromium-driver (Debian's), or name them in "
            "ASKDOCS_TEST_CHROMIUM and ASKDOCS_TEST_CHROMEDRIVER"
        )
    return Chromium(Path(str(found["chromium"])), Path(str(found["chromedriver"])))


def start(chromium: Chromium, size: tuple[int, int] = DESKTOP) -> WebDriver:
    options = Options()
    options.binary_location = str(chromium.browser)
    for argument in QUIET:
        options.add_argument(argument)
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to run as root with its sandbox (CI runs as root)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=str(chromium.driver)))


def emulate(driver: WebDriver, *, dark: bool = False, size: tuple[int, int] = DESKTOP, mobile: bool = False) -> None:
    """The colour scheme the page sees (prefers-color-scheme) and the viewport (a phone's, with touch)."""
    cdp: Any = driver
    scheme = [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]
    cdp.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": scheme})
    metrics = {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": mobile}
    cdp.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def extra_headers(driver: WebDriver, headers: dict[str, str]) -> None:
    """Headers added to every request the page makes, as an authenticating proxy adds its user's ({}: none)."""
    cdp: Any = driver
    cdp.execute_cdp_cmd("Network.enable", {})
    cdp.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": headers})


def open_page(driver: WebDriver, url: str, key: str | None) -> None:
    """Open a page as the holder of ``key`` (kept in the page's localStorage, as the sign-in form keeps it; None:
    no key), and wait until its script has done what it does on load."""
    origin = url.split("/", 3)
    driver.get("/".join(origin[:3]) + "/static/icon.svg")  # the origin, without running a page's script
    if key is None:
        driver.execute_script("localStorage.clear()")
    else:
        driver.execute_script("localStorage.clear(); localStorage.setItem('askdocs.key', arguments[0])", key)
    driver.get(url)
    wait(driver).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")


def wait(driver: WebDriver, timeout: float = WAIT_S) -> WebDriverWait[WebDriver]:
    """Polls every 20 ms (Selenium's default is 500 ms: most of a fast test's time), looking again when what it
    looked at was missing or replaced meanwhile (an admin page's fragment is, as it follows running jobs)."""
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.02, ignored_exceptions=ignored)


def console_errors(driver: WebDriver) -> list[str]:
    """The page's console errors since the last call (a refused request is logged too: filter what you expect)."""
    logs: Any = driver
    return [e["message"] for e in logs.get_log("browser") if e["level"] == "SEVERE"]


def by_id(driver: WebDriver, element_id: str) -> WebElement:
    return driver.find_element(By.ID, element_id)


def ask(driver: WebDriver, question: str, *, quote: bool = False) -> WebElement:
    """Ask on the open ask page and wait for the answer (or the failure); the answer element."""
    answer = by_id(driver, "answer")
    asked = int(answer.get_attribute("data-asks") or 0)
    box = by_id(driver, "question")
    box.clear()
    box.send_keys(question)
    if by_id(driver, "quote").is_selected() != quote:
        by_id(driver, "quote").click()
    by_id(driver, "ask-button").click()
    wait(driver).until(
        lambda d: (
            int(answer.get_attribute("data-asks") or 0) > asked
            and answer.get_attribute("data-state") in ("done", "failed")
        )
    )
    return answer
