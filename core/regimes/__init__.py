"""Training regimes, one module each, and the model that pairs an encoder with a regime's head.

Training regimes (supervised, SimCLR, CLAR), one module each, and the model that pairs an encoder with a regime's head.
See :mod:`core.regimes.base` for what a regime owns.
"""

from core.regimes.base import Regime, split_views
from core.regimes.model import ClarModel, build_model, forward_batches
from core.regimes.registry import get_regime, regime_names, regimes

__all__ = [
    "ClarModel",
    "Regime",
    "build_model",
    "forward_batches",
    "get_regime",
    "regime_names",
    "regimes",
    "split_views",
]
