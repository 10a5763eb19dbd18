"""Fade envelopes against torchaudio.transforms.Fade and the shape formulas."""

import math

import numpy as np
import pytest
import torch
import torchaudio

from core.augment.fade import FADE_SHAPES, Fade, fade_curve, fade_envelope

TORCHAUDIO_NAMES = {
    "linear": "linear",
    "logarithmic": "logarithmic",
    "exponential": "exponential",
    "qsin": "quarter_sine",
    "hsin": "half_sine",
}

FORMULAS = {
    "linear": lambda u: u,
    "logarithmic": lambda u: np.log10(0.1 + u) + 1,
    "exponential": lambda u: 2.0 ** (u - 1) * u,
    "qsin": lambda u: np.sin(u * np.pi / 2),
    "hsin": lambda u: np.sin(u * np.pi - np.pi / 2) / 2 + 0.5,
}


@pytest.mark.parametrize("shape", FADE_SHAPES)
@pytest.mark.parametrize(("t", "fin", "fout"), [(1000, 300, 200), (1000, 0, 500), (1000, 1, 1), (37, 18, 2)])
def test_envelope_matches_torchaudio(shape, t, fin, fout):
    ref = torchaudio.transforms.Fade(fin, fout, TORCHAUDIO_NAMES[shape])(torch.ones(1, t))
    idx = torch.tensor([FADE_SHAPES.index(shape)])
    env = fade_envelope(t, torch.tensor([fin]), torch.tensor([fout]), idx)
    torch.testing.assert_close(env, ref, atol=1e-6, rtol=0)


@pytest.mark.parametrize("shape", FADE_SHAPES)
def test_curve_matches_formula(shape):
    u = np.linspace(0, 1, 501)
    want = np.clip(FORMULAS[shape](u), 0, 1)
    got = fade_curve(shape, torch.from_numpy(u)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert got[0] == pytest.approx(0.0, abs=1e-12) and got[-1] == pytest.approx(1.0)


def test_batched_fade_uses_each_examples_params():
    t = 2000
    x = torch.randn(64, t, generator=torch.Generator().manual_seed(0))
    aug = Fade(p=0.7)
    y, params = aug(x, 11, return_params=True)
    assert len(set(params["shape"].tolist())) == len(FADE_SHAPES)  # every shape drawn somewhere
    for i in range(x.shape[0]):
        if not params["apply"][i]:
            assert torch.equal(y[i], x[i])
            continue
        name = FADE_SHAPES[int(params["shape"][i])]
        fin, fout = int(params["fade_in"][i]), int(params["fade_out"][i])
        assert 0 <= fin <= t // 2 and 0 <= fout <= t // 2
        u_in = np.linspace(0, 1, fin)
        env = np.ones(t)
        env[:fin] *= np.clip(FORMULAS[name](u_in), 0, 1)
        env[t - fout :] *= np.clip(FORMULAS[name](1 - np.linspace(0, 1, fout)), 0, 1)  # torchaudio's fade-out
        np.testing.assert_allclose(y[i].numpy(), x[i].numpy() * env, atol=1e-5)


def test_describe_names_shape_and_subset():
    aug = Fade(p=1.0, shapes=("qsin", "half_sine"))
    params = aug.randomize_parameters(torch.zeros(40, 100), 0)
    names = {d["shape"] for d in aug.describe(params)}
    assert names == {"qsin", "hsin"}


def test_bad_settings():
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="shapes"):
        Fade(shapes=("cubic",))
    with pytest.raises(ConfigError, match="max_in"):
        Fade(max_in=0.8)
    with pytest.raises(ConfigError, match="p="):
        Fade(p=1.5)
    assert math.isclose(Fade().max_out, 0.5)
