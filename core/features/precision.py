"""Full float32 (IEEE) precision for the feature maths on CUDA, whatever the TF32 settings of the program.

On Ampere and later GPUs, cuDNN convolutions use TF32 (10-bit mantissa) by default and matmuls do too after
``torch.set_float32_matmul_precision("high")``. The log-frequency DFT is a convolution whose terms cancel:
with TF32 its error is ~1e-3 of the frame's energy, i.e. several dB on bins 40-60 dB below a frame's peak. So
:func:`ieee_fp32` switches cuDNN convolutions and CUDA matmuls to IEEE float32 for the duration of a forward
pass and restores the previous settings afterwards (the settings are process-global: not thread-safe).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def _backends() -> list[object]:
    """The backend objects with an ``fp32_precision`` setting (torch >= 2.9); empty on older torch."""
    out = []
    cudnn_conv = getattr(torch.backends.cudnn, "conv", None)
    matmul = getattr(torch.backends.cuda, "matmul", None)
    for backend in (cudnn_conv, matmul):
        if backend is not None and hasattr(backend, "fp32_precision"):
            out.append(backend)
    return out


@contextmanager
def ieee_fp32(device: torch.device) -> Iterator[None]:
    """Within the block, CUDA convolutions and matmuls in float32 use IEEE precision (no TF32)."""
    if device.type != "cuda":
        yield
        return
    backends = _backends()
    saved = [b.fp32_precision for b in backends]
    try:
        for b in backends:
            b.fp32_precision = "ieee"
        yield
    finally:
        for b, value in zip(backends, saved, strict=True):
            b.fp32_precision = value
