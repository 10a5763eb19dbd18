"""Named augmentation sets for the paper's study."""

import pytest

from core.augment import AUGMENTATION_SETS, CANONICAL_ORDER, resolve_set
from core.errors import ConfigError


def test_sets_cover_singles_pairs_and_all():
    assert len(AUGMENTATION_SETS) == 6 + 15 + 1
    assert AUGMENTATION_SETS["all"] == CANONICAL_ORDER
    assert resolve_set("noise+fade") == ("fade", "noise")
    assert resolve_set("fade+noise") == ("fade", "noise")
    assert resolve_set("pitch_shift,fade") == ("pitch_shift", "fade")
    assert resolve_set(["time_shift"]) == ("time_shift",)
    for bad in ("fade+fade", "fade+bogus", "bogus", "", "fade,fade"):
        with pytest.raises(ConfigError):
            resolve_set(bad)
