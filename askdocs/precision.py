"""Which number format the embedding model computes in: fp32, or bfloat16 where the CPU computes it in hardware.

bf16 runs the model inside ``torch.autocast("cpu", dtype=torch.bfloat16)``: the matrix products in bf16, the
weights and the normalisation in fp32. Measured here on the all-MiniLM-L6-v2 of askdocs (64 texts of about 240
tokens, AMD EPYC with AVX512-BF16): autocast and bf16 weights both 2.2x fp32's speed, but the lowest cosine to the
fp32 vectors 0.99998 with autocast against 0.9981 with the weights themselves in bf16; so autocast.

``auto`` (the default) takes bf16 when ``/proc/cpuinfo`` names a bf16 instruction set (AMX or AVX512-BF16) and the
bf16 vectors of a few fixed texts are within cosine ``MIN_COSINE`` of the fp32 ones; otherwise fp32, with one log
line saying why (a warning: the CLI and the service show warnings). ``bf16`` asks for it on any CPU (slow without
the hardware); ``fp32`` never.

On a GPU (``ASKDOCS_EMBEDDING__DEVICE=cuda``) the same setting holds with fp16, the GPU's fast format: ``auto``
takes fp16 when the check texts agree with fp32's within the same bound; ``fp16`` and ``bf16`` are honoured (bf16
needs an Ampere or later GPU). ``fp16`` on a CPU is refused: CPUs have no fast fp16 path in torch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from askdocs.errors import ConfigError

Precision = Literal["auto", "fp32", "bf16", "fp16"]
Computed = Literal["fp32", "bf16", "fp16"]
BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of CPUs that compute bf16 in hardware
MIN_COSINE = 0.999
CHECK_TEXTS = (
    "How many vacation days do I get?",
    "Employees may carry over up to five unused vacation days into the next calendar year; days above the limit "
    "expire on 31 March.",
    "Purchases of property, plant and equipment | (1,577) | (1,373) | (1,420)",
    "The pump on line 7 is inspected every 40 operating hours and its pressure logged before the valve is reset. " * 6,
    "Der Betriebsrat ist vor jeder Kündigung zu hören.",
    "SELECT name, count(*) FROM jobs WHERE state = 'failed' GROUP BY name;",
)
log = logging.getLogger("askdocs.embedding")
Encode = Callable[[Sequence[str], Computed], np.ndarray]  # (texts, number format) -> unit vectors


@dataclass(frozen=True, slots=True)
class Chosen:
    precision: Computed
    reason: str


def bf16_flag(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The bf16 instruction set the CPU names, or None (not named, or not Linux)."""
    try:
        words = set(cpuinfo.read_text(encoding="utf-8", errors="replace").split())
    except OSError:
        return None
    return next((flag for flag in BF16_FLAGS if flag in words), None)


def choose(requested: Precision, encode: Encode, flag: str | None, device: str = "cpu") -> Chosen:
    """The precision to run in on ``device`` (``cpu``, ``cuda``, ``cuda:N``), and why; ``encode`` embeds the check
    texts for the comparison; ``flag``: the CPU's bf16 instruction set (``bf16_flag``)."""
    if requested == "fp32":
        return Chosen("fp32", "ASKDOCS_EMBEDDING__PRECISION=fp32")
    gpu = device.startswith("cuda")
    if requested == "fp16" and not gpu:
        raise ConfigError(
            "ASKDOCS_EMBEDDING__PRECISION=fp16 is for a GPU (ASKDOCS_EMBEDDING__DEVICE=cuda); on a CPU use auto "
            "or bf16 (where the CPU computes it in hardware) or fp32"
        )
    target: Computed = "bf16" if requested == "bf16" or (requested == "auto" and not gpu) else "fp16"
    if requested == "auto" and not gpu and flag is None:
        return _fp32(f"this CPU names none of {', '.join(BF16_FLAGS)} in /proc/cpuinfo: no bf16 in hardware")
    lowest = float(np.min(np.sum(encode(CHECK_TEXTS, "fp32") * encode(CHECK_TEXTS, target), axis=1)))
    if requested == "auto" and lowest < MIN_COSINE:
        return _fp32(f"{target} vectors of the check texts were only cosine {lowest:.5f} to fp32's (< {MIN_COSINE})")
    if gpu:
        how = f"GPU {device}"
    else:
        how = f"CPU flag {flag}" if flag else "asked for, though the CPU names no bf16 instruction set: slow"
    chosen = Chosen(target, f"{how}; check texts within cosine {lowest:.5f} of fp32")
    log.info("embedding in %s: %s", target, chosen.reason)
    return chosen


def _fp32(reason: str) -> Chosen:
    log.warning("embedding in fp32: %s", reason)
    return Chosen("fp32", reason)
