"""The eval, embed and classify commands, run through ``core.cli.main`` on real FSDD clips."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.audio import load_audio
from core.cli import main
from core.inference import load_trained
from tests.evalcli_support import fsdd_clips, fsdd_csv, make_checkpoint


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    csv_path = fsdd_csv(folder, train=3, valid=1, test=1)
    return {
        "clar2d": make_checkpoint(folder / "clar-2d", csv_path, regime="clar", encoder="small_cnn_2d"),
        "simclr": make_checkpoint(folder / "simclr-1d", csv_path, regime="simclr", label_fraction=1.0),
    }


def test_classify_gives_top_k_json_and_reports_bad_files(runs, tmp_path, capsys):
    files = [str(p) for p, _, take in fsdd_clips(speaker="jackson", takes=range(1)) if take == 0][:3]
    bad = tmp_path / "noise.wav"
    bad.write_bytes(np.random.default_rng(1).bytes(3000))
    assert main(["classify", "--checkpoint", str(runs["clar2d"]), "--top-k", "3", "--device", "cpu", *files]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["classifier"] == "head" and out["num_samples"] == 16000
    trained = load_trained(runs["clar2d"], device="cpu")
    expected = trained.predict(torch.stack([load_audio(f, num_samples=16000) for f in files]))
    for i, r in enumerate(out["results"]):
        assert r["file"] == files[i] and len(r["top_k"]) == 3
        probs = [t["probability"] for t in r["top_k"]]
        assert probs == sorted(probs, reverse=True)
        top = expected[i].topk(3)
        assert [t["label"] for t in r["top_k"]] == [trained.class_names[int(c)] for c in top.indices]
        np.testing.assert_allclose(probs, top.values.numpy(), atol=1e-5)
    rc = main(["classify", "--checkpoint", str(runs["clar2d"]), "--device", "cpu", files[0], str(bad)])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1 and "top_k" in out["results"][0] and len(out["results"][0]["top_k"]) == 5
    assert "noise.wav" in out["results"][1]["error"] and "top_k" not in out["results"][1]


def test_classify_scores_a_long_clip_in_half_overlapping_windows(runs, tmp_path, capsys):
    from core.audio import save_audio
    from core.inference.windows import window_starts

    files = [p for p, _, take in fsdd_clips(speaker="jackson", takes=range(1)) if take == 0][:3]
    long = torch.cat([load_audio(f) for f in files])  # about 1.5 s of three digits: more than one window
    path = tmp_path / "three_digits.wav"
    save_audio(path, long)
    wave = load_audio(path)
    assert main(["classify", "--checkpoint", str(runs["clar2d"]), "--device", "cpu", str(path)]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    starts = window_starts(len(wave), 16000, 8000)
    assert result["windows"] == len(starts) >= 2
    trained = load_trained(runs["clar2d"], device="cpu")
    windows = torch.stack([torch.nn.functional.pad(wave[s : s + 16000], (0, max(0, s + 16000 - len(wave))))
                           for s in starts])  # fmt: skip
    mean = trained.predict(windows).mean(dim=0)
    top = mean.topk(5)
    assert [t["label"] for t in result["top_k"]] == [trained.class_names[int(c)] for c in top.indices]
    np.testing.assert_allclose([t["probability"] for t in result["top_k"]], top.values.numpy(), atol=1e-5)


def test_classify_a_simclr_run_needs_eval_first(runs, capsys):
    clip = str(fsdd_clips(takes=range(1))[0][0])
    assert main(["classify", "--checkpoint", str(runs["simclr"]), "--device", "cpu", clip]) == 2
    assert "python -m core eval" in capsys.readouterr().err


def test_eval_then_classify_and_embed(runs, tmp_path, capsys, monkeypatch):
    from core.runs import RunStore

    monkeypatch.setenv("CLAR_RUNS_DB", str(tmp_path / "runs.sqlite"))
    store = RunStore()
    store.create_run("cli test", {}, run_id=runs["simclr"].name)
    report_path = tmp_path / "report.json"
    args = ["eval", "--checkpoint", str(runs["simclr"]), "--device", "cpu", "--quiet", "--out", str(report_path)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "test top-1" in text and "confusion matrix" in text and str(report_path) in text
    report = json.loads(report_path.read_text())
    (fold,) = report["folds"]
    assert fold["clips"]["test"] == 10 and np.asarray(fold["test"]["confusion_matrix"]).sum() == 10
    assert report["probe_saved"].endswith("probe.pt")
    clip = str(fsdd_clips(takes=range(1))[0][0])
    assert main(["classify", "--checkpoint", str(runs["simclr"]), "--device", "cpu", clip]) == 0
    assert json.loads(capsys.readouterr().out)["classifier"] == "probe"
    out_dir = tmp_path / "emb"
    assert main(["embed", "--checkpoint", str(runs["simclr"]), "--out", str(out_dir), "--split", "valid"]) == 0
    assert np.load(out_dir / "embeddings.npy").shape == (10, 512)
    assert (out_dir / "metadata.csv").read_text().count("\n") == 11
    kinds = {a["kind"]: a for a in store.artifacts(runs["simclr"].name)}
    assert set(kinds) == {"probe", "eval_report", "embeddings"}
    assert kinds["eval_report"]["meta"]["test_top1_mean"] == report["summary"]["test_top1_mean"]


def test_eval_errors_are_one_line(runs, capsys):
    assert main(["eval", "--checkpoint", str(runs["simclr"]), "--folds", "all", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "no official folds" in err
    assert main(["eval", "--checkpoint", "/nonexistent/run", "--quiet"]) == 2
    assert "/nonexistent/run" in capsys.readouterr().err


def test_eval_finetune_writes_a_finetune_report(runs, tmp_path, capsys):
    out = tmp_path / "ft.json"
    args = ["eval", "--checkpoint", str(runs["simclr"]), "--finetune", "--epochs", "1", "--batch-size", "8"]
    assert main([*args, "--quiet", "--no-save-probe", "--out", str(out)]) == 0
    assert "evaluation  finetune" in capsys.readouterr().out
    report = json.loads(out.read_text())
    (fold,) = report["folds"]
    assert report["mode"] == "finetune" and report["probe_saved"] is None
    assert fold["selection"]["epoch"] == 1 and fold["selection"]["batch_size"] == 8
    assert np.asarray(fold["test"]["confusion_matrix"]).sum() == 10
