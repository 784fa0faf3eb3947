"""The browser the page tests drive: found where Debian installs it, or said missing (the fixture then skips, or
fails where ASKDOCS_TEST_REQUIRE_BROWSER is set, as in CI)."""

from __future__ import annotations

import pytest

from tests.web.browser import BrowserUnavailable, find_chromium


def test_a_missing_browser_or_driver_is_named_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASKDOCS_TEST_CHROMEDRIVER", "/nonexistent/chromedriver")
    with pytest.raises(BrowserUnavailable, match=r"^chromedriver not found: apt-get install chromium chromium-driver"):
        find_chromium()
    monkeypatch.setenv("ASKDOCS_TEST_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(BrowserUnavailable, match=r"^chromium and chromedriver not found"):
        find_chromium()
