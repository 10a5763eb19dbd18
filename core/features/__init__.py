"""CLAR time-frequency features: log-power STFT, STFT phase and log-power Mel, batched on any device.

Public API: :class:`FeatureConfig`, :data:`FEATURE_PRESETS`, :func:`feature_config`, :class:`ClarFeatures`,
:class:`FeatureNormalizer`. Details and the exact definitions: docs/features.md.
"""

from core.features.config import FEATURE_PRESETS, FeatureConfig, feature_config
from core.features.extractor import ClarFeatures
from core.features.normalize import FeatureNormalizer

__all__ = ["FEATURE_PRESETS", "ClarFeatures", "FeatureConfig", "FeatureNormalizer", "feature_config"]
