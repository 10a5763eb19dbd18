"""Official-layout fixtures, built in temporary folders from real clips of ``$CLAR_DATA_DIR``.

Each fixture arranges a handful of real clips as the official archive does, with metadata in the official format,
so that the loaders' official code paths run on real audio. Clips are written as the archives ship them (ESC-50:
44.1 kHz WAV; Speech Commands and NSynth: 16 kHz WAV; FSDD: 8 kHz WAV).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.audio import load_audio_numpy

ESC50_CATEGORIES = (
    *("dog", "rooster", "pig", "cow", "frog", "cat", "hen", "insects", "sheep", "crow", "rain", "sea_waves"),
    *("crackling_fire", "crickets", "chirping_birds", "water_drops", "wind", "pouring_water", "toilet_flush"),
    *("thunderstorm", "crying_baby", "sneezing", "clapping", "breathing", "coughing", "footsteps", "laughing"),
    *("brushing_teeth", "snoring", "drinking_sipping", "door_wood_knock", "mouse_click", "keyboard_typing"),
    *("door_wood_creaks", "can_opening", "washing_machine", "vacuum_cleaner", "clock_alarm", "clock_tick"),
    *("glass_breaking", "helicopter", "chainsaw", "siren", "car_horn", "engine", "train", "church_bells"),
    *("airplane", "fireworks", "hand_saw"),
)
"""The 50 ESC-50 categories in target order (from the official meta/esc50.csv)."""

NSYNTH_QUALITIES = (
    *("bright", "dark", "distortion", "fast_decay", "long_release", "multiphonic", "nonlinear_env", "percussive"),
    *("reverb", "tempo-synced"),
)


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_wav(path: Path, source: Path, sample_rate: int, seconds: float | None = None) -> None:
    """Write a real clip as 16-bit WAV at ``sample_rate`` Hz (optionally cropped to ``seconds``)."""
    x = load_audio_numpy(source, sample_rate)
    if seconds is not None:
        x = x[: round(seconds * sample_rate)]
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, sample_rate, subtype="PCM_16")


@pytest.fixture(scope="session")
def esc50_official(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """``ESC-50-master/`` with ``meta/esc50.csv`` and ``audio/*.wav`` (44.1 kHz, cropped to 1 s).

    90 clips: one real clip per ESC-10 class and fold (50 rows with ``esc10=True``), plus one row for each of the
    other 40 categories (``esc10=False``), whose audio is a stand-in ESC-10 clip (only the layout matters there).
    """
    root = tmp_path_factory.mktemp("esc50") / "ESC-50-master"
    rows = read_rows(data_dir / "esc10" / "metadata.csv")
    chosen = []
    for target in sorted({int(r["target"]) for r in rows}):
        for fold in range(1, 6):
            chosen += [r for r in rows if int(r["target"]) == target and int(r["fold"]) == fold][:1]
    meta = []
    for r in chosen:
        write_wav(root / "audio" / r["esc50_filename"], data_dir / "esc10" / r["path"], 44100, 1.0)
        meta.append((r["esc50_filename"], r["fold"], r["target"], r["category"], "True", r["src_file"], r["take"]))
    esc10_targets = {int(r["target"]) for r in chosen}
    others = [t for t in range(50) if t not in esc10_targets]
    for i, target in enumerate(others):
        fold, src = i % 5 + 1, 900000 + target
        name = f"{fold}-{src}-A-{target}.wav"
        write_wav(root / "audio" / name, data_dir / "esc10" / chosen[i % len(chosen)]["path"], 44100, 1.0)
        meta.append((name, str(fold), str(target), ESC50_CATEGORIES[target], "False", str(src), "A"))
    (root / "meta").mkdir(parents=True)
    with open(root / "meta" / "esc50.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
        w.writerows(sorted(meta))
    return root


@pytest.fixture(scope="session")
def speech_commands_v2_official(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A v0.02 tree: 35 word folders (2 real clips each; the 5 words new in v0.02 use stand-in clips), with
    ``validation_list.txt``, ``testing_list.txt`` and ``_background_noise_/``."""
    from core.data.speech_commands import V2_WORDS

    root = tmp_path_factory.mktemp("speech_commands_v0.02")
    rows = read_rows(data_dir / "speech_commands" / "metadata.csv")
    by_word: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_word.setdefault(r["label"], []).append(r)
    stand_ins = [r for w in sorted(by_word) for r in by_word[w][2:3]]
    rels = []
    for i, word in enumerate(V2_WORDS):
        clips = by_word.get(word, [])[:2] or stand_ins[2 * i % len(stand_ins) :][:2]
        for r in clips:
            src = data_dir / "speech_commands" / r["path"]
            rel = f"{word}/{Path(r['path']).stem}.wav"
            write_wav(root / rel, src, 16000)
            rels.append(rel)
    noise = sorted((data_dir / "esc10" / "audio").iterdir())[0]
    write_wav(root / "_background_noise_" / "running_tap.wav", noise, 16000)
    (root / "validation_list.txt").write_text("".join(f"{r}\n" for r in rels[0::5]))
    (root / "testing_list.txt").write_text("".join(f"{r}\n" for r in rels[1::5]))
    (root / "README.md").write_text("Speech Commands v0.02 (test fixture)\n")
    return root


@pytest.fixture(scope="session")
def nsynth_official(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """``nsynth-{train,valid,test}/examples.json`` + ``audio/<note_str>.wav``: 12 real notes, 4 per split.

    Notes in train are also transposed (+4 and +7 semitones, by resampling) so that the pitch task sees more than
    MIDI 60; their ``pitch`` and ``note_str`` say so, as NSynth's would.
    """
    root = tmp_path_factory.mktemp("nsynth")
    rows = read_rows(data_dir / "nsynth" / "metadata.csv")
    by_instrument: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_instrument.setdefault(r["instrument_str"], []).append(r)
    instruments = sorted(by_instrument)
    plan = {"nsynth-train": instruments[0:4], "nsynth-valid": instruments[10:14], "nsynth-test": instruments[20:24]}
    for folder, names in plan.items():
        examples = {}
        for name in names:
            r = by_instrument[name][0]
            shifts = (0, 4, 7) if folder == "nsynth-train" else (0,)
            for k in shifts:
                pitch = int(r["pitch"]) + k
                note_str = f"{name}-{pitch:03d}-{int(r['velocity']):03d}"
                x = load_audio_numpy(data_dir / "nsynth" / r["path"], round(16000 / 2 ** (k / 12)))
                x = np.pad(x, (0, max(0, 64000 - len(x))))[:64000]
                path = root / folder / "audio" / f"{note_str}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, x, 16000, subtype="PCM_16")
                qualities = r["qualities_str"].split("|") if r["qualities_str"] else []
                examples[note_str] = {
                    "note": int(r["note"]),
                    "note_str": note_str,
                    "instrument": int(r["instrument"]),
                    "instrument_str": name,
                    "pitch": pitch,
                    "velocity": int(r["velocity"]),
                    "sample_rate": 16000,
                    "qualities": [int(q in qualities) for q in NSYNTH_QUALITIES],
                    "qualities_str": qualities,
                    "instrument_family": int(r["instrument_family"]),
                    "instrument_family_str": r["label"],
                    "instrument_source": int(r["instrument_source"]),
                    "instrument_source_str": r["instrument_source_str"],
                }
        (root / folder / "examples.json").write_text(json.dumps(examples, indent=2))
    return root


@pytest.fixture(scope="session")
def fsdd_official(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """``free-spoken-digit-dataset-master/recordings/<digit>_<speaker>_<take>.wav`` at 8 kHz: 4 speakers x 10
    digits x takes {0, 1, 5, 6}, 160 real recordings, plus the repository's other files."""
    root = tmp_path_factory.mktemp("fsdd") / "free-spoken-digit-dataset-master"
    rows = read_rows(data_dir / "fsdd" / "metadata.csv")
    speakers = ("george", "jackson", "lucas", "theo")
    for r in rows:
        if r["speaker"] in speakers and int(r["take"]) in (0, 1, 5, 6):
            write_wav(root / "recordings" / Path(r["source_file"]).name, data_dir / "fsdd" / r["path"], 8000)
    (root / "README.md").write_text("Free Spoken Digit Dataset (test fixture)\n")
    (root / "recordings" / "notes.txt").write_text("not a recording\n")
    return root
