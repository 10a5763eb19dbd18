"""The built-in demo dataset: synthetic sounds, generated deterministically, for a machine with no real data.

It is **not real audio**: 8 classes x 40 one-second clips of generated signals (beeps, chirps, noise bursts,
click trains, harmonic stacks, tremolo, band noise), each clip with its own random frequencies, timing, level and a
little background noise, so that telling the classes apart takes a model, not a rule. The same clips are produced
on every machine (seeded), once, into ``$CLAR_CACHE_DIR/demo-v1/`` (16-bit WAV plus ``metadata.csv``), and listed
like any other dataset: ``load_dataset("demo")`` or ``--set data.dataset=demo``.

Splits (fixed, per class): 28 train, 6 valid, 6 test clips (224 / 48 / 48 in all).
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core import SAMPLE_RATE
from core.data.listing import ClipList, read_csv_rows, resolve_clip
from core.errors import DatasetError
from core.paths import cache_dir

VERSION = 1
CLIPS_PER_CLASS = 40
SPLIT_COUNTS = {"train": 28, "valid": 6, "test": 6}
DESCRIPTION = "synthetic demo sounds (generated, not recorded): 8 classes x 40 clips of 1 s"

Signal = Callable[[np.random.Generator, np.ndarray], np.ndarray]


def _env(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A random attack-sustain-release envelope over the 1 s clip."""
    attack, release = rng.uniform(0.005, 0.08), rng.uniform(0.05, 0.3)
    start, stop = rng.uniform(0.0, 0.2), rng.uniform(0.7, 1.0)
    up = np.clip((t - start) / attack, 0, 1)
    down = np.clip((stop - t) / release, 0, 1)
    return up * down


def _beep(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    start, length = rng.uniform(0.05, 0.6), rng.uniform(0.12, 0.35)
    ramp = np.clip(np.minimum(t - start, start + length - t) / 0.01, 0, 1)
    return np.sin(2 * np.pi * rng.uniform(300, 3000) * t + rng.uniform(0, 2 * np.pi)) * ramp


def _chirp(rising: bool) -> Signal:
    def make(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
        low, high = rng.uniform(200, 700), rng.uniform(2000, 6000)
        f0, f1 = (low, high) if rising else (high, low)
        k = np.log(f1 / f0)  # exponential sweep over the clip
        phase = 2 * np.pi * f0 * (np.exp(k * t) - 1) / k
        return np.sin(phase) * _env(rng, t)

    return make


def _burst(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    start, length = rng.uniform(0.05, 0.6), rng.uniform(0.08, 0.3)
    gate = ((t >= start) & (t < start + length)).astype(float)
    return rng.standard_normal(t.shape) * gate * 0.5


def _clicks(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    out = np.zeros_like(t)
    rate = rng.uniform(6, 30)
    first = rng.uniform(0, 1 / rate)
    for c in np.arange(first, 1.0, 1 / rate):
        i = int(c * SAMPLE_RATE)
        n = min(48, len(t) - i)
        out[i : i + n] += np.exp(-np.arange(n) / 6.0) * rng.choice([-1, 1])
    return out


def _harmonics(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    f0, count = rng.uniform(100, 400), int(rng.integers(5, 11))
    x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, count + 1))
    return x * _env(rng, t) / 2


def _tremolo(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    carrier = np.sin(2 * np.pi * rng.uniform(300, 2000) * t)
    depth, rate = rng.uniform(0.9, 1.0), rng.uniform(3, 10)
    return carrier * (1 - depth * 0.5 * (1 + np.sin(2 * np.pi * rate * t))) * _env(rng, t)


def _band_noise(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(t.shape))
    freqs = np.fft.rfftfreq(t.shape[0], 1 / SAMPLE_RATE)
    centre, width = rng.uniform(500, 4000), rng.uniform(100, 600)
    spec *= np.exp(-0.5 * ((freqs - centre) / width) ** 2)
    x = np.fft.irfft(spec, n=t.shape[0])
    return x / (np.abs(x).max() + 1e-9) * _env(rng, t)


CLASSES: dict[str, Signal] = {
    "beep": _beep,
    "rising chirp": _chirp(True),
    "falling chirp": _chirp(False),
    "noise burst": _burst,
    "click train": _clicks,
    "harmonic stack": _harmonics,
    "tremolo tone": _tremolo,
    "band noise": _band_noise,
}
"""The 8 classes and how each clip of them is made."""

CLASS_DESCRIPTIONS = {
    "beep": "a pure tone of 300 Hz to 3 kHz for 0.12 to 0.35 s",
    "rising chirp": "an exponential sweep upward, from 200-700 Hz to 2-6 kHz",
    "falling chirp": "the same sweep downward",
    "noise burst": "white noise gated on for 0.08 to 0.3 s",
    "click train": "decaying clicks at 6 to 30 per second",
    "harmonic stack": "a 100-400 Hz note with 5 to 10 harmonics",
    "tremolo tone": "a 300 Hz to 2 kHz tone whose loudness swings 3 to 10 times a second",
    "band noise": "noise in one band 100-600 Hz wide centred at 0.5 to 4 kHz",
}
"""One line per class, for the app's preview."""


def synthesize(label: int, index: int) -> np.ndarray:
    """Clip ``index`` of class ``label``: float32 [16000] at 16 kHz, the same on every machine.

    The peak lies between -20 and -3 dBFS, with background noise 25 to 45 dB below the clip's RMS level.
    """
    rng = np.random.default_rng([VERSION, label, index])
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    x = list(CLASSES.values())[label](rng, t)
    x = x / (np.abs(x).max() + 1e-9) * 10 ** (rng.uniform(-20, -3) / 20)
    rms = np.sqrt(np.mean(x**2)) + 1e-9
    x = x + rng.standard_normal(t.shape) * rms * 10 ** (-rng.uniform(25, 45) / 20)
    return np.clip(x, -1, 1).astype(np.float32)


def demo_root() -> Path:
    """Where the demo clips live: ``$CLAR_CACHE_DIR/demo-v<VERSION>``, generated there on first use."""
    root = cache_dir() / f"demo-v{VERSION}"
    if not (root / "metadata.csv").is_file():
        generate(root)
    return root


def generate(root: Path) -> Path:
    """Write every demo clip and ``metadata.csv`` into ``root`` (atomically: a temporary folder, then a rename)."""
    import soundfile as sf

    tmp = root.with_name(f".{root.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    splits = [s for s, n in SPLIT_COUNTS.items() for _ in range(n)]
    for label, name in enumerate(CLASSES):
        folder = tmp / name.replace(" ", "_")
        folder.mkdir(parents=True)
        for i in range(CLIPS_PER_CLASS):
            path = folder / f"{name.replace(' ', '_')}_{i:02d}.wav"
            sf.write(path, synthesize(label, i), SAMPLE_RATE, subtype="PCM_16")
            rows.append((path.relative_to(tmp).as_posix(), label, name, splits[i]))
    with open(tmp / "metadata.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "class_name", "split"])
        w.writerows(rows)
    (tmp / "README.txt").write_text(f"CLAR Studio {DESCRIPTION}. Regenerated by core.data.demo if deleted.\n")
    if root.exists():
        shutil.rmtree(root)
    os.replace(tmp, root)
    return root


def scan(root: Path, **_: object) -> ClipList:
    """List the demo clips (generating them first if ``root`` is the default and holds none)."""
    listed = root / "metadata.csv"
    if not listed.is_file():
        raise DatasetError(f"demo: {listed} is missing (delete {root} to have it generated again)")
    rows = read_csv_rows(listed, ("path", "label", "class_name", "split"))
    names = list(CLASSES)
    if len(rows) != len(names) * CLIPS_PER_CLASS:
        raise DatasetError(f"demo: {listed} lists {len(rows)} clips, expected {len(names) * CLIPS_PER_CLASS}")
    return ClipList(
        name="demo",
        root=root,
        paths=[resolve_clip(root, r["path"], listed) for r in rows],
        labels=np.array([int(r["label"]) for r in rows]),
        class_names=names,
        split=np.array([r["split"] for r in rows]),
        meta={
            "layout": "synthetic",
            "split_source": "fixed per class: 28 train, 6 valid, 6 test",
            "synthetic": True,
            "description": DESCRIPTION,
            "class_descriptions": CLASS_DESCRIPTIONS,
        },
    )
