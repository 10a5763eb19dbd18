"""Sweeps end to end on real FSDD: the CI-sized version of fsdd_regimes, a kill and a resume, refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from core.errors import ConfigError
from core.runs import RunStore
from experiments.cells import finetune_steps, probe_cell
from experiments.spec import load_sweep
from experiments.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "configs" / "paper" / "fsdd" / "dataset.yaml"


def _cli(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "experiments", *args], cwd=ROOT, capture_output=True, text=True, env=env, **kw
    )


def test_tiny_fsdd_regimes_runs_and_reports_end_to_end(tmp_path, data_dir):
    """The CI-sized experiment: every arm at 2 seeds, then the report with its tables, verdicts and PNGs."""
    out = tmp_path / "out"
    run = _cli("run", "fsdd_regimes", "--tiny", "--out", str(out), "--quiet", "--threads", "1", timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    sweep = load_sweep("fsdd_regimes")
    assert sorted(manifest["cells"]) == sorted(f"{a.name}/{s}" for a in sweep.arms for s in (0, 1))
    store = RunStore(out / "runs.sqlite")
    for key, cell in manifest["cells"].items():
        assert cell["done"], key
        arm = sweep.arm(cell["arm"])
        if arm.kind == "train":  # the score is the run's own final metric
            assert cell["score"] == store.get_run(cell["run_id"])["final_metrics"][arm.score]
            assert cell["steps"] == (0 if arm.name == "random_init" else 6)
    for seed in (0, 1):
        clar, base = manifest["cells"][f"clar/{seed}"], manifest["cells"][f"baseline/{seed}"]
        assert base["labelled"] == clar["final"]["data/train_labelled"] == 20  # the run's own labelled clips
        probe = manifest["cells"][f"clar_probe/{seed}"]  # the same run, scored by its linear probe
        assert probe["score"] == clar["final"]["test/best/linear_acc"] and probe["source_run"] == clar["run_id"]
        fine = manifest["cells"][f"simclr_finetune/{seed}"]
        assert fine["source_run"] == manifest["cells"][f"simclr_probe/{seed}"]["run_id"]
        assert fine["finetune_steps"] == finetune_steps(20, 2, 64) == 2
    # a probe arm (probe_of): the same SimCLR run probed at 1 % and at 100 % of its training labels, on its own
    # test clips (the tiny cap of 40, not the full split)
    simclr = manifest["cells"]["simclr_probe/0"]
    for fraction, labelled in ((0.01, 10), (1.0, simclr["final"]["data/train"])):
        probe = probe_cell(simclr, fraction, "cpu", progress=False)
        assert (probe["labelled"], probe["label_fraction"]) == (labelled, fraction)
        assert probe["test_clips"] == simclr["final"]["data/test"] == 40
        assert probe["source_run"] == simclr["run_id"]

    rep = _cli("report", "fsdd_regimes", "--tiny", "--out", str(out), timeout=180)
    assert rep.returncode == 0, rep.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert {a["n"] for a in results["arms"].values()} == {2}
    assert results["pending"] == []
    assert all(c["verdict"] in {"a", "b", "tie"} for c in results["comparisons"])
    assert "| (c) with 10 % of the labels" in rep.stdout
    for name in ("fsdd_regimes_scores.png", "fsdd_regimes_curves.png"):
        with Image.open(out / "results" / name) as im:
            assert im.width == 900 and im.height > 300


def _kill_sweep(tmp_path: Path, steps: int) -> Path:
    folder = tmp_path / "killexp"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        f"defaults: {DATASET}\n"
        "data: {max_train_clips: 200, max_eval_clips: 40, label_fraction: 0.1, batch_size: 16, eval_batch_size: 64}\n"
        "model: {regime: clar, encoder: small_cnn_2d}\nfeatures: {fit_clips: 64}\n"
        f"schedule: {{steps: {steps}, warmup_steps: 2}}\nruntime: {{device: cpu, checkpoint_every: 0}}\n"
    )
    arm = "{name: clar, config: a.yaml, score: test/best/head_acc}"
    (folder / "sweep.yaml").write_text(f"seeds: [0]\narms:\n  - {arm}\n")
    return folder


def test_a_killed_sweep_resumes_its_run_from_the_last_checkpoint(tmp_path, data_dir):
    folder, out = _kill_sweep(tmp_path, steps=60), tmp_path / "out"
    args = [sys.executable, "-m", "experiments", "run", str(folder), "--out", str(out), "--quiet", "--threads", "1"]
    log = tmp_path / "first.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while "epoch 2/5" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = json.loads((out / "manifest.json").read_text())["cells"]["clar/0"]
    assert not first.get("done") and first["run_id"]

    again = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "epoch 1/5" not in again.stdout and "epoch 5/5" in again.stdout  # continued, not restarted
    cell = json.loads((out / "manifest.json").read_text())["cells"]["clar/0"]
    assert cell["done"] and cell["run_id"] == first["run_id"]
    store = RunStore(out / "runs.sqlite")
    assert [r["id"] for r in store.list_runs()] == [first["run_id"]]
    assert [h["epoch"] for h in store.epoch_history(cell["run_id"])] == [1, 2, 3, 4, 5]
    assert cell["steps"] == 60

    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)  # nothing left to do
    assert done.returncode == 0 and "[1/1]" not in done.stdout


def test_a_changed_config_is_refused_for_cells_already_run(tmp_path, data_dir):
    folder, out = _kill_sweep(tmp_path, steps=2), tmp_path / "out"
    run_sweep(load_sweep(str(folder)), out=out, progress=False, log=lambda _: None)
    (folder / "a.yaml").write_text((folder / "a.yaml").read_text().replace("steps: 2,", "steps: 3,"))
    with pytest.raises(ConfigError, match="cell clar/0 ran with another config"):
        run_sweep(load_sweep(str(folder)), out=out, progress=False, log=lambda _: None)


def test_a_changed_fine_tuning_is_computed_again_from_the_same_run(tmp_path, data_dir):
    folder, out = _kill_sweep(tmp_path, steps=2), tmp_path / "out"
    sweep_file = folder / "sweep.yaml"
    fine = "  - {name: ft, finetune_of: clar, finetune: {epochs: 1, batch_size: 64}}\n"
    sweep_file.write_text(sweep_file.read_text() + fine)
    first = run_sweep(load_sweep(str(folder)), out=out, progress=False, log=lambda _: None)["cells"]
    sweep_file.write_text(sweep_file.read_text().replace("epochs: 1,", "epochs: 1, init: probe,"))
    lines: list[str] = []
    again = run_sweep(load_sweep(str(folder)), out=out, progress=False, log=lines.append)["cells"]
    assert any("ft/0: its settings changed" in line for line in lines)
    assert again["clar/0"]["run_id"] == first["clar/0"]["run_id"]  # the training run is not redone
    assert again["ft/0"]["config"] != first["ft/0"]["config"]
    assert again["ft/0"]["source_run"] == first["clar/0"]["run_id"]


def test_two_sweeps_cannot_share_a_folder_and_a_bad_manifest_is_named(tmp_path):
    import fcntl

    folder, out = _kill_sweep(tmp_path, steps=2), tmp_path / "out"
    out.mkdir()
    with open(out / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ConfigError, match="another sweep is running in this folder"):
            run_sweep(load_sweep(str(folder)), out=out, progress=False)
    (out / "manifest.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"manifest\.json: not a valid manifest"):
        run_sweep(load_sweep(str(folder)), out=out, progress=False)


def test_a_baseline_runs_before_its_source_on_the_same_splits(tmp_path, data_dir):
    """A baseline needs only its source's splits, so ``--only`` can run it first; training later agrees on them."""
    folder, out = _kill_sweep(tmp_path, steps=2), tmp_path / "out"
    sweep_file = folder / "sweep.yaml"
    sweep_file.write_text(sweep_file.read_text() + "  - {name: base, baseline_of: clar}\n")
    quiet = {"progress": False, "log": lambda _: None}
    first = run_sweep(load_sweep(str(folder)), out=out, only={"base"}, **quiet)["cells"]
    assert sorted(first) == ["base/0"] and first["base/0"]["done"]
    cells = run_sweep(load_sweep(str(folder)), out=out, **quiet)["cells"]
    assert cells["base/0"] == first["base/0"]  # not computed again
    assert cells["base/0"]["labelled"] == cells["clar/0"]["final"]["data/train_labelled"]
    assert cells["base/0"]["test_clips"] == cells["clar/0"]["final"]["data/test"]
