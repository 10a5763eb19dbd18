"""Properties every augmentation of this package shares: shape, finiteness, seeds, params, devices."""

import json
import os
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import soundfile as sf
import torch

from core.augment import AddNoise, Fade, TimeMask, TimeShift, build_augmentation

SR = 16000
FACTORIES = {
    "fade": lambda p: Fade(p=p),
    "noise": lambda p: AddNoise(p=p),
    "time_mask": lambda p: TimeMask(p=p),
    "time_mask_const": lambda p: TimeMask(p=p, fill="constant", value=0.5),
    "time_shift": lambda p: TimeShift(p=p),
    "time_shift_zero": lambda p: TimeShift(p=p, mode="zero"),
}


def _data_dir() -> Path:
    root = os.environ.get("CLAR_DATA_DIR")
    assert root, "set CLAR_DATA_DIR to the shared data folder (e.g. ../shared/data) to run these tests"
    return Path(root)


def _real_clips(n: int = 8, t: int = SR) -> torch.Tensor:
    """``n`` real speech-command and ESC-10 clips, cropped or zero-padded to ``t`` samples."""
    root = _data_dir()
    out = []
    for name, k in (("speech_commands", n // 2), ("esc10", n - n // 2)):
        paths = sorted((root / name / "audio").rglob("*.flac"))[:k]
        assert len(paths) == k, f"{root / name}: expected at least {k} FLAC clips"
        for p in paths:
            x, sr = sf.read(p, dtype="float32")
            assert sr == SR
            out.append(np.pad(x[:t], (0, max(0, t - len(x)))))
    return torch.from_numpy(np.stack(out))


@pytest.fixture(scope="module")
def real() -> torch.Tensor:
    return _real_clips()


@pytest.mark.parametrize("name", FACTORIES)
def test_shape_finite_and_input_untouched(name, real):
    aug = FACTORIES[name](1.0)
    batches = {
        "real": real,
        "silent": torch.zeros(4, SR),
        "short": real[:, : SR // 10].clone(),
        "short_silent": torch.zeros(3, SR // 10),
        "one_sample": torch.zeros(2, 1),
    }
    for label, x in batches.items():
        before = x.clone()
        y = aug(x, 0)
        assert y.shape == x.shape, label
        assert torch.isfinite(y).all(), label
        assert torch.equal(x, before), f"{label}: the input was modified"
        assert y.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()


@pytest.mark.parametrize("name", FACTORIES)
def test_seeds_and_per_example_params(name, real):
    aug = FACTORIES[name](0.5)
    x = real.repeat(4, 1)  # 32 examples
    y1, p1 = aug(x, 123, return_params=True)
    y2, p2 = aug(x, 123, return_params=True)
    assert torch.equal(y1, y2)
    assert all(torch.equal(p1[k], p2[k]) for k in p1)
    y3 = aug(x, 124)
    assert not torch.equal(y1, y3)
    assert 0 < int(p1["apply"].sum()) < x.shape[0]
    for k, v in p1.items():
        assert v.shape[0] == x.shape[0], k
        if k in ("fade_in", "snr_db", "start", "shift", "seed"):  # drawn, not measured from the (repeated) clips
            assert len(set(v.tolist())) > x.shape[0] // 2, f"{k}: examples should get different parameters"
    assert torch.equal(aug.apply(x, p1), y1)  # apply is deterministic given the parameters
    rows = json.loads(json.dumps(aug.describe(p1)))
    assert len(rows) == x.shape[0] and all(isinstance(r["applied"], bool) for r in rows)


@pytest.mark.parametrize("name", FACTORIES)
def test_p_zero_is_identity_and_float64(name, real):
    x = real[:4].double()
    assert torch.equal(FACTORIES[name](0.0)(x, 1), x)
    y = FACTORIES[name](1.0)(x, 1)
    assert y.dtype == torch.float64 and torch.isfinite(y).all()


def test_bad_batches():
    from core.errors import ConfigError

    for bad in (torch.zeros(10), torch.zeros(2, 3, 4), torch.zeros(2, 10, dtype=torch.int16), torch.zeros(2, 0)):
        with pytest.raises(ConfigError, match=r"\[B, T\]"):
            Fade()(bad)


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["fade", "noise", "time_mask", "time_shift", "time_shift_zero"])
def test_cuda_matches_cpu(name, real):
    aug = FACTORIES[name](0.5)
    x = real.repeat(4, 1)
    y_cpu, params = aug(x, 5, return_params=True)
    y_gpu, params_gpu = aug(x.cuda(), 5, return_params=True)
    assert y_gpu.is_cuda
    assert all(torch.equal(params[k], params_gpu[k]) for k in params)  # the same draws on every device
    if name == "noise" or name == "time_mask":
        # the noise itself comes from the device's generator: check its statistics, not its values
        mask = params["apply"]
        assert torch.isfinite(y_gpu).all()
        assert torch.equal(y_gpu.cpu()[~mask], x[~mask])
    else:
        torch.testing.assert_close(y_gpu.cpu(), y_cpu, atol=1e-5, rtol=0)


@pytest.mark.gpu
def test_cuda_generator_refused():
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="CPU"):
        Fade().randomize_parameters(torch.zeros(1, 10), torch.Generator(device="cuda"))


@pytest.mark.gpu
def test_cuda_noise_level():
    aug = build_augmentation("noise", p=1.0)
    x = _real_clips().cuda()
    y, params = aug(x, 2, return_params=True)
    noise_db = 20 * torch.log10((y - x).double().square().mean(dim=1).sqrt()).cpu()
    torch.testing.assert_close(noise_db, params["noise_db"], atol=0.05, rtol=0)


def test_gating_is_the_base_class_job():
    """Only the drawn examples reach ``_apply``, as a smaller batch with their own parameters."""
    from core.augment.base import Augmentation

    class Doubler(Augmentation):
        name = "doubler"
        seen: ClassVar[list] = []

        def _draw(self, x, generator):
            return {"k": torch.arange(x.shape[0], dtype=torch.float32)}

        def _apply(self, x, params):
            self.seen.append((x.shape[0], params["k"].tolist()))
            return x * 2 + params["k"].unsqueeze(1)

    aug = Doubler(p=0.5)
    x = torch.ones(4, 3)
    params = {"apply": torch.tensor([True, False, True, False]), "k": torch.tensor([0.0, 1.0, 2.0, 3.0])}
    y = aug.apply(x, params)
    assert Doubler.seen == [(2, [0.0, 2.0])]
    torch.testing.assert_close(y, torch.tensor([[2.0] * 3, [1.0] * 3, [4.0] * 3, [1.0] * 3]))
    assert torch.equal(x, torch.ones(4, 3))  # the input is never written into
    none = aug.apply(x, {**params, "apply": torch.zeros(4, dtype=torch.bool)})
    assert torch.equal(none, x) and none.data_ptr() != x.data_ptr() and len(Doubler.seen) == 1
