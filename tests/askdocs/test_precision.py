"""The embedding precision: bf16 where the CPU computes it in hardware and its vectors match fp32's, else fp32 with
the reason logged; the real model in both, compared."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from askdocs.components import make_embedder
from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.errors import ConfigError
from askdocs.precision import CHECK_TEXTS, MIN_COSINE, bf16_flag, choose
from askdocs.settings import Settings


def test_the_cpu_flag_is_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor : 0\nflags : fpu sse2 avx512f avx512_bf16 amx_tile amx_bf16\n")
    assert bf16_flag(info) == "amx_bf16"
    info.write_text("processor : 0\nflags : fpu sse2 avx2 avx512f avx512_bf16\n")
    assert bf16_flag(info) == "avx512_bf16"
    info.write_text("processor : 0\nflags : fpu sse2 avx2\n")
    assert bf16_flag(info) is None
    assert bf16_flag(tmp_path / "missing") is None


def never(texts: Sequence[str], precision: str) -> np.ndarray:
    raise AssertionError("no check needed")


def unit(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True), dtype=np.float32)


def test_fp32_asked_or_no_bf16_in_hardware_is_fp32_without_a_check(caplog: pytest.LogCaptureFixture) -> None:
    assert choose("fp32", never, "amx_bf16").precision == "fp32"
    with caplog.at_level(logging.INFO, logger="askdocs.embedding"):
        chosen = choose("auto", never, None)
    assert chosen.precision == "fp32" and "no bf16 in hardware" in chosen.reason
    assert caplog.messages == [f"embedding in fp32: {chosen.reason}"]  # one line, saying why


def test_bf16_vectors_far_from_fp32_fall_back_to_fp32_when_auto(caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(0)
    exact = unit(rng.normal(size=(len(CHECK_TEXTS), 8)))
    rough = unit(exact + rng.normal(scale=0.2, size=exact.shape))  # cosine about 0.9

    def encode(texts: Sequence[str], precision: str) -> np.ndarray:
        assert list(texts) == list(CHECK_TEXTS)
        return exact if precision == "fp32" else rough

    with caplog.at_level(logging.INFO, logger="askdocs.embedding"):
        chosen = choose("auto", encode, "avx512_bf16")
    assert chosen.precision == "fp32" and f"(< {MIN_COSINE})" in chosen.reason, chosen
    assert len(caplog.messages) == 1
    assert choose("bf16", encode, "avx512_bf16").precision == "bf16"  # asked for: honoured, the cosine said
    near = choose("auto", lambda texts, precision: exact, "avx512_bf16")
    assert near.precision == "bf16" and near.reason == "CPU flag avx512_bf16; check texts within cosine 1.00000 of fp32"


def test_on_a_gpu_auto_means_fp16_checked_and_fp16_on_a_cpu_is_refused() -> None:
    rng = np.random.default_rng(1)
    exact = unit(rng.normal(size=(len(CHECK_TEXTS), 8)))
    asked: list[str] = []

    def encode(texts: Sequence[str], precision: str) -> np.ndarray:
        asked.append(precision)
        return exact

    chosen = choose("auto", encode, None, "cuda")  # no CPU flag matters on a GPU
    assert chosen.precision == "fp16" and chosen.reason.startswith("GPU cuda;") and asked == ["fp32", "fp16"]
    assert choose("bf16", encode, None, "cuda:1").precision == "bf16"
    assert choose("fp32", never, None, "cuda").precision == "fp32"
    with pytest.raises(ConfigError, match="fp16 is for a GPU"):
        choose("fp16", never, "amx_bf16", "cpu")


def test_a_gpu_asked_for_where_torch_sees_none_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    if torch.cuda.is_available():  # here: CPU torch, no GPU (the CUDA path is documented, not run)
        pytest.skip("torch sees a CUDA GPU here: the error for a missing one cannot arise")
    monkeypatch.setenv("ASKDOCS_EMBEDDING__DEVICE", "cuda")
    with pytest.raises(ConfigError, match="ASKDOCS_EMBEDDING__DEVICE=cuda, but torch sees no CUDA GPU"):
        make_embedder(Settings(_env_file=None))  # type: ignore[call-arg]
    monkeypatch.setenv("ASKDOCS_EMBEDDING__DEVICE", "gpu")
    with pytest.raises(ValueError, match="device"):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def both() -> tuple[SentenceTransformerEmbedder, SentenceTransformerEmbedder]:
    return SentenceTransformerEmbedder(precision="fp32"), SentenceTransformerEmbedder(precision="bf16")


def test_the_real_model_in_bf16_stays_within_the_bound_of_fp32(
    both: tuple[SentenceTransformerEmbedder, SentenceTransformerEmbedder],
) -> None:
    fp32, bf16 = both
    assert fp32.precision.precision == "fp32" and bf16.precision.precision == "bf16"
    texts = ["How many vacation days do I get?", "Capital expenditures | (312,126) | (172,187)", "word " * 300]
    a, b = fp32.embed_documents(texts), bf16.embed_documents(texts)
    assert a.dtype == b.dtype == np.float32 and a.shape == b.shape == (3, 384)
    cosines = np.sum(a * b, axis=1)
    assert cosines.min() >= MIN_COSINE and not np.array_equal(a, b), cosines  # close, and really computed apart
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)


def test_the_setting_reaches_the_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASKDOCS_EMBEDDING__PRECISION", "fp32")
    assert make_embedder(Settings(_env_file=None)).precision.precision == "fp32"  # type: ignore[call-arg]
    monkeypatch.setenv("ASKDOCS_EMBEDDING__PRECISION", "fp8")
    with pytest.raises(ValueError, match="precision"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_a_single_question_is_embedded_in_fp32_whatever_the_setting(
    both: tuple[SentenceTransformerEmbedder, SentenceTransformerEmbedder],
) -> None:
    fp32, bf16 = both
    question = "How many vacation days do I get?"
    assert np.array_equal(bf16.embed_query(question), fp32.embed_query(question))  # autocast costs more than it saves
    pair = [question, "Who approves my expense report?"]
    assert not np.array_equal(bf16.embed_documents(pair), fp32.embed_documents(pair))


@pytest.mark.parametrize("engine", ["embedded", "server"])
def test_the_index_records_the_model_and_each_precision_its_vectors_were_made_in(
    engine: str,
    both: tuple[SentenceTransformerEmbedder, SentenceTransformerEmbedder],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    from askdocs.index.edge import EdgeIndex
    from askdocs.index.server import ServerIndex
    from tests.conftest import ROOT, ingest_paths, make_ingestor

    def open_index() -> EdgeIndex | ServerIndex:
        if engine == "embedded":
            return EdgeIndex(tmp_path / "shard")
        url = request.getfixturevalue("qdrant_server").url
        return ServerIndex.connect(url, None, request.getfixturevalue("qdrant_collection"), 30)

    fp32, bf16 = both
    handbook = ROOT / "examples" / "handbook"
    index = open_index()
    assert index.stored_precisions() == () and index.stored_model() is None  # nothing written, nothing recorded
    ingest_paths(make_ingestor(fp32, index), handbook / "leave.html")
    assert index.stored_precisions() == ("fp32",) and index.stored_model() == "all-MiniLM-L6-v2"
    ingest_paths(make_ingestor(bf16, index), handbook / "expenses.html")
    ingest_paths(make_ingestor(bf16, index), handbook / "oncall.html")
    index.close()
    again = open_index()  # read back by another process's view of the same index
    assert again.stored_precisions() == ("fp32", "bf16") and again.stored_model() == "all-MiniLM-L6-v2"
    assert len(again.documents()) == 3
    again.close()
