"""The trivial baseline every learned number is reported beside: logistic regression on log-Mel statistics.

Each clip becomes the mean and the standard deviation over time of every bin of its log-power Mel spectrogram
(CLAR's third channel, :class:`core.features.ClarFeatures`, in dB): 2 x 128 numbers, no learning. A standardised
multinomial logistic regression (scikit-learn) is fitted on the labelled training clips, with the same label
fractions and rounding as training (:func:`core.data.labels.labelled_fraction`: ``max(1, round(f * n_c))`` per
class), and scored once on the test split. Its inverse regularisation ``C`` is chosen on the validation clips when
there are any (a grid of 5), else it is 1. If a learned encoder cannot beat this, it has learned little.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from core.data.labels import labelled_fraction
from core.errors import ConfigError

if TYPE_CHECKING:
    from core.data.base import AudioDataset

C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)
"""The values of ``C`` tried on the validation clips."""


def mel_stats(waveforms: Any, preset: str = "paper", batch_size: int = 64) -> np.ndarray:
    """float64 [N, 2 * n_mels]: the per-bin mean, then the per-bin standard deviation, of each clip's log-Mel (dB).

    Args:
        waveforms: [N, T] clips at 16 kHz (numpy, torch or a memory map).
        preset: the feature preset (``paper`` or ``official``).
        batch_size: clips per pass.
    """
    from core.features import ClarFeatures

    extractor = ClarFeatures(preset)
    out = []
    with torch.inference_mode():
        for i in range(0, len(waveforms), batch_size):
            x = torch.from_numpy(
                np.array(waveforms[i : i + batch_size], dtype=np.float32)
            )  # copied: a map is read-only
            mel = extractor(x)[:, 2].double()  # [b, n_mels, frames]
            out.append(torch.cat([mel.mean(dim=2), mel.std(dim=2, correction=0)], dim=1).numpy())
    if not out:
        raise ConfigError("mel_stats: no clips")
    return np.concatenate(out)


@dataclass(frozen=True)
class BaselineResult:
    """One baseline fit.

    Attributes:
        top1: accuracy on the test clips (a fraction).
        test_clips: how many test clips.
        labelled: how many training clips kept their label.
        train_clips: how many training clips there were.
        label_fraction: the fraction asked for.
        C: the inverse regularisation used.
        valid_top1: accuracy on the validation clips for that ``C`` (None without validation clips).
    """

    top1: float
    test_clips: int
    labelled: int
    train_clips: int
    label_fraction: float
    C: float
    valid_top1: float | None

    def as_dict(self) -> dict[str, Any]:
        """The result as a plain dict (for JSON)."""
        return asdict(self)


def _fit(x: np.ndarray, y: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(x, y)


def fit_baseline(
    features: np.ndarray,
    labels: Sequence[int],
    train: np.ndarray,
    test: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    label_fraction: float = 1.0,
    seed: int = 0,
) -> BaselineResult:
    """Fit on the labelled rows of ``train``, choose ``C`` on ``valid`` (if any), score on ``test``.

    Raises:
        ConfigError: no test rows, or fewer than two classes among the labelled training rows.
    """
    y = np.asarray(labels, dtype=np.int64)
    train, test = np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)
    if test.size == 0:
        raise ConfigError("baseline: the test split has no clips")
    kept = labelled_fraction(y[train], label_fraction, seed)
    rows = train[kept >= 0]
    if np.unique(y[rows]).size < 2:
        raise ConfigError(f"baseline: {rows.size} labelled training clips cover fewer than two classes")
    c, valid_top1 = 1.0, None
    if valid is not None and len(valid):
        scores = {cv: float((_fit(features[rows], y[rows], cv).predict(features[valid]) == y[valid]).mean())
                  for cv in C_GRID}  # fmt: skip
        c = max(C_GRID, key=lambda cv: (scores[cv], -abs(np.log10(cv))))  # ties: the value nearest 1
        valid_top1 = scores[c]
    model = _fit(features[rows], y[rows], c)
    top1 = float((model.predict(features[test]) == y[test]).mean())
    return BaselineResult(top1, int(test.size), int(rows.size), int(train.size), float(label_fraction), c, valid_top1)


def dataset_baseline(
    dataset: AudioDataset,
    label_fractions: Sequence[float] = (1.0,),
    *,
    train_splits: Sequence[str] = ("train",),
    preset: str = "paper",
    seed: int = 0,
) -> list[BaselineResult]:
    """The baseline on ``dataset`` at each label fraction, scored on its test split.

    Trained on ``train_splits``; ``C`` is chosen on ``valid`` when that is not a training split.
    """
    feats = mel_stats(dataset.waveforms, preset)
    train = np.concatenate([dataset.indices(s) for s in train_splits])
    valid = dataset.indices("valid") if "valid" not in train_splits else None
    return [
        fit_baseline(feats, dataset.labels, train, dataset.indices("test"), valid, label_fraction=f, seed=seed)
        for f in label_fractions
    ]
