"""One question's vector, without sentence-transformers' ``encode`` machinery: the model's fast tokenizer, then the
transformer, mean (or CLS) pooling and normalisation, in ONNX Runtime (default) or straight in torch.

Measured here (2 cores, AVX512-BF16 EPYC, 200 SQuAD dev questions, medians of one run; docs/PERFORMANCE.md):
``model.encode`` 8.9 ms, torch without ``encode`` 7.6 ms, ONNX Runtime fp32 2.1 ms, all within cosine 0.99999
of ``encode``. So ``ASKDOCS_EMBEDDING__QUERY_RUNTIME=onnx`` is the default and ``torch`` the fallback.

The ONNX file is exported from the loaded model on first use (about 2 s) and cached under the data directory's
``cache/query-onnx/``, named by a key over the model folder's files, the pooling, the export's versions; a JSON
file beside it records the SHA-256 of the ``.onnx``. A file whose checksum does not match, or that ONNX Runtime
cannot load, is exported again. Before use the ONNX vectors of fixed texts are compared with torch's: below cosine
``MIN_COSINE`` (or without onnxruntime, or when the export fails) the torch path is used, with one log line.

Both paths are safe to call from many threads at once: an ONNX Runtime session's ``run`` is, and so is a torch
module's forward in inference mode; the tokenizer is a private copy whose truncation is set once, before use.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from askdocs.precision import CHECK_TEXTS

QueryRuntime = Literal["onnx", "torch"]
MIN_COSINE = 0.9999
EXPORT_VERSION = 1  # bump when the exported graph changes: the cache key changes with it
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
log = logging.getLogger("askdocs.embedding")


class QueryEncoder(Protocol):
    """One text (the prefix already on it) in, its unit vector out; safe to call from many threads."""

    runtime: str  # "onnx", "torch", or "encode" (sentence-transformers' own, for models the others do not know)

    def encode(self, text: str) -> np.ndarray: ...


class BatchEncoder(Protocol):
    """Several texts in one run."""

    runtime: str

    def encode_many(self, texts: Sequence[str]) -> np.ndarray: ...


def build_query_encoder(
    model: Any, folder: Path, runtime: QueryRuntime, cache_dir: Path | None, threads: int
) -> QueryEncoder:
    """The fast path for ``model`` (a SentenceTransformer loaded from ``folder``): ``runtime`` if it is usable,
    else torch's. ``threads``: ONNX Runtime's threads per question."""
    pooling = _pooling(model)
    if pooling is None:
        log.warning("query embedding with encode: no fast path for a model of modules %s", _modules(model))
        return EncodeQueryEncoder(model)
    torch_encoder = TorchQueryEncoder(model, pooling)
    if runtime == "torch":
        return torch_encoder
    if cache_dir is None:
        log.info("query embedding in torch: no cache folder for the ONNX export was given")
        return torch_encoder
    try:
        onnx = OnnxQueryEncoder.load_or_export(
            model, pooling, cache_dir / "query-onnx" / cache_key(folder, model), threads
        )
    except Exception as exc:  # onnxruntime missing, an export the installed torch cannot make: torch still works
        log.warning("query embedding in torch: the ONNX path failed (%s: %s)", type(exc).__name__, exc)
        return torch_encoder
    lowest = _lowest_cosine(onnx, torch_encoder)
    if lowest < MIN_COSINE:
        log.warning("query embedding in torch: ONNX vectors only cosine %.6f to torch's (< %s)", lowest, MIN_COSINE)
        return torch_encoder
    return BatchedQueryEncoder(onnx)


def _modules(model: Any) -> list[str]:
    return [type(m).__name__ for m in model]


def _pooling(model: Any) -> str | None:
    """``mean`` or ``cls`` for a Transformer + Pooling [+ Normalize] model; None for anything else."""
    names = _modules(model)
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    mode = model[1].get_config_dict().get("pooling_mode")
    return str(mode) if mode in ("mean", "cls") else None


def _tokenizer(model: Any) -> Any:
    """A private copy of the model's fast tokenizer, truncating at the model's max_seq_length, never padding."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(model.tokenizer.backend_tokenizer.to_str())
    tokenizer.enable_truncation(int(model.max_seq_length))
    tokenizer.no_padding()
    return tokenizer


def _lowest_cosine(a: QueryEncoder, b: QueryEncoder, texts: Sequence[str] = CHECK_TEXTS) -> float:
    return min(float(np.dot(a.encode(t), b.encode(t))) for t in texts)


class EncodeQueryEncoder:
    runtime = "encode"

    def __init__(self, model: Any) -> None:
        self._model = model

    def encode(self, text: str) -> np.ndarray:
        vectors = self._model.encode([text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors[0], dtype=np.float32)


class TorchQueryEncoder:
    runtime = "torch"

    def __init__(self, model: Any, pooling: str) -> None:
        self._transformer = model[0].auto_model.eval()
        self._tokenizer = _tokenizer(model)
        self._pooling = pooling

    def encode(self, text: str) -> np.ndarray:
        import torch

        e = self._tokenizer.encode(text)
        with torch.inference_mode():
            out = self._transformer(
                input_ids=torch.tensor([e.ids]),
                attention_mask=torch.tensor([e.attention_mask]),
                token_type_ids=torch.tensor([e.type_ids]),
            ).last_hidden_state[0]
            vector = out[0] if self._pooling == "cls" else out.mean(0)  # one text: no padding to mask
            vector = torch.nn.functional.normalize(vector, dim=0)
        return np.asarray(vector.numpy(), dtype=np.float32)


class OnnxQueryEncoder:
    runtime = "onnx"

    def __init__(self, session: Any, tokenizer: Any) -> None:
        self._session = session
        self._tokenizer = tokenizer

    @classmethod
    def load_or_export(cls, model: Any, pooling: str, path: Path, threads: int) -> OnnxQueryEncoder:
        """A session on the export at ``path``, made (again) when it is missing or its checksum is off."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # shared cores: no busy wait
        if not checksum_ok(path):
            export(model, pooling, path)
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a file that passed its checksum but ORT refuses: make it again, once
            log.warning("the cached query model %s could not be loaded (%s); exporting it again", path, exc)
            export(model, pooling, path)
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return cls(session, _tokenizer(model))

    def encode(self, text: str) -> np.ndarray:
        return self.encode_many([text])[0]

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        """Several texts in one run, padded to the longest (the graph's pooling leaves the padding out)."""
        encodings = self._tokenizer.encode_batch(list(texts))
        width = max(len(e.ids) for e in encodings)
        feed = {name: np.zeros((len(texts), width), dtype=np.int64) for name in INPUTS}
        for row, e in enumerate(encodings):
            for name, ids in zip(INPUTS, _ids(e), strict=True):
                feed[name][row, : len(ids)] = ids
        return np.asarray(self._session.run(None, feed)[0], dtype=np.float32)


class BatchedQueryEncoder:
    """Questions asked while a run is under way are encoded together in the next run: one thread (the first to
    find no run under way) runs the waiting questions, up to ``max_batch``, until its own is done, then hands the
    turn to the first still waiting. A question alone runs at once, as before. A run of 8 short questions costs
    about half the CPU per question of 8 runs of one (docs/PERFORMANCE.md, ``bench/query_embed.py``)."""

    def __init__(self, inner: BatchEncoder, max_batch: int = 16) -> None:
        self.runtime = inner.runtime
        self.inner = inner  # one run per call, unbatched (bench/query_embed.py compares)
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Question] = []
        self._running = False

    def encode(self, text: str) -> np.ndarray:
        mine = _Question(text)
        with self._lock:
            self._waiting.append(mine)
            leads, self._running = not self._running, True
        if not leads:
            mine.turn.wait()
            if mine.finished:
                return mine.answer()
        try:  # this thread's turn: run the waiting questions until its own is done
            while not mine.finished:
                with self._lock:
                    batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
                self._run(batch)
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting[0].turn.set()  # not finished: it wakes to take the turn
                else:
                    self._running = False
        return mine.answer()

    def _run(self, batch: list[_Question]) -> None:
        try:
            vectors = self.inner.encode_many([q.text for q in batch])
        except Exception as exc:  # every question of the run gets the error, raised in its own thread
            for q in batch:
                q.finish(None, exc)
            return
        for q, vector in zip(batch, vectors, strict=True):
            q.finish(vector, None)


class _Question:
    __slots__ = ("error", "finished", "text", "turn", "vector")

    def __init__(self, text: str) -> None:
        self.text = text
        self.turn = threading.Event()  # set when it is answered, or when its thread is to run the next batch
        self.vector: np.ndarray | None = None
        self.error: Exception | None = None
        self.finished = False

    def finish(self, vector: np.ndarray | None, error: Exception | None) -> None:
        self.vector, self.error, self.finished = vector, error, True
        self.turn.set()

    def answer(self) -> np.ndarray:
        if self.error is not None:
            raise self.error
        assert self.vector is not None
        return self.vector


def _ids(encoding: Any) -> tuple[list[int], list[int], list[int]]:
    return encoding.ids, encoding.attention_mask, encoding.type_ids


def cache_key(folder: Path, model: Any) -> str:
    """The export's file name: a digest of what it depends on, the model folder's files (weights, configs,
    tokenizer; its modules' configs), the modules, the torch version and this module's export version."""
    import torch

    digest = hashlib.sha256(f"{EXPORT_VERSION}|{OPSET}|{torch.__version__}|{_modules(model)}".encode())
    files = sorted(p for p in folder.iterdir() if p.is_file()) + sorted(folder.glob("*/config.json"))
    for file in files:
        digest.update(f"{file.relative_to(folder)}:{_sha256(file)}|".encode())
    return f"{digest.hexdigest()[:24]}-{_pooling(model)}.onnx"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_ok(path: Path) -> bool:
    """The cached export is there and its bytes are the ones recorded when it was written."""
    record = path.with_suffix(".json")
    try:
        expected = json.loads(record.read_text(encoding="utf-8"))["sha256"]
        return path.is_file() and _sha256(path) == expected
    except (OSError, ValueError, KeyError, TypeError):
        return False


def export(model: Any, pooling: str, path: Path) -> None:
    """The transformer with its pooling and normalisation as one ONNX graph, written whole or not at all."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial")
    example = tuple(torch.ones(1, 8, dtype=torch.long) for _ in INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS} | {"embedding": {0: "batch"}}
    # The tracer warns where transformers branches on shapes; the traced graph is checked against torch after.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _pooled_module()(copy.deepcopy(model[0].auto_model).eval(), pooling),
            example,
            str(partial),
            input_names=list(INPUTS),
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    record = {"sha256": _sha256(partial), "pooling": pooling, "export_version": EXPORT_VERSION}
    os.replace(partial, path)
    partial_record = partial.with_suffix(".json-partial")
    partial_record.write_text(json.dumps(record) + "\n", encoding="utf-8")
    os.replace(partial_record, path.with_suffix(".json"))
    log.info("exported the query model to %s", path)


def _pooled_module() -> Any:
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, transformer: Any, pooling: str) -> None:
            super().__init__()
            self.transformer = transformer
            self.cls = pooling == "cls"

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            if self.cls:
                pooled = out[:, 0]
            else:
                weights = attention_mask.unsqueeze(-1).to(out.dtype)
                pooled = (out * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    return Pooled
