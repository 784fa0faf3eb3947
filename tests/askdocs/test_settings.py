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


def test_the_model_cache_is_the_data_dirs_unless_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASKDOCS_DATA_DIR", str(tmp_path / "data"))
    for value in (None, ""):  # unset, or empty as compose passes an unset ${VAR:-}
        if value is None:
            monkeypatch.delenv("ASKDOCS_EMBEDDING__CACHE_DIR", raising=False)
        else:
            monkeypatch.setenv("ASKDOCS_EMBEDDING__CACHE_DIR", value)
        assert load_settings(_env_file=None).cache_path == tmp_path / "data" / "cache"
    monkeypatch.setenv("ASKDOCS_EMBEDDING__CACHE_DIR", "~/models-cache")
    assert load_settings(_env_file=None).cache_path == Path.home() / "models-cache"


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("ASKDOCS_CHUNKING__CHUNK_SIZE=300\n")
    assert load_settings().chunking.chunk_size == 300


def test_invalid_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASKDOCS_SERVICE__PORT", "99999")
    with pytest.raises(ConfigError, match="ASKDOCS_SERVICE__PORT"):
        load_settings(_env_file=None)


def test_cluster_settings_are_read_and_default_to_one_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    q = load_settings(_env_file=None).qdrant
    assert (q.shard_number, q.replication_factor, q.write_consistency_factor, q.on_disk, q.quantization) == (
        None, 1, 1, False, "none"
    )  # fmt: skip
    for name, value in {"SHARD_NUMBER": "6", "REPLICATION_FACTOR": "3", "WRITE_CONSISTENCY_FACTOR": "2"}.items():
        monkeypatch.setenv(f"ASKDOCS_QDRANT__{name}", value)
    monkeypatch.setenv("ASKDOCS_QDRANT__ON_DISK", "true")
    monkeypatch.setenv("ASKDOCS_QDRANT__QUANTIZATION", "int8")
    q = load_settings(_env_file=None).qdrant
    assert (q.shard_number, q.replication_factor, q.write_consistency_factor, q.on_disk, q.quantization) == (
        6, 3, 2, True, "int8"
    )  # fmt: skip
    monkeypatch.setenv("ASKDOCS_QDRANT__SHARD_NUMBER", "")  # as compose passes an unset ${VAR:-}
    assert load_settings(_env_file=None).qdrant.shard_number is None


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"REPLICATION_FACTOR": "2", "WRITE_CONSISTENCY_FACTOR": "3"},
            "ASKDOCS_QDRANT__WRITE_CONSISTENCY_FACTOR (3) cannot exceed ASKDOCS_QDRANT__REPLICATION_FACTOR (2): a "
            "write would wait for more copies than each shard has; lower the first or raise the second",
        ),
        ({"WRITE_CONSISTENCY_FACTOR": "2"}, "WRITE_CONSISTENCY_FACTOR (2) cannot exceed ASKDOCS_QDRANT__REPLICATION"),
        ({"REPLICATION_FACTOR": "0"}, "ASKDOCS_QDRANT__REPLICATION_FACTOR: Input should be greater than or equal to 1"),
        ({"SHARD_NUMBER": "0"}, "ASKDOCS_QDRANT__SHARD_NUMBER: Input should be greater than or equal to 1"),
        ({"SHARD_NUMBER": "many"}, "ASKDOCS_QDRANT__SHARD_NUMBER: Input should be a valid integer"),
        ({"QUANTIZATION": "int4"}, "ASKDOCS_QDRANT__QUANTIZATION: Input should be 'none' or 'int8'"),
        ({"ON_DISK": "sometimes"}, "ASKDOCS_QDRANT__ON_DISK: Input should be a valid boolean"),
    ],
)
def test_bad_cluster_settings_are_refused_at_load_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(f"ASKDOCS_QDRANT__{name}", value)
    with pytest.raises(ConfigError) as refused:
        load_settings(_env_file=None)
    assert message in str(refused.value)
