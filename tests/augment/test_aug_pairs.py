"""A pair as the Listen tab draws it: the same two views as training's ``two_views`` for the same chain and seed,
reproducible, and described in words with the right units."""

from __future__ import annotations

import pytest
import torch

from core.augment import build_pipeline
from core.augment.pairs import build_chain, draw_pair, parameter_table, readable
from core.augment.views import two_views
from core.errors import ConfigError

ALL = ["pitch_shift", "time_stretch", "fade", "noise", "time_mask", "time_shift"]


@pytest.fixture(scope="module")
def wave() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    t = torch.arange(16000) / 16000
    return torch.sin(2 * torch.pi * 440 * t) * 0.5 + 0.01 * torch.randn(16000, generator=g)


def test_the_pair_is_trainings_two_views_for_the_same_chain_and_seed(wave):
    pair = draw_pair(wave, ALL, p=1.0, seed=11)
    chain = build_pipeline("all", preset="paper", p=1.0)  # the canonical order, as training builds it
    v1, v2, p1, p2 = two_views(wave[None], chain, 11, return_params=True)
    assert torch.equal(pair.view1, v1[0]) and torch.equal(pair.view2, v2[0])
    assert pair.steps1 == chain.describe(p1)[0] and pair.steps2 == chain.describe(p2)[0]
    assert pair.names == ["fade", "time_mask", "time_stretch", "pitch_shift", "time_shift", "noise"]


def test_same_seed_same_pair_next_seed_another(wave):
    a, b = draw_pair(wave, ALL, seed=5), draw_pair(wave, ALL, seed=5)
    assert torch.equal(a.view1, b.view1) and torch.equal(a.view2, b.view2) and a.steps1 == b.steps1
    c = draw_pair(wave, ALL, seed=6)
    assert not torch.equal(a.view1, c.view1) and a.steps1 != c.steps1
    assert not torch.equal(a.view1, a.view2)  # two independent views


def test_noise_colour_and_probability(wave):
    pair = draw_pair(wave, ["noise"], seed=1, noise_colors=["brown"], p=1.0)
    assert pair.steps1[0]["color"] == pair.steps2[0]["color"] == "brown"
    none = draw_pair(wave, ["noise", "fade"], seed=1, p=0.0)
    assert torch.equal(none.view1, wave) and all(not s["applied"] for s in none.steps1)
    assert [r[1] for r in parameter_table(none)] == ["not applied", "not applied"]


def test_readable_lines_carry_units():
    assert readable({"augmentation": "pitch_shift", "applied": True, "semitones": -3}) == "-3 semitones"
    assert readable({"augmentation": "time_mask", "applied": True, "start": 8000, "length": 1600}) == (
        "100 ms masked from 500 ms"
    )
    assert readable({"augmentation": "time_shift", "applied": True, "shift": -2400}) == "shifted -150 ms"
    assert readable({"augmentation": "noise", "applied": True, "color": "pink", "snr_db": 7.25}) == (
        "pink noise at 7.2 dB SNR"
    )
    assert readable({"augmentation": "fade", "applied": True, "fade_in": 4000, "fade_out": 800, "shape": "linear"}) == (
        "linear fade: in over 250 ms, out over 50 ms"
    )
    assert readable({"augmentation": "time_stretch", "applied": True, "rate": 0.8}).startswith("rate 0.800: slower")
    assert readable({"augmentation": "fade", "applied": False}) == "not applied"


@pytest.mark.parametrize(
    ("names", "kw", "match"),
    [
        ([], {}, "no augmentation chosen"),
        (["reverb"], {}, "reverb: unknown"),
        (["noise"], {"p": 1.5}, "outside"),
        (["noise"], {"noise_colors": ["blue"]}, "noise colours"),
        (["noise"], {"preset": "mine"}, "preset"),
    ],
)
def test_bad_choices_are_one_line(names, kw, match):
    with pytest.raises(ConfigError, match=match):
        build_chain(names, **kw)
