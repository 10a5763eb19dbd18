"""User mistakes on the command line: each is one line on stderr and exit status 2, never a traceback, and no
command prints invalid JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from core.checkpoint import load_checkpoint
from core.cli import main
from core.train.checkpoints import CheckpointManager
from tests.evalcli_support import fsdd_clips, fsdd_csv, make_checkpoint


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error:")]
    assert len(errors) == 1 and not any("Traceback" in line for line in err), err
    return errors[0]


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.wav"
    sf.write(path, (np.random.default_rng(0).standard_normal(16000) * 0.1).astype(np.float32), 16000)
    return path


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--seed", str(2**70)], "--seed"),
        (["--p", "1.5"], "--p 1.5"),
        (["--aug", "fade,wobble"], "wobble"),
    ],
)
def test_augment_bad_options(clip: Path, tmp_path: Path, capsys, args: list[str], match: str):
    base = ["augment", str(clip), "--out", str(tmp_path / "o.wav")]
    if "--aug" not in args:
        base += ["--aug", "fade"]
    assert main([*base, *args]) == 2
    assert match in _err(capsys)


@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_augment_out_where_nothing_can_be_written(clip: Path, tmp_path: Path, capsys, where: str):
    out = clip / "sub" / "o.wav" if where == "under_a_file" else Path("/proc/clar-studio-test/o.wav")
    assert main(["augment", str(clip), "--aug", "fade", "--out", str(out)]) == 2
    assert "cannot save" in _err(capsys)


def test_classify_with_a_corrupt_model_prints_valid_json(tmp_path: Path, capsys):
    run = make_checkpoint(tmp_path / "run", fsdd_csv(tmp_path / "data"), regime="clar")
    state = load_checkpoint(run / "last.pt")
    first = next(k for k, v in state["model"].items() if v.is_floating_point())
    state["model"][first] = torch.full_like(state["model"][first], float("nan"))  # NaN weights, valid checksum
    (run / "last.pt").unlink()
    CheckpointManager(run).save({k: v for k, v in state.items() if k not in ("format_version", "checksum")})
    wav = str(fsdd_clips()[0][0])
    assert main(["classify", wav, "--checkpoint", str(run / "last.pt")]) == 1

    def refuse(constant: str):
        raise AssertionError(f"invalid JSON constant {constant} in the output")

    out = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert "not finite" in out["results"][0]["error"]


def test_eval_report_into_proc_is_one_line(tmp_path: Path, capsys):
    run = make_checkpoint(tmp_path / "run", fsdd_csv(tmp_path / "data"), regime="supervised")
    rc = main(["eval", "--checkpoint", str(run), "--out", "/proc/clar-studio-test/report.json", "--quiet"])
    assert rc == 2
    assert "/proc/clar-studio-test" in _err(capsys)
