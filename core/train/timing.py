"""Wall time per training stage (input, augment, features, model), as shares of a step."""

from __future__ import annotations

import time
from collections import defaultdict

import torch


class StageTimer:
    """Accumulates wall time per stage (``input``, ``augment``, ``features``, ``model``) in seconds.

    With ``sync=True`` the device is synchronised before each reading, so GPU time lands in the right stage.
    """

    def __init__(self, device: torch.device, sync: bool = False) -> None:
        self.device = torch.device(device)
        self.sync = sync
        self.totals: dict[str, float] = defaultdict(float)
        self._t = time.perf_counter()

    def _now(self) -> float:
        if self.sync and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elif self.sync and self.device.type == "mps":
            torch.mps.synchronize()
        return time.perf_counter()

    def start(self) -> None:
        """Start timing the next stage now."""
        self._t = self._now()

    def lap(self, stage: str) -> None:
        """Charge the time since the last lap (or start) to ``stage``."""
        t = self._now()
        self.totals[stage] += t - self._t
        self._t = t

    def shares(self) -> dict[str, float]:
        """Each stage's fraction (0..1) of the total time."""
        total = sum(self.totals.values()) or 1.0
        return {k: v / total for k, v in self.totals.items()}
