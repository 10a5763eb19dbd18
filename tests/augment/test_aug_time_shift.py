"""Time shift: the output equals torch.roll (or a zero-filled shift) by the reported amount."""

import numpy as np
import pytest
import torch

from core.augment import build_augmentation
from core.augment.time_shift import TimeShift


@pytest.mark.parametrize("mode", ["roll", "zero"])
def test_shift_matches_reference(mode):
    t = 1000
    x = torch.randn(48, t, generator=torch.Generator().manual_seed(1))
    aug = TimeShift(p=0.75, mode=mode)
    y, params = aug(x, 6, return_params=True)
    shifts = params["shift"]
    assert int(shifts.abs().max()) <= t // 2
    assert (shifts > 0).any() and (shifts < 0).any()
    for i in range(x.shape[0]):
        s = int(shifts[i]) if params["apply"][i] else 0
        if mode == "roll":
            ref = torch.roll(x[i], s)
        else:
            ref = np.zeros(t, dtype=np.float32)
            src = x[i].numpy()
            if s >= 0:
                ref[s:] = src[: t - s]
            else:
                ref[:s] = src[-s:]
            ref = torch.from_numpy(ref)
        assert torch.equal(y[i], ref), (i, s)


def test_authors_preset_8000_samples():
    aug = build_augmentation("time_shift", preset="authors", p=1.0)
    params = aug.randomize_parameters(torch.zeros(1, 1).expand(2000, 16000), 3)
    s = params["shift"]
    assert int(s.max()) <= 8000 and int(s.min()) >= -8000 and int(s.abs().max()) > 7900
    # on longer clips the authors' shift is still at most 8000 samples (0.5 s), not half the clip
    params = aug.randomize_parameters(torch.zeros(1, 1).expand(500, 80000), 3)
    assert int(params["shift"].abs().max()) <= 8000


def test_shift_capped_below_clip_length():
    aug = TimeShift(p=1.0, max_samples=8000, mode="zero")
    x = torch.randn(16, 1600)
    y, params = aug(x, 0, return_params=True)
    assert int(params["shift"].abs().max()) <= 1599
    assert y.shape == x.shape and torch.isfinite(y).all()


@pytest.mark.parametrize("mode", ["roll", "zero"])
def test_cpu_row_path_equals_batched_path(mode):
    """The CPU path (slice copies per row) and the accelerator path (one batched window gather) agree,
    including the extreme shifts 0 and +-(T - 1)."""
    t = 257
    x = torch.randn(9, t, generator=torch.Generator().manual_seed(3))
    shift = torch.tensor([0, 1, -1, t - 1, -(t - 1), 100, -100, 7, -128])
    aug = TimeShift(p=1.0, mode=mode)
    rows, batched = aug._apply_rows(x, shift), aug._apply_batched(x, shift)
    assert torch.equal(rows, batched)
    if mode == "roll":
        assert all(torch.equal(rows[i], torch.roll(x[i], int(s))) for i, s in enumerate(shift))
