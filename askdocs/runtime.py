"""The process environment askdocs runs in, set in this one place: no model hub, and torch polite on shared cores.

Applied (without overriding what the environment already says) by the CLI's ``main``, by the embedder before it
imports torch, and by the tests' conftest; the Makefile and the Dockerfile do not repeat them.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "HF_HUB_OFFLINE": "1",  # never reach a model hub: models are loaded by path
    "TRANSFORMERS_OFFLINE": "1",
    "OMP_WAIT_POLICY": "PASSIVE",  # an idle OpenMP spin slows single queries on shared cores; read at torch import
    "TOKENIZERS_PARALLELISM": "false",
    # oneDNN keeps a compiled kernel per matrix shape (1,024 by default), and every embedding batch's padded length
    # makes new shapes: the ingest's memory grew batch after batch with them (askdocs/memory.py, docs/PERFORMANCE.md)
    "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "8",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


def apply_defaults() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
