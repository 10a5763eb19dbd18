"""The Train form as data: every shipped config round-trips through the form unchanged, each change becomes the
override it should, and the values a user cannot see (a dataset's folds, clip length) follow the dataset."""

from __future__ import annotations

import pytest

from app.form import AUGMENT_MODES, config_values, fields, format_value, initial_values, overrides, shipped_configs
from core.config import TrainConfig, load_config, parse_override
from core.train.launcher import validate_overrides


def test_shipped_configs_are_runs_with_the_demo_first():
    names = shipped_configs()
    assert names[0] == "demo" and "smoke" in names and "paper/fsdd/clar_2d" in names
    assert not [n for n in names if n.endswith(("dataset", "base"))]


@pytest.mark.parametrize("name", shipped_configs())
def test_every_shipped_config_round_trips_unchanged(name):
    cfg = load_config(name)
    values = initial_values(cfg)
    assert overrides(cfg, values) == []
    for f in fields(values):  # every field shows a value it can take
        if f.kind in ("select", "radio"):
            assert values[f.name] in f.choices, (f.name, values[f.name])


def _changed(config: str, **changes) -> tuple[TrainConfig, list[str]]:
    cfg = load_config(config)
    values = {**initial_values(cfg), **changes}
    return cfg, overrides(cfg, values)


def test_changes_become_overrides_that_core_accepts():
    _, sets = _changed("paper/fsdd/clar_2d", epochs=3, lr=3e-4, regime="simclr", encoder="resnet18_1d", name="my run")
    assert sets == [
        "model.regime=simclr", "model.encoder=resnet18_1d", "schedule.epochs=3", "optim.lr=0.0003",
        'runtime.name="my run"',
    ]  # fmt: skip
    cfg, _, message = validate_overrides("paper/fsdd/clar_2d", sets)
    assert message is None and cfg.runtime.name == "my run" and cfg.input_kind == "waveform"


def test_another_dataset_resets_what_belonged_to_the_first():
    _, sets = _changed("paper/esc10/clar_2d", dataset="fsdd")
    assert "data.test_fold=null" in sets and "data.num_samples=null" in sets
    cfg, _, message = validate_overrides("paper/esc10/clar_2d", sets)
    assert message is None and cfg.data.test_fold is None and cfg.data.num_samples is None
    names = [f.name for f in fields({**initial_values(cfg), "dataset": "esc10"})]
    assert "test_fold" in names and "task" not in names
    names = [f.name for f in fields({**initial_values(cfg), "dataset": "nsynth"})]
    assert "task" in names and "test_group" in names and "test_fold" not in names


def test_a_custom_pick_is_joined_in_the_canonical_order():
    cfg = load_config("demo")
    values = {**initial_values(cfg), "aug_mode": AUGMENT_MODES[1], "aug_pick": ["noise", "fade", "pitch_shift"]}
    assert config_values(values)["augment.names"] == "fade+pitch_shift+noise"
    assert config_values({**values, "aug_pick": []})["augment.names"] == "none"
    again = initial_values(cfg.with_overrides(["augment.names=fade+pitch_shift+noise"]))
    assert again["aug_mode"] == AUGMENT_MODES[1] and again["aug_pick"] == ["fade", "pitch_shift", "noise"]


def test_an_out_of_range_value_is_refused_at_its_key():
    _, sets = _changed("demo", label_fraction=1.5)
    _, key, message = validate_overrides("demo", sets)
    assert key == "data.label_fraction" and "outside (0, 1]" in message
    _, sets = _changed("demo", aug_set="none", temperature=0.0)
    _, key, _ = validate_overrides("demo", sets)
    assert key == "loss.temperature"


@pytest.mark.parametrize(
    "value", ["plain", "a b", "yes", "1e-3", "12", "x: y", "#hash", "[1]", "o'neil", 'say "hi"', "/p/a.wav"]
)
def test_values_survive_the_command_line(value):
    # (the words null and none set an optional field to None: core's rule, so they are not names)
    assert parse_override(f"runtime.name={format_value(value)}") == ("runtime.name", value)
    assert TrainConfig().with_overrides([f"runtime.name={format_value(value)}"]).runtime.name == value
