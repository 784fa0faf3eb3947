"""One question's vector without ``encode``: ONNX Runtime (exported from the real model, cached and checksummed) and
torch, both within cosine 0.9999 of sentence-transformers' ``encode`` on real questions, and safe across threads."""

from __future__ import annotations

import hashlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from askdocs.embedding import SentenceTransformerEmbedder, _run
from askdocs.query_encoder import MIN_COSINE, build_query_encoder, cache_key, checksum_ok

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def questions(handbook_questions: list[dict[str, Any]]) -> list[str]:
    return [q["question"] for q in handbook_questions][:40]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("query-cache")


def encoded(embedder: SentenceTransformerEmbedder, texts: list[str]) -> np.ndarray:
    """Today's path: sentence-transformers' ``encode`` in fp32, one text at a time."""
    return np.stack([_run(embedder.model, [t], "fp32", 1)[0] for t in texts])


def reusing(embedder: SentenceTransformerEmbedder, **options: Any) -> SentenceTransformerEmbedder:
    """Another embedder on the session's loaded model (no second load), with its own query options."""
    other = SentenceTransformerEmbedder(**options)
    other._model, other._name, other._model_id = embedder.model, embedder.name, embedder.model_id
    return other


def folder_of(embedder: SentenceTransformerEmbedder) -> Path:
    from askdocs.embedding import default_model_path

    return default_model_path()


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_the_fast_path_gives_encodes_vectors_on_real_questions(
    embedder: SentenceTransformerEmbedder, questions: list[str], export_dir: Path, runtime: str
) -> None:
    fast = reusing(embedder, query_runtime=runtime, cache_dir=export_dir)
    assert fast.query_encoder.runtime == runtime
    vectors = np.stack([fast.embed_query(q) for q in questions])
    assert vectors.dtype == np.float32 and vectors.shape == (len(questions), fast.dimension)
    assert np.min(np.sum(vectors * encoded(embedder, questions), axis=1)) >= MIN_COSINE


def test_the_prefix_and_max_seq_length_are_respected(embedder: SentenceTransformerEmbedder, export_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer

    short = SentenceTransformer(str(folder_of(embedder)), device="cpu", local_files_only=True)
    short.max_seq_length = 24
    fast = reusing(embedder, query_prefix="query: ", cache_dir=export_dir)
    fast._model = short
    text = "What does the handbook say about carrying over vacation days into the next year " * 8
    want = _run(short, ["query: " + text], "fp32", 1)[0]
    got = fast.embed_query(text)
    assert fast.query_encoder.runtime == "onnx"
    assert float(np.dot(got, want)) >= MIN_COSINE
    untruncated = _run(embedder.model, ["query: " + text], "fp32", 1)[0]
    assert float(np.dot(got, untruncated)) < 0.99  # truncation made a difference, and the fast path made it too


def test_the_export_is_written_once_and_reused(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    assert reusing(embedder, cache_dir=tmp_path).query_encoder.runtime == "onnx"
    (onnx,) = (tmp_path / "query-onnx").glob("*.onnx")
    assert onnx.name == cache_key(folder_of(embedder), embedder.model) and checksum_ok(onnx)
    written = onnx.stat().st_mtime_ns
    assert reusing(embedder, cache_dir=tmp_path).query_encoder.runtime == "onnx"
    assert onnx.stat().st_mtime_ns == written  # loaded, not exported again
    assert sorted(p.suffix for p in onnx.parent.iterdir()) == [".json", ".onnx"]  # no partial files left


@pytest.mark.parametrize("damage", ["model bytes", "recorded checksum", "record missing"])
def test_a_damaged_or_mismatched_cache_file_is_exported_again(
    embedder: SentenceTransformerEmbedder, questions: list[str], tmp_path: Path, damage: str
) -> None:
    assert reusing(embedder, cache_dir=tmp_path).query_encoder.runtime == "onnx"
    (onnx,) = (tmp_path / "query-onnx").glob("*.onnx")
    record = onnx.with_suffix(".json")
    if damage == "model bytes":
        data = bytearray(onnx.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # inside the weights: ONNX Runtime would load it
        onnx.write_bytes(bytes(data))
    elif damage == "recorded checksum":
        record.write_text(json.dumps({"sha256": "0" * 64}))
    else:
        record.unlink()
    assert not checksum_ok(onnx)
    fast = reusing(embedder, cache_dir=tmp_path)
    assert fast.query_encoder.runtime == "onnx"
    assert json.loads(record.read_text())["sha256"] == hashlib.sha256(onnx.read_bytes()).hexdigest()
    vectors = np.stack([fast.embed_query(q) for q in questions[:5]])
    assert np.min(np.sum(vectors * encoded(embedder, questions[:5]), axis=1)) >= MIN_COSINE


def test_onnx_vectors_far_from_torchs_fall_back_to_torch(
    embedder: SentenceTransformerEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A cached export of another model (here: a CLS-pooled export put in the mean-pooled one's place, checksum
    and all) passes its checksum but fails the comparison with torch: one warning, and torch answers."""
    from askdocs.query_encoder import export

    name = cache_key(folder_of(embedder), embedder.model)
    export(embedder.model, "cls", tmp_path / "query-onnx" / name)
    with caplog.at_level(logging.WARNING, logger="askdocs.embedding"):
        encoder = build_query_encoder(embedder.model, folder_of(embedder), "onnx", tmp_path, 2)
    assert encoder.runtime == "torch"
    assert [r.message for r in caplog.records if "query embedding in torch" in r.message]


def test_sixteen_threads_get_the_sequential_vectors(
    embedder: SentenceTransformerEmbedder, questions: list[str]
) -> None:
    assert embedder.query_encoder.runtime == "onnx"
    sequential = np.stack([embedder.embed_query(q) for q in questions])
    with ThreadPoolExecutor(16) as pool:
        concurrent = np.stack(list(pool.map(embedder.embed_query, questions * 4)))
    np.testing.assert_allclose(concurrent, np.tile(sequential, (4, 1)), atol=1e-5)


def test_a_model_the_fast_paths_do_not_know_is_embedded_with_encode(
    embedder: SentenceTransformerEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling

    max_pooled = SentenceTransformer(modules=[embedder.model[0], Pooling(384, pooling_mode="max")], device="cpu")
    with caplog.at_level(logging.WARNING, logger="askdocs.embedding"):
        encoder = build_query_encoder(max_pooled, folder_of(embedder), "onnx", tmp_path, 2)
    assert encoder.runtime == "encode" and not (tmp_path / "query-onnx").exists()
    assert [r.message for r in caplog.records if "no fast path" in r.message]
    text = "How many vacation days do I get?"
    assert float(np.dot(encoder.encode(text), _run(max_pooled, [text], "fp32", 1)[0])) >= MIN_COSINE
