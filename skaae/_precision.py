"""Mixed precision: the context of the forward passes, and whether bfloat16 is native.

Re-exported by :mod:`skaae.training`, which uses them.
"""

import contextlib
import platform

import torch

__all__ = ["PRECISIONS", "has_native_bfloat16", "precision_context"]

PRECISIONS = ("float32", "bfloat16")
"""Values of ``precision``: plain float32, or bfloat16 autocast over float32 weights."""


def precision_context(device, precision):
    """The context of the forward passes for ``precision`` on ``device``.

    ``"float32"``: no change. ``"bfloat16"``: ``torch.autocast`` runs the
    matrix products in bfloat16 while the weights stay float32 (mixed
    precision); losses such as BCE-with-logits and MSE are autocast to
    float32. The cache of cast weights is off: an optimiser step updates the
    weights in place inside the context, and a cached cast would go on
    serving the old weights to the next phase's forward pass. Each weight is
    used once per forward pass, so the cache would save nothing anyway.
    """
    if precision == "float32":
        return contextlib.nullcontext()
    if precision != "bfloat16":
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    device_type = torch.device(device).type
    return torch.autocast(device_type, dtype=torch.bfloat16, cache_enabled=False)


def has_native_bfloat16(device):
    """Whether ``device`` multiplies bfloat16 matrices in hardware (None: unknown).

    On x86 CPUs that takes AVX512-BF16 or AMX; without them oneDNN emulates
    the bfloat16 products, which then run far slower than float32 (measured
    on a 2-core AVX2 EPYC: 1.8 GFLOP/s against 66 for float32 at 2048^3).
    On CUDA it takes compute capability 8.0 (Ampere) or later. Other CPUs
    (ARM) are not probed: None.
    """
    device = torch.device(device)
    if device.type == "cuda":
        try:
            return torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # torch releases before the argument existed
            return torch.cuda.get_device_capability(device)[0] >= 8
    if device.type == "cpu" and platform.machine().lower() in ("x86_64", "amd64"):
        cpu = torch.cpu
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        if not all(hasattr(cpu, name) for name in probes):
            return None
        return any(getattr(cpu, name)() for name in probes)
    return None
