"""The dataset catalog states each family's options once; the scanners, the downloader and the config check
agree with it."""

from __future__ import annotations

import os

import pytest

from core.data import DATASET_NAMES, family, list_clips, nsynth, speech_commands
from core.data.archives import ARCHIVES
from core.errors import ConfigError, DatasetError

DATA = os.environ.get("CLAR_DATA_DIR")


def test_every_family_is_described_and_the_demo_says_synthetic():
    for name in DATASET_NAMES:
        fam = family(name)
        assert fam.name == name and fam.description
        assert fam.synthetic == (name == "demo") and ("SYNTHETIC" in fam.description) == (name == "demo")
        assert fam.needs_root == (name in ("folder", "csv"))
    assert family("Speech-Commands").name == "speech_commands"
    with pytest.raises(DatasetError, match="unknown dataset 'esc100'"):
        family("esc100")


def test_options_are_the_scanners_own():
    assert family("nsynth").tasks == nsynth.TASKS and family("speech_commands").tasks == speech_commands.TASKS
    assert family("speech_commands").versions == speech_commands.VERSIONS
    assert family("esc50").folds == (1, 2, 3, 4, 5) and family("fsdd").folds == ()
    assert family("fsdd").group == "speaker" and family("nsynth").group == "instrument"
    assert family("esc10").group is None


def test_every_download_name_is_an_archive():
    for name in DATASET_NAMES:
        fam = family(name)
        assert (fam.download in ARCHIVES) if fam.download else name in ("demo", "folder", "csv")


def test_folds_the_catalog_offers_are_the_ones_the_loader_takes():
    assert DATA, "set CLAR_DATA_DIR to the shared data folder"
    for fold in family("esc10").folds:
        clips = list_clips("esc10", fold=fold)
        assert len(clips.paths) == 400
    with pytest.raises(ConfigError, match="fold= applies only to esc10, esc50"):
        list_clips("fsdd", fold=1)
