"""The shipped models (checkpoints/pretrained/): each loads weights-only and still scores its card's test accuracy."""

import json

import pytest
import torch

from core.checkpoint import TRAINING_STATE_KEYS
from core.train import pretrained

NAMES = sorted(pretrained.MODELS)


@pytest.fixture(autouse=True)
def _shared_data(data_dir, monkeypatch):
    monkeypatch.setenv("CLAR_DATA_DIR", str(data_dir))


def _card(name: str) -> dict:
    path = pretrained.PRETRAINED_DIR / name / pretrained.CARD_JSON
    assert path.is_file(), f"{name}: no shipped card at {path}"
    return json.loads(path.read_text())


def test_every_model_in_the_catalogue_is_shipped():
    shipped = sorted(p.name for p in pretrained.PRETRAINED_DIR.iterdir() if (p / pretrained.MODEL_FILE).is_file())
    assert shipped == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_shipped_model_is_small_weights_only_and_documented(name):
    card = _card(name)
    path = pretrained.PRETRAINED_DIR / name / pretrained.MODEL_FILE
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert not set(TRAINING_STATE_KEYS) & set(state)
    assert path.stat().st_size <= 5_000_000
    assert card["model_bytes"] == path.stat().st_size
    md = (pretrained.PRETRAINED_DIR / name / pretrained.CARD_MD).read_text()
    assert pretrained.render_card(card) == md
    assert card["command"] == f"python -m core pretrained build {name}"
    assert len(card["commit"]) == 40 and "dirty" not in card["commit"]  # a committed state that can be rebuilt


@pytest.mark.parametrize("name", NAMES)
def test_shipped_model_reproduces_its_cards_test_accuracy(name):
    card = _card(name)
    report = pretrained.test_report(pretrained.PRETRAINED_DIR / name / pretrained.MODEL_FILE)
    assert report["sizes"]["test"] == card["test"]["clips"] == card["data"]["test"]
    assert abs(report["top1"] - card["test"]["top1"]) <= 0.01
    if card["target"] is not None:
        assert card["test"]["top1"] >= card["target"], f"{name}: below target (say so on its card)"
