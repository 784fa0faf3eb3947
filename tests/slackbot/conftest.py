from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.container import Container
from app.main import create_app
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.settings import Settings
from tests.app.conftest import container_for
from tests.servers import serve
from tests.slackbot.stand_in import SECRET, TOKEN, FakeSlack, Listeners


@pytest.fixture
def slack() -> Iterator[tuple[FakeSlack, str]]:
    fake = FakeSlack()
    with serve(fake.app()) as url:
        yield fake, url


def slack_settings(api_url: str, config_file: Path | None = None, **more: Any) -> dict[str, Any]:
    return {
        "bot_token": TOKEN,
        "signing_secret": SECRET,
        "api_url": f"{api_url}/api/",
        "config_file": config_file,
    } | more


def write_config(folder: Path, config: dict[str, Any]) -> Path:
    path = folder / "slack.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def bot_service(
    data_dir: Path, embedder: SentenceTransformerEmbedder, slack: dict[str, Any], **settings: Any
) -> Iterator[tuple[str, Container, Listeners]]:
    """The whole service, with the bot's route, served on 127.0.0.1; and the bot's listeners, to wait for."""
    config = Settings(data_dir=data_dir, _env_file=None, slack=slack, **settings)  # type: ignore[arg-type]
    container = container_for(config, embedder)
    application = create_app(container)
    try:
        with serve(application) as url:
            yield url, container, Listeners(application.state.slack)  # built by the lifespan, before serving
    finally:
        container.close()
