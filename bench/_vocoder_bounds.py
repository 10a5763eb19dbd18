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

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from bench._report import median_time
from core.augment import build_augmentation
from core.augment.kernels.phase_vocoder import chunk_size, hann_window

HEADER = [
    "threads", "clips", "augmentation", "ours clips/s", "no phase locking clips/s", "the FFTs alone clips/s",
    "best audiomentations clips/s", "ours / best", "no locking / best", "FFTs alone / best (ceiling)",
]  # fmt: skip


def fft_floor(x: torch.Tensor, n_fft: int, hop: int) -> Callable[[], None]:
    """The vocoder's analysis and synthesis FFTs alone on ``x`` [B, T], chunked like the vocoder."""
    n, length = x.shape
    frames = length // hop + 1
    step = chunk_size(x.device, frames * (n_fft // 2 + 1), n)
    window = hann_window(n_fft, x.device, x.dtype)

    def run() -> None:
        for i in range(0, n, step):
            spec = torch.fft.rfft(F.pad(x[i : i + step], (n_fft // 2, n_fft // 2)).unfold(-1, n_fft, hop) * window)
            torch.fft.irfft(spec, n=n_fft, dim=-1)

    return run


def bound_rows(
    x_np: np.ndarray,
    label: str,
    repeat: int,
    threads: int,
    best_am: dict[str, float],
    ours_run: Callable[..., Callable[[], None]],
) -> list[list]:
    """One row each for pitch shift and time stretch.

    ``best_am``: the best audiomentations clips/s per op (from the speed table); ``ours_run(names, p, x,
    **overrides)``: the speed table's own runner of ours. The FFT floor uses the shipped vocoder's frames.
    """
    x = torch.from_numpy(x_np)
    n = x.shape[0]
    vocoder = build_augmentation("time_stretch")
    t_floor = median_time(fft_floor(x, vocoder.n_fft, vocoder.hop), repeat)
    rows = []
    for name in ("pitch_shift", "time_stretch"):
        t_ours = median_time(ours_run((name,), 1.0, x), repeat)
        t_free = median_time(ours_run((name,), 1.0, x, phase_lock=False), repeat)
        best = best_am[name]
        rows.append([
            threads, label, name, f"{n / t_ours:.0f}", f"{n / t_free:.0f}", f"{n / t_floor:.0f}", f"{best:.0f}",
            f"{n / t_ours / best:.2f}x", f"{n / t_free / best:.2f}x", f"{n / t_floor / best:.2f}x",
        ])  # fmt: skip
        print("   ", rows[-1], flush=True)
    return rows
