"""The pages in a real browser: one headless Chromium for the session, and per module one service on real HTTP
(uvicorn on 127.0.0.1) over the handbook plus an HR-only page, with API keys, a trusted proxy address and the
stand-in LLM (tests/servers.py). Without Chromium the tests skip, saying why; with ASKDOCS_TEST_REQUIRE_BROWSER
set (CI sets it) they fail instead."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from app.container import Container
from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import Settings
from tests.app.conftest import container_for
from tests.conftest import missing
from tests.servers import FakeOpenAI, serve
from tests.web.browser import BrowserUnavailable, Chromium, emulate, extra_headers, find_chromium, start
from tests.web.site import restricted_copy


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    try:
        return find_chromium()
    except BrowserUnavailable as exc:
        missing(str(exc), "ASKDOCS_TEST_REQUIRE_BROWSER")


@pytest.fixture(scope="session")
def session_browser(chromium: Chromium) -> Iterator[WebDriver]:
    driver = start(chromium)
    yield driver
    driver.quit()


@pytest.fixture
def browser(session_browser: WebDriver) -> Iterator[WebDriver]:
    """The session's browser, as a test leaves it for the next: no proxy headers, a light desktop."""
    yield session_browser
    extra_headers(session_browser, {})
    emulate(session_browser)


@dataclass
class Site:
    url: str
    container: Container
    llm: FakeOpenAI
    keys: dict[str, str]  # admin, staff (ask, no groups), hr (ask, group hr)


@pytest.fixture(scope="module")
def site(
    handbook_dir: Path,
    embedder: SentenceTransformerEmbedder,
    module_store_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("web-site")
    restricted_copy(handbook_dir, embedder, data_dir)
    llm = FakeOpenAI()
    with serve(llm.app()) as llm_url:
        settings = Settings(  # type: ignore[call-arg]
            data_dir=data_dir,
            database={"url": module_store_url},
            llm={"base_url": f"{llm_url}/v1", "api_key": "stand-in", "max_retries": 0, "timeout_s": 10},
            auth={"trust_proxy_headers": True, "proxy_addresses": ["127.0.0.1/32"]},
            service={"reports_dir": str(data_dir / "reports")},
            _env_file=None,
        )
        container = container_for(settings, embedder)
        assert container.keys is not None
        keys = {
            "admin": container.keys.create("ops", "admin")[1],
            "staff": container.keys.create("staff", "ask")[1],
            "hr": container.keys.create("hr-team", "ask", ("hr",))[1],
        }
        try:
            with serve(create_app(container)) as url:
                yield Site(url, container, llm, keys)
        finally:
            container.close()
