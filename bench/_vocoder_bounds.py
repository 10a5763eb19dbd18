"""How far the vocoder augmentations can go: ours against ours without phase locking and against their bare FFTs.

For pitch shift and time stretch (each at p = 1), in the same process and thread count as the speed table, timed
the same way (median of ``repeat`` runs after a warm-up, fresh draws):

* **ours**: the augmentation as shipped (identity phase locking on);
* **no phase locking**: the same augmentation with ``phase_lock=False``, the cost of the peak search removed
  (a lower quality setting: click spacing drifts by ~10 % instead of ~1 %, so it is not what ships);
* **the FFTs alone**: the analysis ``rfft`` and synthesis ``irfft`` of the vocoder's frames (512 samples, hop
  128) at rate 1, in the chunks the vocoder uses, with nothing in between. No STFT vocoder with these frames
  can be faster; its ratio to the best audiomentations backend is the ceiling of ours.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from bench._report import time_calls
from core.augment import build_augmentation
from core.augment.kernels.phase_vocoder import chunk_size, hann_window

N_FFT, HOP = 512, 128
HEADER = [
    "threads", "clips", "augmentation", "ours clips/s", "no phase locking clips/s", "the FFTs alone clips/s",
    "best audiomentations clips/s", "ours / best", "no locking / best", "FFTs alone / best (ceiling)",
]  # fmt: skip


def _median(fn: Callable[[], object], repeat: int) -> float:
    return statistics.median(time_calls(fn, repeat=repeat, warmup=1))


def fft_floor(x: torch.Tensor) -> Callable[[], None]:
    """The vocoder's analysis and synthesis FFTs alone on ``x`` [B, T], chunked like the vocoder."""
    n, length = x.shape
    frames = length // HOP + 1
    step = chunk_size(x.device, frames * (N_FFT // 2 + 1), n)
    window = hann_window(N_FFT, x.device, x.dtype)

    def run() -> None:
        for i in range(0, n, step):
            spec = torch.fft.rfft(F.pad(x[i : i + step], (N_FFT // 2, N_FFT // 2)).unfold(-1, N_FFT, HOP) * window)
            torch.fft.irfft(spec, n=N_FFT, dim=-1)

    return run


def _ours(name: str, x: torch.Tensor, **overrides: object) -> Callable[[], None]:
    aug = build_augmentation(name, p=1.0, **overrides)
    seeds = iter(range(1_000_000))
    return lambda: aug(x, next(seeds))


def bound_rows(x_np: np.ndarray, label: str, repeat: int, threads: int, best_am: dict[str, float]) -> list[list]:
    """One row each for pitch shift and time stretch; ``best_am``: the best audiomentations clips/s per op."""
    x = torch.from_numpy(x_np)
    n = x.shape[0]
    t_floor = _median(fft_floor(x), repeat)
    rows = []
    for name in ("pitch_shift", "time_stretch"):
        t_ours = _median(_ours(name, x), repeat)
        t_free = _median(_ours(name, x, phase_lock=False), repeat)
        best = best_am[name]
        rows.append([
            threads, label, name, f"{n / t_ours:.0f}", f"{n / t_free:.0f}", f"{n / t_floor:.0f}", f"{best:.0f}",
            f"{n / t_ours / best:.2f}x", f"{n / t_free / best:.2f}x", f"{n / t_floor / best:.2f}x",
        ])  # fmt: skip
        print("   ", rows[-1], flush=True)
    return rows
