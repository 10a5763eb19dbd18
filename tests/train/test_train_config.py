"""Config tree: YAML inheritance, --set overrides with type checks, validation, and every shipped config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config import CONFIGS_DIR, TrainConfig, load_config, parse_override, provenance
from core.errors import ConfigError

PAPER = sorted((CONFIGS_DIR / "paper").glob("*/*.yaml"))


def test_defaults_round_trip_through_json():
    cfg = TrainConfig()
    d = json.loads(json.dumps(cfg.to_dict()))
    assert TrainConfig.from_dict(d) == cfg


def test_inheritance_merges_sections_key_by_key(tmp_path: Path):
    (tmp_path / "base.yaml").write_text("optim:\n  lr: 0.5\n  name: sgd\ndata:\n  batch_size: 8\n")
    (tmp_path / "child.yaml").write_text("defaults: base.yaml\noptim:\n  lr: 0.25\n")
    cfg = load_config(tmp_path / "child.yaml")
    assert cfg.optim.lr == 0.25 and cfg.optim.name == "sgd" and cfg.data.batch_size == 8
    assert cfg.optim.momentum == TrainConfig().optim.momentum


def test_inheritance_cycle_is_an_error(tmp_path: Path):
    (tmp_path / "a.yaml").write_text("defaults: b.yaml\n")
    (tmp_path / "b.yaml").write_text("defaults: a.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "a.yaml")


@pytest.mark.parametrize(
    ("item", "key", "value"),
    [
        ("optim.lr=3e-4", "optim.lr", 3e-4),
        ("data.max_train_clips=null", "data.max_train_clips", None),
        ("runtime.compile=true", "runtime.compile", True),
        ("model.encoder=small_cnn_1d", "model.encoder", "small_cnn_1d"),
        ("schedule.epochs=7", "schedule.epochs", 7),
        ("optim.betas=[0.8, 0.9]", "optim.betas", [0.8, 0.9]),
    ],
)
def test_overrides_are_parsed_and_typed(item, key, value):
    cfg = TrainConfig().with_overrides([item])
    section, name = key.split(".")
    got = getattr(getattr(cfg, section), name)
    assert got == value and type(got) is type(value)


def test_override_int_to_float_field_is_converted():
    cfg = TrainConfig().with_overrides(["optim.lr=1"])
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)


def test_open_dict_fields_take_nested_keys():
    cfg = TrainConfig().with_overrides(["features.overrides.n_mels=64", "model.options.embed_dim=256"])
    assert cfg.features.overrides == {"n_mels": 64} and cfg.model.options == {"embed_dim": 256}


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ("optim.lrr=0.1", "unknown key 'optim.lrr'"),
        ("optimiser.lr=0.1", "unknown key 'optimiser.lr'"),
        ("optim=3", "is a section"),
        ("optim.lr=fast", "optim.lr: expected float"),
        ("schedule.epochs=2.5", "schedule.epochs: expected int"),
        ("runtime.compile=7", "runtime.compile: expected bool"),
        ("model.regime=byol", "model.regime"),
        ("data.label_fraction=0", "data.label_fraction"),
        ("schedule.warmup_epochs=-1", "schedule.warmup_epochs"),
        ("schedule.warmup_steps=-3", "schedule.warmup_steps"),
        ("eval.monitor=test/head_acc", "validation metrics only"),
        ("optim.lr", "expected key=value"),
        ("data.dataset=esc-100", "data.dataset: 'esc-100' is not one of"),
        ("data.task=pitch", "data.task: 'pitch' is not a task of fsdd"),
        ("data.version=v0.02", "data.version: 'v0.02' is not a version of fsdd"),
        ("data.test_fold=2", "data.test_fold: fsdd has no folds"),
        ("data.dataset=folder", "data.root: a folder dataset needs its location"),
        ("augment.names=fade+reverb", "augment.names: augmentation set 'fade\\+reverb': unknown"),
        ("augment.names=echo", "augment.names: augmentation\\(s\\) 'echo': unknown"),
        ("augment.preset=loud", "augment.preset: 'loud' is not one of paper, authors"),
    ],
)
def test_bad_overrides_raise_config_error_naming_the_key(item, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig().with_overrides([item])


def test_dataset_options_follow_the_catalog():
    cfg = TrainConfig().with_overrides(["data.dataset=esc10", "data.test_fold=3"])
    assert cfg.data.test_fold == 3
    cfg = TrainConfig().with_overrides(["data.dataset=nsynth", "data.task=pitch", "data.test_group=keyboard_001"])
    assert (cfg.data.task, cfg.data.test_group) == ("pitch", "keyboard_001")
    with pytest.raises(ConfigError, match=r"data\.test_group: esc10 has no speakers"):
        TrainConfig().with_overrides(["data.dataset=esc10", "data.test_group=a"])
    # any pick of the six augmentations, in any order, is a set (applied in the canonical order)
    assert TrainConfig().with_overrides(["augment.names=noise+fade+time_mask"]).augment.names == "noise+fade+time_mask"


def test_unknown_key_in_yaml_names_file_and_key(tmp_path: Path):
    p = tmp_path / "bad.yaml"
    p.write_text("data:\n  batchsize: 3\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*data\.batchsize"):
        load_config(p)


def test_parse_override_keeps_strings():
    assert parse_override("augment.names=fade+noise") == ("augment.names", "fade+noise")


def test_paper_configs_cover_every_dataset_regime_kind_and_fraction():
    names = {(p.parent.name, p.stem) for p in PAPER}
    for ds in ("fsdd", "esc10", "speech_commands", "nsynth"):
        for regime in ("supervised", "simclr", "clar"):
            for kind in ("1d", "2d"):
                assert (ds, f"{regime}_{kind}") in names
                if regime == "clar":
                    for f in (1, 5, 10, 20, 50):
                        assert (ds, f"clar_{kind}_labels{f:02d}") in names


@pytest.mark.parametrize("path", [*PAPER, CONFIGS_DIR / "smoke.yaml"], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_shipped_config_loads_and_validates(path: Path):
    cfg = load_config(path)
    if path.stem == "dataset":
        return
    if "_" in path.stem and path.parent.name != "configs":
        regime, kind = path.stem.split("_")[:2]
        assert cfg.model.regime == regime
        assert cfg.model.encoder == f"resnet18_{kind}"
        assert cfg.data.dataset == path.parent.name
        if "labels" in path.stem:
            assert cfg.data.label_fraction == pytest.approx(int(path.stem[-2:]) / 100)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_smoke_config_is_the_issue_s_smoke_run():
    cfg = load_config("smoke")
    assert (cfg.data.dataset, cfg.model.regime, cfg.model.encoder) == ("fsdd", "clar", "small_cnn_2d")
    assert cfg.data.label_fraction == pytest.approx(0.1) and cfg.schedule.epochs == 1


def test_provenance_names_commit_packages_device_host():
    p = provenance("cpu")
    assert p["device"] == "cpu" and p["host"] and p["packages"]["torch"]
    assert p["git_commit"] is None or len(p["git_commit"].split("-")[0]) == 40
    json.dumps(p)
