"""What each dataset family offers: its folder names, download, tasks, versions, folds and clip length.

One table that the loader (:mod:`core.data`), the config check (:mod:`core.data.config`) and the app's forms all
read, so that a dataset's options are stated once.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.data import nsynth, speech_commands
from core.errors import DatasetError

DATASET_NAMES = ("esc10", "esc50", "sc09", "speech_commands", "nsynth", "fsdd", "demo", "folder", "csv")
"""Names accepted by :func:`core.data.load_dataset`."""

DEFAULT_SECONDS: dict[str, float | None] = {
    "esc10": 5.0,
    "esc50": 5.0,
    "sc09": 1.0,
    "speech_commands": 1.0,
    "nsynth": 4.0,
    "fsdd": 1.0,
    "demo": 1.0,
    "folder": None,
    "csv": None,
}
"""Clip length per dataset in seconds, as in the paper. ``None`` (folder, csv): the median clip duration,
rounded up to 0.1 s and capped at :data:`MAX_DEFAULT_SECONDS`."""

MAX_DEFAULT_SECONDS = 10.0

FOLDERS = {
    "esc10": ("esc10", "esc50", "ESC-50-master"),
    "esc50": ("esc50", "ESC-50-master"),
    "sc09": ("sc09", "speech_commands", "speech_commands_v0.02", "speech_commands_v0.01"),
    "speech_commands": ("speech_commands", "speech_commands_v0.02", "speech_commands_v0.01"),
    "nsynth": ("nsynth",),
    "fsdd": ("fsdd", "free-spoken-digit-dataset-master"),
    "demo": (),
    "folder": (),
    "csv": (),
}
"""Folder names searched for each dataset under every data directory, in order."""

DOWNLOADABLE = {
    "esc10": "esc50",
    "esc50": "esc50",
    "sc09": "speech_commands",
    "speech_commands": "speech_commands",
    "nsynth": "nsynth",
    "fsdd": "fsdd",
}
"""The ``python -m core data download`` name that provides each dataset."""

TASKS = {"speech_commands": speech_commands.TASKS, "sc09": ("sc09",), "nsynth": nsynth.TASKS}
VERSIONS = {"speech_commands": speech_commands.VERSIONS, "sc09": speech_commands.VERSIONS}
FOLDS = {"esc10": (1, 2, 3, 4, 5), "esc50": (1, 2, 3, 4, 5)}
GROUPS = {"fsdd": "speaker", "sc09": "speaker", "speech_commands": "speaker", "nsynth": "instrument"}
"""What ``data.test_group`` leaves out, per dataset that has such groups."""
DESCRIPTIONS = {
    "esc10": "ESC-10: 400 environmental sounds of 5 s, 10 classes, 5 folds",
    "esc50": "ESC-50: 2,000 environmental sounds of 5 s, 50 classes, 5 folds",
    "sc09": "SC09: the spoken digits zero to nine of Speech Commands, 1 s",
    "speech_commands": "Speech Commands: 1 s spoken words, 30 classes (v0.01) or 35 (v0.02)",
    "nsynth": "NSynth: 4 s musical notes; instrument family or pitch",
    "fsdd": "Free Spoken Digit Dataset: 3,000 spoken digits, 6 speakers",
    "demo": "Demo (SYNTHETIC): 8 classes x 40 generated one-second sounds, for trying the app",
    "folder": "Your folder: one subfolder of audio files per class",
    "csv": "Your CSV: path,label[,split] rows",
}


@dataclass(frozen=True)
class DatasetFamily:
    """The options of one dataset family.

    Attributes:
        name: the dataset's name.
        description: one line for humans (the demo says it is synthetic).
        tasks: tasks it offers (``data.task``); empty if none.
        versions: versions it offers (``data.version``); empty if none.
        folds: folds it offers (``data.test_fold``); empty if none.
        group: what ``data.test_group`` leaves out (``speaker``, ``instrument``), or None.
        download: the ``python -m core data download`` name that provides it, or None.
        needs_root: whether a location must be given (``folder``, ``csv``).
        synthetic: generated, not recorded (the demo).
        seconds: default clip length in seconds (None: the median clip duration).
    """

    name: str
    description: str
    tasks: tuple[str, ...]
    versions: tuple[str, ...]
    folds: tuple[int, ...]
    group: str | None
    download: str | None
    needs_root: bool
    synthetic: bool
    seconds: float | None


def check_name(name: str) -> str:
    """The canonical name of a dataset (``ESC-10`` -> ``esc10``).

    Raises:
        DatasetError: an unknown name, with the list of known ones.
    """
    key = str(name).strip().lower().replace("-", "_")
    if key not in DATASET_NAMES:
        raise DatasetError(f"unknown dataset {name!r}; choose from {', '.join(DATASET_NAMES)}")
    return key


def family(name: str) -> DatasetFamily:
    """The options of dataset ``name`` (see :class:`DatasetFamily`)."""
    key = check_name(name)
    return DatasetFamily(
        name=key,
        description=DESCRIPTIONS[key],
        tasks=tuple(TASKS.get(key, ())),
        versions=tuple(VERSIONS.get(key, ())),
        folds=FOLDS.get(key, ()),
        group=GROUPS.get(key),
        download=DOWNLOADABLE.get(key),
        needs_root=key in ("folder", "csv"),
        synthetic=key == "demo",
        seconds=DEFAULT_SECONDS[key],
    )
