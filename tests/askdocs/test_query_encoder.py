"""One question's vector without ``encode``: ONNX Runtime (exported from the real model, cached and checksummed) and
torch, both within cosine 0.9999 of sentence-transformers' ``encode`` on real questions, and safe across threads."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from askdocs.embedding import SentenceTransformerEmbedder, _run
from askdocs.query_encoder import MIN_COSINE, BatchedQueryEncoder, build_query_encoder, cache_key, checksum_ok

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


class Counting:
    """The real ONNX encoder, counting its runs; a question naming ``broken`` fails its whole run."""

    runtime = "onnx"

    def __init__(self, inner: Any) -> None:
        self.inner, self.runs = inner, 0

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        self.runs += 1
        if any("broken" in t for t in texts):
            raise RuntimeError("stand-in failure of the run")
        return np.asarray(self.inner.encode_many(texts))


def test_questions_asked_together_are_encoded_in_shared_runs_and_a_failed_run_fails_only_its_own(
    embedder: SentenceTransformerEmbedder, questions: list[str]
) -> None:
    onnx = embedder.query_encoder.inner  # type: ignore[attr-defined]
    counting = Counting(onnx)
    batched = BatchedQueryEncoder(counting, max_batch=8)
    asked = questions * 4
    with ThreadPoolExecutor(16) as pool:
        together = np.stack(list(pool.map(batched.encode, asked)))
    np.testing.assert_allclose(together, np.stack([onnx.encode(q) for q in asked]), atol=1e-5)
    assert counting.runs < len(asked) / 2  # shared runs (16 threads, at most 8 a run)

    def ask(text: str) -> str:
        try:
            batched.encode(text)
        except RuntimeError as exc:
            return str(exc)
        return "answered"

    mixed = [f"broken {q}" if i % 10 == 0 else q for i, q in enumerate(asked)]
    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(ask, mixed, timeout=60))
    failed = [o for o, q in zip(outcomes, mixed, strict=True) if q.startswith("broken")]
    assert failed and all(o == "stand-in failure of the run" for o in failed)
    assert batched.encode(questions[0]).shape == (embedder.dimension,)  # the turn was handed on: nothing hangs


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
