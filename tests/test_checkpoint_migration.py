"""Checkpoints written before the regimes became modules (format 1) load through the migration, with the same
weights and the settings they were trained with made explicit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.checkpoint import FORMAT_VERSION, load_checkpoint, migrate
from core.config import TrainConfig
from core.config.build import load_model_from_checkpoint
from core.models import build_encoder
from core.regimes import ClarModel
from core.train.checkpoints import capture_rng

NEW_DATA_KEYS = ("test_fold", "test_group", "validation", "valid_fold", "split_seed")


def v1_config(**data) -> dict:
    """A config as format 1 wrote it: ``data.fold``, none of the keys added since."""
    cfg = TrainConfig().to_dict()
    for key in NEW_DATA_KEYS:
        cfg["data"].pop(key)
    cfg["data"].update({"fold": None, **data})
    cfg["model"].pop("proj_layers")
    cfg["schedule"].pop("steps")
    for key in ("probe_clips", "timeout_s"):
        cfg["eval"].pop(key)
    cfg["runtime"].pop("stale_after_s")
    cfg["model"].update({"regime": "clar", "encoder": "small_cnn_2d"})
    cfg["runtime"]["seed"] = 6
    return cfg


def write_v1_checkpoint(path: Path, config: dict) -> ClarModel:
    """What the format-1 trainer saved: a CLAR model whose projection had 2 layers, no checksum."""
    torch.manual_seed(0)
    model = ClarModel(build_encoder("small_cnn_2d"), "clar", 10, proj_layers=2)
    from core.config.build import build_frontend

    frontend = build_frontend({**config, "data": {k: v for k, v in config["data"].items() if k != "fold"}})
    torch.save(
        {
            "format_version": 1,
            "model": model.state_dict(),
            "frontend": frontend.state_dict(),
            "optimizer": {},
            "scheduler": {},
            "scaler": {},
            "rng": capture_rng(),
            "epoch": 3,
            "global_step": 30,
            "config": config,
            "class_names": [f"c{i}" for i in range(10)],
            "num_classes": 10,
            "feature_config": frontend.feature_config_dict(),
            "input_kind": "features",
            "best": {"metric": "valid/head_acc", "value": 0.5, "epoch": 3},
            "bad_evals": 0,
            "run_id": "old-run",
            "metrics": {},
        },
        path,
    )
    return model


def test_v1_esc_checkpoint_loads_with_its_old_settings(tmp_path: Path):
    path = tmp_path / "last.pt"
    old = write_v1_checkpoint(path, v1_config(dataset="esc10", fold=3))
    state = load_checkpoint(path)
    assert state["format_version"] == FORMAT_VERSION
    data, model = state["config"]["data"], state["config"]["model"]
    assert data["test_fold"] == 3 and "fold" not in data
    assert model["proj_layers"] == 2  # the 2-layer CLAR projection format 1 always built
    assert data["split_seed"] == 6  # format 1 seeded its subsets with the run's seed
    # format 1's ESC validation: fold others[seed % 4] of the folds after the test fold: [4, 5, 1, 2][6 % 4] = 1
    assert data["validation"] == "fold" and data["valid_fold"] == 1
    TrainConfig.from_dict(state["config"])  # a valid config of today
    loaded, _, _ = load_model_from_checkpoint(path)
    for (name, a), b in zip(loaded.state_dict().items(), old.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_v1_fsdd_checkpoint_and_a_current_one():
    cfg = v1_config(dataset="fsdd")
    state = {"format_version": 1, "config": cfg}
    out = migrate(state)
    assert out["config"]["data"]["test_fold"] is None and "valid_fold" not in out["config"]["data"]
    assert cfg["data"]["fold"] is None  # the input is not modified
    current = {"format_version": FORMAT_VERSION, "config": {}}
    assert migrate(current) is current


def test_a_version_2_checkpoint_must_carry_its_checksum(tmp_path: Path):
    path = tmp_path / "v2.pt"
    write_v1_checkpoint(path, v1_config(dataset="fsdd"))
    state = torch.load(path, weights_only=True)
    state["format_version"] = 2
    torch.save(state, path)
    from core.errors import CheckpointError

    with pytest.raises(CheckpointError, match="without its checksum"):
        load_checkpoint(path)
