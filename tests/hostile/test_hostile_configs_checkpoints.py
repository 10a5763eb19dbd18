"""Hostile configs and checkpoints: refused with a typed one-line error naming the file, in 10 s and 1 GiB."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import TrainConfig, load_config
from core.config.build import load_model_from_checkpoint
from core.errors import CheckpointError, ConfigError
from tests.hostile.bounded import assert_typed_and_bounded, run_bounded
from tests.hostile.generate import ATTACKS


@pytest.mark.parametrize("name", sorted(ATTACKS["config"]))
def test_hostile_config_is_refused_in_bounds(tmp_path: Path, name: str):
    path = ATTACKS["config"][name](tmp_path)
    body = f"def attack():\n    return load_config({str(path)!r})\n"
    report = run_bounded("from core.config import load_config", body)
    assert_typed_and_bounded(report, "ConfigError")
    assert path.name in report["message"]


@pytest.mark.parametrize("name", sorted(ATTACKS["checkpoint"]))
def test_hostile_checkpoint_is_refused_in_bounds(tmp_path: Path, name: str):
    path = ATTACKS["checkpoint"][name](tmp_path)
    body = f"def attack():\n    return load_model_from_checkpoint({str(path)!r})\n"
    report = run_bounded("from core.config.build import load_model_from_checkpoint", body)
    assert_typed_and_bounded(report, "ClarError")
    assert path.name in report["message"]
    assert "weights_only=False" not in report["message"]
    assert not (tmp_path / "pwned").exists(), "the pickled os.system call ran"


def test_each_checkpoint_attack_is_caught_by_its_own_guard(tmp_path: Path):
    expected = {
        "ckpt_giant_model": "hidden_dim=10000000 must be an integer in",
        "ckpt_over_parameter_limit": "M weights; the limit is 100 M",
        "ckpt_too_many_classes": "at most 10000",
        "ckpt_reference_bomb": "shared references are expanded",
        "ckpt_code_execution": r"refused: .*\(posix\.system\)",
        "ckpt_flipped_byte": "checksum does not match",
    }
    assert set(expected) == set(ATTACKS["checkpoint"])
    for name, match in expected.items():
        with pytest.raises((CheckpointError, ConfigError), match=match):
            load_model_from_checkpoint(ATTACKS["checkpoint"][name](tmp_path))


def test_each_config_attack_is_caught_by_its_own_guard(tmp_path: Path):
    expected = {
        "yaml_alias_bomb": "YAML aliases are not allowed",
        "yaml_not_utf8": "not UTF-8 text",
        "yaml_nan_lr": "optim.lr: nan is not a finite number",
        "yaml_inf_temperature": "loss.temperature: inf is not a finite number",
        "yaml_huge_file": "larger than the 1000000-byte limit",
        "yaml_deep_nesting": "nested",
        "yaml_unknown_model_option": "unknown option 'dropout'",
        "yaml_giant_model": "hidden_dim=10000000",
    }
    assert set(expected) == set(ATTACKS["config"])
    for name, match in expected.items():
        with pytest.raises(ConfigError, match=match):
            load_config(ATTACKS["config"][name](tmp_path))


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("optim.eps=-1e-8", "optim.eps: -1e-08 must be positive"),
        ("optim.lr=.nan", "optim.lr: nan is not a finite number"),
        ("model.options.dropout=0.1", "unknown option 'dropout'"),
        ("runtime.heartbeat_s=30", "at most a quarter of runtime.stale_after_s"),
        ("runtime.num_threads=100000", "runtime.num_threads"),
        ("data.num_samples=100000000000", "outside 0.1 s to 10 minutes"),
    ],
)
def test_bad_values_are_one_line_config_errors(override: str, match: str):
    with pytest.raises(ConfigError, match=match) as e:
        TrainConfig().with_overrides([override])
    assert "\n" not in str(e.value)
