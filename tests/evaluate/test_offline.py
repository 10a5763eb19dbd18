"""Offline evaluation: the run's labelled subset, folds of a dataset the run never saw, the guard against scoring
a checkpoint on clips it trained on, fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import ConfigError
from core.evaluate.offline import Evaluator, evaluate_checkpoint, evaluation_data, linear_evaluation, parse_folds
from core.evaluate.report import format_report, summarise_folds
from core.evaluate.splits import EvalSplits, load_splits
from core.inference import load_trained
from core.probes import classification_report
from tests.evalcli_support import fsdd_csv, make_checkpoint


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    return fsdd_csv(tmp_path_factory.mktemp("fsdd_csv_offline"), train=6, valid=2, test=2)


@pytest.fixture(scope="module")
def simclr(tmp_path_factory, small_csv):
    run = make_checkpoint(tmp_path_factory.mktemp("ck") / "simclr-run", small_csv, regime="simclr", label_fraction=0.5)
    return load_trained(run, device="cpu")


def test_fold_summary_is_mean_and_sample_std():
    names = ["a", "b"]
    folds = [{"test": classification_report(y, q, names)} for y, q in (([0, 1], [0, 1]), ([0, 1, 1], [1, 1, 1]))]
    s = summarise_folds(folds, names)
    assert s["test_top1_mean"] == pytest.approx((1.0 + 2 / 3) / 2)
    assert s["test_top1_std"] == pytest.approx(np.std([1.0, 2 / 3], ddof=1))
    assert s["confusion_matrix"] == [[1, 1], [0, 3]]
    assert s["per_class_accuracy"] == {"a": 0.5, "b": 1.0}


def test_linear_evaluation_on_the_runs_dataset(simclr):
    report = evaluate_checkpoint(simclr, progress=False)
    assert report["mode"] == "linear" and report["dataset"]["name"] == "csv"
    (fold,) = report["folds"]
    # The run's labelled subset: label fraction 0.5 of 6 training clips per class -> 3 per class.
    assert fold["label_fraction"] == 0.5 and fold["label_seed"] == 0
    assert fold["clips"] == {"train": 60, "train_labelled": 30, "valid": 20, "test": 20}
    assert fold["selection"]["train_clips"] == 30 and fold["selection"]["selected_on"] == "valid"
    wd = [c["weight_decay"] for c in fold["selection"]["candidates"]]
    assert fold["selection"]["weight_decay"] in wd
    cm = np.asarray(fold["test"]["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 20 and (cm.sum(1) == 2).all()  # 2 test takes per digit
    assert fold["test"]["top1"] == pytest.approx(np.trace(cm) / 20)
    assert set(fold["test"]["per_class_accuracy"]) == set(report["dataset"]["class_names"])
    # The saved probe is this checkpoint's, so classification works for the SimCLR run.
    assert report["probe_saved"] and simclr.probe is not None
    again = load_trained(simclr.checkpoint_path, device="cpu")
    assert again.probe is not None and again.probe.meta["label_fraction"] == 0.5
    text = format_report(report)
    assert "test top-1" in text and "confusion matrix" in text
    # An override of the label fraction is honoured.
    res, _ = linear_evaluation(simclr, load_splits(evaluation_data(simclr)[None], False), label_fraction=1.0)
    assert res["clips"]["train_labelled"] == 60


def test_esc10_folds_of_a_dataset_the_run_never_saw(simclr, monkeypatch):
    overrides = {"num_samples": 4000, "max_train_clips": 10, "max_eval_clips": 5}
    settings = evaluation_data(simclr, dataset="esc10", folds="all", overrides=overrides)
    assert list(settings) == [1, 2, 3, 4, 5]
    splits = {k: load_splits(d, progress=False) for k, d in settings.items()}
    for k, s in splits.items():
        assert s.fold == k and set(s.test.folds) == {k}
        assert k not in set(s.train.folds) | set(s.valid.folds)
        assert not set(s.train.paths) & set(s.valid.paths)
        assert len(s.train) == 10 and len(s.test) == 5 and s.train.num_samples == 4000
    calls = []
    real_outputs = Evaluator.outputs

    def counting(self, net, source, index=None):
        calls.append(len(source) if index is None else len(index))
        return real_outputs(self, net, source, index)

    monkeypatch.setattr(Evaluator, "outputs", counting)
    report = evaluate_checkpoint(
        simclr, dataset="esc10", folds="all", data_overrides=overrides, weight_decays=(1e-3, 1e-1), progress=False
    )
    distinct = {p for s in splits.values() for part in (s.train, s.valid, s.test) for p in part.paths}
    assert sum(calls) == len(distinct)  # every clip embedded once across the five folds
    assert [f["fold"] for f in report["folds"]] == [1, 2, 3, 4, 5]
    tops = [f["test"]["top1"] for f in report["folds"]]
    assert report["summary"]["test_top1_mean"] == pytest.approx(np.mean(tops))
    assert report["summary"]["test_top1_std"] == pytest.approx(np.std(tops, ddof=1))
    assert np.asarray(report["summary"]["confusion_matrix"]).sum() == 25
    assert report["probe_saved"] is None  # ESC-10 is not the run's dataset: its probe is not saved
    single = evaluation_data(simclr, dataset="esc10", folds=3)
    assert list(single) == [3]


def test_a_checkpoint_is_never_scored_on_clips_it_trained_on(tmp_path):
    """An ESC run trained with test fold 2 trained (and selected) on folds 1, 3, 4, 5: eval refuses those folds."""
    from core.checkpoint import atomic_save
    from core.config import TrainConfig
    from core.config.build import build_from_config

    cfg = TrainConfig.from_dict(
        {"data": {"dataset": "esc10", "test_fold": 2, "num_samples": 4000}, "model": {"encoder": "small_cnn_1d"}}
    )
    model, frontend = build_from_config(cfg, 10)
    state = {"format_version": 2, "model": model.state_dict(), "frontend": frontend.state_dict(), "epoch": 1,
             "global_step": 1, "config": cfg.to_dict(), "class_names": [f"c{i}" for i in range(10)],
             "num_classes": 10, "run_id": "esc-run"}  # fmt: skip
    from core.checkpoint import state_checksum

    state["checksum"] = state_checksum(state)
    atomic_save(state, tmp_path / "esc-run" / "last.pt")
    trained = load_trained(tmp_path / "esc-run" / "last.pt", device="cpu")
    small = {"max_eval_clips": 10, "max_train_clips": 20}
    with pytest.raises(ConfigError, match=r"10 of the 10 test clips of esc10 fold 1 were used .* folds 1, 3, 4, 5"):
        evaluate_checkpoint(trained, folds="all", data_overrides=small, progress=False)
    with pytest.raises(ConfigError, match="python -m core cv"):
        evaluate_checkpoint(trained, folds=3, data_overrides=small, progress=False)
    own = evaluate_checkpoint(trained, data_overrides=small, weight_decays=(1e-2,), progress=False)
    assert [f["fold"] for f in own["folds"]] == [2]  # its own test fold is scored


def test_fold_arguments():
    assert parse_folds("all", None) == [1, 2, 3, 4, 5]
    assert parse_folds(None, 4) == [4] and parse_folds(None, None) == [1]
    assert parse_folds("2,5", None) == [2, 5] and parse_folds(3, None) == [3]
    for bad in ("six", 0, "1,9"):
        with pytest.raises(ConfigError, match="folds"):
            parse_folds(bad, None)


def test_folds_on_a_dataset_without_folds_is_an_error(simclr):
    with pytest.raises(ConfigError, match="no official folds"):
        evaluation_data(simclr, folds="all")


def test_finetune_selects_on_validation_and_leaves_the_checkpoint_alone(simclr, small_csv):
    from core.data import load_dataset

    ds = load_dataset("csv", str(small_csv), num_samples=16000, progress=False)
    before = {k: v.clone() for k, v in simclr.model.state_dict().items()}
    res, head = linear_evaluation(
        simclr, EvalSplits.from_dataset(ds), finetune=True, finetune_options={"epochs": 2, "batch_size": 16}
    )
    assert head is None
    sel = res["selection"]
    assert sel["selected_on"] == "valid" and [h["epoch"] for h in sel["history"]] == [1, 2]
    best = max(sel["history"], key=lambda h: h["valid_top1"])
    assert sel["epoch"] == best["epoch"] and res["valid"]["top1"] == pytest.approx(best["valid_top1"])
    assert np.asarray(res["test"]["confusion_matrix"]).sum() == 20
    for k, v in simclr.model.state_dict().items():
        torch.testing.assert_close(v, before[k], atol=0, rtol=0)
    assert not simclr.model.training


def test_finetune_from_the_probe_starts_exactly_at_the_linear_evaluation(simclr, small_csv):
    """LP-FT: epoch 0 is the linear probe (its validation top-1 is the linear evaluation's), then fine-tuning."""
    from core.data import load_dataset

    splits = EvalSplits.from_dataset(load_dataset("csv", str(small_csv), num_samples=16000, progress=False))
    linear, _ = linear_evaluation(simclr, splits)
    res, _ = linear_evaluation(
        simclr, splits, finetune=True, finetune_options={"epochs": 2, "batch_size": 16, "init": "probe"}
    )
    sel = res["selection"]
    assert [h["epoch"] for h in sel["history"]] == [0, 1, 2] and sel["init"] == "probe"
    assert sel["history"][0]["valid_top1"] == pytest.approx(linear["valid"]["top1"])
    assert res["valid"]["top1"] >= linear["valid"]["top1"]  # the probe stays a candidate
    with pytest.raises(ConfigError, match="finetune init 'warm'"):
        linear_evaluation(simclr, splits, finetune=True, finetune_options={"epochs": 1, "init": "warm"})


@pytest.mark.gpu
def test_linear_evaluation_on_cuda_matches_the_cpu(simclr):
    gpu = load_trained(simclr.checkpoint_path, device="cuda")
    cpu_report = evaluate_checkpoint(simclr, save_probe=False, progress=False)
    gpu_report = evaluate_checkpoint(gpu, save_probe=False, progress=False)
    (c,), (g,) = cpu_report["folds"], gpu_report["folds"]
    assert g["clips"] == c["clips"]
    # Same protocol on another device: scores agree up to float differences in a few borderline clips.
    assert abs(g["test"]["top1"] - c["test"]["top1"]) <= 0.1
    assert np.asarray(g["test"]["confusion_matrix"]).sum() == 20
