"""The registry: augmentations by name, built from presets with overrides, and chains of them."""

import importlib.util

import pytest

from core.augment import (
    AUGMENTATIONS,
    CANONICAL_ORDER,
    AddNoise,
    Compose,
    Fade,
    build_augmentation,
    build_pipeline,
)
from core.errors import ConfigError


def test_registry_names_and_lazy_colleague_modules():
    assert set(AUGMENTATIONS) == set(CANONICAL_ORDER)
    assert AUGMENTATIONS["fade"] is Fade and AUGMENTATIONS["noise"] is AddNoise
    for name, module, cls in (
        ("pitch_shift", "core.augment.pitch_shift", "PitchShift"),
        ("time_stretch", "core.augment.time_stretch", "TimeStretch"),
    ):
        if importlib.util.find_spec(module) is None:
            with pytest.raises(ConfigError, match=module):
                AUGMENTATIONS[name]
        else:
            assert AUGMENTATIONS[name].__name__ == cls


def test_overrides_and_errors():
    aug = build_augmentation("noise", p=1.0, max_snr_db=10.0, colors=("pink",))
    assert aug.p == 1.0 and aug.max_snr_db == 10.0 and aug.colors == ("pink",)
    with pytest.raises(ConfigError, match="snr_max"):
        build_augmentation("noise", snr_max=3)
    with pytest.raises(ConfigError, match="preset"):
        build_augmentation("fade", preset="mine")
    with pytest.raises(ConfigError, match="unknown"):
        build_augmentation("reverb")


def test_build_pipeline():
    chain = build_pipeline("time_shift+fade", p=0.3, order="random")
    assert isinstance(chain, Compose) and chain.order == "random"
    assert [a.name for a in chain.augmentations] == ["fade", "time_shift"]
    assert all(a.p == 0.3 for a in chain.augmentations)
    authors = build_pipeline(["time_mask", "noise"], preset="authors", p=None)
    assert [a.p for a in authors.augmentations] == [0.25, 0.5]
