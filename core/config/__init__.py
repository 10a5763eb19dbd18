"""The training configuration: the schema, YAML files with ``defaults:`` chains, overrides and provenance.

>>> from core.config import load_config
>>> cfg = load_config("smoke", ["optim.lr=3e-4"])   # configs/smoke.yaml, one override, validated

Overrides use dotted keys, e.g. ``optim.lr=3e-4`` or ``data.max_train_clips=null``; the value is parsed as YAML
and checked against the field's type. Unknown keys and wrong types raise :class:`~core.errors.ConfigError`
naming the key.
"""

from core.config.overrides import apply_overrides, parse_override
from core.config.provenance import git_commit, provenance
from core.config.schema import (
    AMP_MODES,
    CONFIGS_DIR,
    NORMALIZE_MODES,
    OPTIMIZERS,
    RENAMED_KEYS,
    SCHEDULES,
    AugmentConfig,
    EvalConfig,
    FeaturesConfig,
    LossConfig,
    ModelConfig,
    OptimConfig,
    RuntimeConfig,
    ScheduleConfig,
    TrainConfig,
)
from core.config.yaml_files import deep_merge, load_config, load_yaml_dict, resolve_config_path
from core.data.config import DataConfig

__all__ = [
    "AMP_MODES",
    "CONFIGS_DIR",
    "NORMALIZE_MODES",
    "OPTIMIZERS",
    "RENAMED_KEYS",
    "SCHEDULES",
    "AugmentConfig",
    "DataConfig",
    "EvalConfig",
    "FeaturesConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "RuntimeConfig",
    "ScheduleConfig",
    "TrainConfig",
    "apply_overrides",
    "deep_merge",
    "git_commit",
    "load_config",
    "load_yaml_dict",
    "parse_override",
    "provenance",
    "resolve_config_path",
]
