"""Named augmentation sets for the paper's study: every single augmentation, every pair, and all of them."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from core.errors import ConfigError

CANONICAL_ORDER: tuple[str, ...] = ("fade", "time_mask", "time_stretch", "pitch_shift", "time_shift", "noise")
"""The six augmentations in the order the authors' code chains them (fade first, noise last)."""


def _build_sets() -> dict[str, tuple[str, ...]]:
    sets: dict[str, tuple[str, ...]] = {name: (name,) for name in CANONICAL_ORDER}
    for a, b in combinations(CANONICAL_ORDER, 2):
        sets[f"{a}+{b}"] = (a, b)
    sets["all"] = CANONICAL_ORDER
    return sets


AUGMENTATION_SETS: dict[str, tuple[str, ...]] = _build_sets()
"""Set name -> augmentation names: 6 singles, 15 pairs ``"a+b"`` (canonical order) and ``"all"``: 22 sets."""


def resolve_set(name_or_list: str | Sequence[str]) -> tuple[str, ...]:
    """Augmentation names for a set name, a ``"a+b"`` pair in either order, a comma list, or a list of names.

    Raises:
        ConfigError: an unknown set or augmentation name, a repeated name, or an empty selection.
    """
    if isinstance(name_or_list, str):
        key = name_or_list.strip()
        if key in AUGMENTATION_SETS:
            return AUGMENTATION_SETS[key]
        if "+" in key:
            parts = [s.strip() for s in key.split("+")]
            ordered = tuple(n for n in CANONICAL_ORDER if n in parts)
            if len(ordered) == len(parts) == len(set(parts)):
                return ordered
            raise ConfigError(
                f"augmentation set {key!r}: unknown; a set is 'all' or names of {', '.join(CANONICAL_ORDER)} "
                "joined by '+', each at most once"
            )
        names = [s.strip() for s in key.split(",") if s.strip()]
    else:
        names = [str(s).strip() for s in name_or_list]
    if not names:
        raise ConfigError("augmentation set: no augmentation named")
    unknown = [n for n in names if n not in CANONICAL_ORDER]
    if unknown:
        raise ConfigError(
            f"augmentation(s) {', '.join(map(repr, unknown))}: unknown, choose from {', '.join(CANONICAL_ORDER)} "
            f"or a set ({', '.join(list(AUGMENTATION_SETS)[:3])}, ..., all)"
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"augmentation set {names}: a name is repeated")
    return tuple(names)
