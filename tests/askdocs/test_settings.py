from __future__ import annotations

from pathlib import Path

import pytest

from askdocs.errors import ConfigError
from askdocs.settings import load_settings


def test_nested_environment_and_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASKDOCS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ASKDOCS_QDRANT__URL", "http://qdrant:6333")
    monkeypatch.setenv("ASKDOCS_QDRANT__API_KEY", "qk")
    monkeypatch.setenv("ASKDOCS_RETRIEVAL__TOP_K", "7")
    settings = load_settings(_env_file=None)
    assert settings.data_dir == tmp_path and settings.qdrant.url == "http://qdrant:6333"
    assert settings.retrieval.top_k == 7
    assert settings.qdrant.api_key is not None and settings.qdrant.api_key.get_secret_value() == "qk"
    assert "qk" not in repr(settings)


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ASKDOCS_ADMIN_TOKEN", "ASKDOCS_LLM__BASE_URL", "ASKDOCS_LLM__API_KEY", "ASKDOCS_QDRANT__URL"):
        monkeypatch.setenv(name, "")
    settings = load_settings(_env_file=None)
    assert settings.admin_token is None and settings.qdrant.url is None
    assert not settings.llm.enabled


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("ASKDOCS_CHUNKING__CHUNK_SIZE=300\n")
    assert load_settings().chunking.chunk_size == 300


def test_invalid_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASKDOCS_SERVICE__PORT", "99999")
    with pytest.raises(ConfigError, match="ASKDOCS_SERVICE__PORT"):
        load_settings(_env_file=None)
