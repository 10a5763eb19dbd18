"""Checkpoints: safe-loadable contents, RNG round trip, atomic writes, corrupt/truncated files and fallback."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from core.checkpoint import FORMAT_VERSION, atomic_save, load_checkpoint
from core.errors import CheckpointError
from core.train.checkpoints import CheckpointManager, capture_rng, restore_rng


def state(epoch: int) -> dict:
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    return {
        "model": model.state_dict(),
        "frontend": {},
        "optimizer": opt.state_dict(),
        "scheduler": {},
        "scaler": {},
        "rng": capture_rng(),
        "epoch": epoch,
        "global_step": 10 * epoch,
        "config": {"optim": {"lr": 0.1}},
        "class_names": ["a", "b"],
        "feature_config": None,
        "best": {"metric": "valid/head_acc", "value": 0.5},
    }


def test_round_trip_with_weights_only(tmp_path: Path):
    s = state(3)
    CheckpointManager(tmp_path).save(s)
    loaded = load_checkpoint(tmp_path / "last.pt")
    assert loaded["format_version"] == FORMAT_VERSION and loaded["epoch"] == 3 and loaded["class_names"] == ["a", "b"]
    assert torch.equal(loaded["model"]["weight"], s["model"]["weight"])
    # the file really loads under the safe unpickler, with nothing but tensors and plain data
    raw = torch.load(tmp_path / "last.pt", weights_only=True)
    assert raw["config"] == {"optim": {"lr": 0.1}}


def test_rng_states_round_trip():
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    np.random.standard_normal()  # leaves a cached gaussian in the legacy state
    saved = capture_rng()
    expected = (torch.rand(3), np.random.standard_normal(3), random.random())
    torch.manual_seed(9), np.random.seed(9), random.seed(9)
    restore_rng(saved)
    got = (torch.rand(3), np.random.standard_normal(3), random.random())
    assert torch.equal(expected[0], got[0]) and np.array_equal(expected[1], got[1]) and expected[2] == got[2]


def test_rng_state_survives_a_safe_file(tmp_path: Path):
    atomic_save({"rng": capture_rng()}, tmp_path / "r.pt")
    expected = torch.rand(2), random.random()
    restore_rng(torch.load(tmp_path / "r.pt", weights_only=True)["rng"])
    assert torch.equal(torch.rand(2), expected[0]) and random.random() == expected[1]


def test_every_n_epochs_last_previous_and_best(tmp_path: Path):
    m = CheckpointManager(tmp_path, every=2)
    for e in range(1, 6):
        m.save(state(e), is_best=e == 3)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best.pt", "epoch_0002.pt", "epoch_0004.pt", "last.pt", "previous.pt"]
    assert load_checkpoint(m.best)["epoch"] == 3
    assert load_checkpoint(m.previous)["epoch"] == 4
    assert [p.name for p in m.candidates()] == ["last.pt", "previous.pt", "epoch_0004.pt", "epoch_0002.pt"]


def test_atomic_save_leaves_old_file_when_writing_fails(tmp_path: Path):
    p = tmp_path / "x.pt"
    atomic_save({"a": torch.ones(2)}, p)

    class Boom:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_save({"a": Boom()}, p)
    assert torch.equal(torch.load(p, weights_only=True)["a"], torch.ones(2))
    assert [q.name for q in tmp_path.iterdir()] == ["x.pt"]  # no temp file left behind


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_file_raises_checkpoint_error(tmp_path: Path, damage: str):
    CheckpointManager(tmp_path).save(state(1))
    p = tmp_path / "last.pt"
    data = p.read_bytes()
    p.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00not a zip" * 50, "empty": b""}[damage])
    with pytest.raises(CheckpointError, match=r"last\.pt: corrupt or truncated"):
        load_checkpoint(p)


def test_pickled_object_is_refused(tmp_path: Path):
    p = tmp_path / "evil.pt"
    torch.save({"format_version": 1, "payload": zipfile.ZipInfo("x")}, p)
    with pytest.raises(CheckpointError, match=r"refused: .*\(zipfile\.ZipInfo\)") as e:
        load_checkpoint(p)
    assert "weights_only" not in str(e.value)  # never repeat the advice to load it unsafely


def test_missing_and_foreign_files(tmp_path: Path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"weights": torch.ones(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(tmp_path / "other.pt")


def test_truncated_last_falls_back_to_previous_with_warning(tmp_path: Path):
    m = CheckpointManager(tmp_path, every=0)
    m.save(state(1))
    m.save(state(2))
    data = m.last.read_bytes()
    m.last.write_bytes(data[:1000])
    with pytest.warns(RuntimeWarning, match="falling back"):
        loaded, path = m.load_latest()
    assert path == m.previous and loaded["epoch"] == 1


def test_no_usable_checkpoint(tmp_path: Path):
    m = CheckpointManager(tmp_path)
    assert m.load_latest() is None
    m.save(state(1))
    m.last.write_bytes(b"junk")
    with pytest.warns(RuntimeWarning), pytest.raises(CheckpointError, match="no usable checkpoint"):
        m.load_latest()


def test_flipped_byte_is_detected_and_resume_falls_back(tmp_path: Path):
    import struct

    manager = CheckpointManager(tmp_path)
    manager.save(state(1))
    manager.save(state(2))
    with zipfile.ZipFile(manager.last) as z:
        info = next(i for i in z.infolist() if i.filename.endswith("/data/0"))
    data = bytearray(manager.last.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    data[info.header_offset + 30 + name_len + extra_len] ^= 0x01  # one bit of the first weight
    manager.last.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum does not match"):
        load_checkpoint(manager.last)
    with pytest.warns(RuntimeWarning, match="checksum does not match"):
        loaded, path = manager.load_latest()
    assert path == manager.previous and loaded["epoch"] == 1
