"""The registry of training regimes: every module of :mod:`core.regimes` that defines ``REGIME``.

Adding a regime is adding a module; the registry finds it by listing the package (no list to edit). The order is
fixed (supervised, simclr, clar first, then any others alphabetically) so that forms and docs are stable.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

import core.regimes as package
from core.errors import ConfigError
from core.regimes.base import Regime

_FIRST = ("supervised", "simclr", "clar")
_NOT_REGIMES = ("base", "registry", "model")


@functools.cache
def regimes() -> dict[str, Regime]:
    """Every regime by name."""
    found: dict[str, Regime] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name in _NOT_REGIMES:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        regime = getattr(module, "REGIME", None)
        if isinstance(regime, Regime):
            found[regime.name] = regime
    order = [n for n in _FIRST if n in found] + sorted(n for n in found if n not in _FIRST)
    return {n: found[n] for n in order}


def regime_names() -> tuple[str, ...]:
    """The names accepted as ``model.regime``."""
    return tuple(regimes())


def get_regime(name: str) -> Regime:
    """The regime called ``name``; ConfigError naming the choices otherwise."""
    try:
        return regimes()[name]
    except KeyError:
        raise ConfigError(f"regime {name!r}: unknown, choose one of {', '.join(regimes())}") from None
