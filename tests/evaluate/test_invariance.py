"""The invariance report: each row is the cosine similarity of clean and augmented embeddings and the classifier's
accuracy, recomputed here by hand from the augmentation, the model and numpy; fixed seeds agree; a model without a
classifier still gets its similarities; ``python -m core invariance`` writes the CSV and JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core.augment.registry import build_augmentation
from core.cli import main
from core.data import load_dataset
from core.evaluate.invariance import CHAIN, invariance_report
from core.inference import load_trained
from tests.evalcli_support import fsdd_csv, make_checkpoint

DEMO = Path(__file__).resolve().parents[2] / "checkpoints" / "pretrained" / "demo" / "model.pt"


@pytest.fixture(scope="module")
def demo():
    trained = load_trained(DEMO, device="cpu")
    data = load_dataset("demo", progress=False)
    idx = data.indices("test")[:20]
    return trained, np.asarray(data.waveforms[idx]), np.asarray(data.labels)[idx]


def _by_hand(trained, waves, labels, name, seed, batch):
    aug = build_augmentation(name, "paper", 1.0)
    g = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(waves)
    out = torch.cat([aug(x[i : i + batch], g) for i in range(0, len(x), batch)])
    a, b = trained.embed(x).double().numpy(), trained.embed(out).double().numpy()
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    acc = (trained.predict(out).numpy().argmax(1) == labels).mean()
    return cos, acc


@pytest.mark.parametrize("name", ["pitch_shift", "noise", "time_mask"])
def test_a_row_is_the_similarity_and_accuracy_computed_by_hand(demo, name):
    trained, waves, labels = demo
    rows = {r.augmentation: r for r in invariance_report(trained, waves, labels, names=[name], seed=3, batch_size=8)}
    cos, acc = _by_hand(trained, waves, labels, name, seed=3, batch=8)
    r = rows[name]
    assert r.clips == len(waves)
    assert r.similarity_mean == pytest.approx(cos.mean(), abs=1e-6)
    assert r.similarity_std == pytest.approx(cos.std(), abs=1e-6)
    assert r.similarity_p10 == pytest.approx(np.percentile(cos, 10), abs=1e-6)
    assert r.accuracy_augmented == pytest.approx(acc)
    clean = (trained.predict(torch.as_tensor(waves)).numpy().argmax(1) == labels).mean()
    assert r.accuracy_clean == pytest.approx(clean)
    assert r.similarity_mean < 1 - 1e-4  # the augmentation did something to the embeddings
    assert set(rows) == {name, CHAIN}


def test_fixed_seeds_agree_and_another_seed_differs(demo):
    trained, waves, labels = demo
    names = ["time_stretch", "fade"]
    a = invariance_report(trained, waves, labels, names=names, seed=0)
    b = invariance_report(trained, waves, labels, names=names, seed=0)
    c = invariance_report(trained, waves, labels, names=names, seed=1)
    assert a == b
    assert [r.similarity_mean for r in a] != [r.similarity_mean for r in c]


def test_a_model_without_a_classifier_gets_similarities_only(tmp_path):
    csv_path = fsdd_csv(tmp_path / "data", train=2, valid=1, test=1)
    folder = make_checkpoint(tmp_path / "simclr", csv_path, regime="simclr", label_fraction=1.0)
    trained = load_trained(folder, device="cpu")
    data = load_dataset("csv", root=str(csv_path), num_samples=trained.num_samples, progress=False)
    rows = invariance_report(trained, data.waveforms[:6], data.labels[:6], names=["noise"])
    assert all(r.accuracy_clean is None and r.accuracy_augmented is None for r in rows)
    assert all(-1 <= r.similarity_mean <= 1 and r.clips == 6 for r in rows)


def test_the_cli_writes_csv_and_json_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "inv"
    code = main(["invariance", "--checkpoint", str(DEMO), "--split", "test", "--max-clips", "12",
                 "--augmentations", "noise,time_shift", "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "noise" in text and "time_shift" in text and CHAIN in text
    rows = list(csv.DictReader((out / "invariance.csv").read_text().splitlines()))
    assert [r["augmentation"] for r in rows] == ["noise", "time_shift", CHAIN]
    meta = json.loads((out / "invariance.json").read_text())
    assert meta["clips"] == 12 and meta["dataset"] == "demo" and len(meta["rows"]) == 3
    assert float(rows[0]["similarity_mean"]) == pytest.approx(meta["rows"][0]["similarity_mean"])


def test_bad_input_is_one_line(demo):
    trained, waves, labels = demo
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown"):
        invariance_report(trained, waves, labels, names=["reverb"])
    with pytest.raises(ConfigError, match="labels"):
        invariance_report(trained, waves, labels[:3])
    with pytest.raises(ConfigError, match="N >= 1"):
        invariance_report(trained, waves[:0], None)
