"""Benchmark: batched ``ClarFeatures`` vs librosa clip by clip, on real clips, both presets, in one run.

Data (from $CLAR_DATA_DIR, else ./data): 256 FSDD clips zero-padded/cropped to 1 s, and 64 ESC-10 clips
cropped to 5 s (16 kHz mono). For each preset the reference computes the same three channels per clip:

* ``paper``: ``librosa.stft`` (n_fft 1024, 256-sample Hann, hop 128, centred, zero padding) once; channel 0 =
  ``librosa.power_to_db`` of every 4th bin's power, channel 1 = ``np.angle`` of those bins, channel 2 =
  ``librosa.power_to_db(librosa.feature.melspectrogram(S=power, ...))``.
* ``official``: ``librosa.stft`` (n_fft 2048, 2048-sample Hann) for the Mel channel; the log-frequency channel
  has no librosa equivalent, so the reference is a librosa-free numpy float32 matmul of each clip's frames
  with a precomputed windowed cos/sin kernel at nnAudio's 128 log-spaced frequencies.

Both sides use float32 input, power_to_db with amin 1e-10 and top_db 80 per clip. Outputs are compared in the
same run: dB channels by max abs difference (dB), phase modulo 2*pi where the reference bin is within 60 dB
of the clip's peak. Speed is clips per second (best of ``--repeat`` runs for ours, best of ``--ref-repeat``
passes for librosa, after a warm-up clip). Writes the "features" section of docs/benchmarks.md unless ``--quick``.

Usage: ``python bench/features.py [--quick] [--batch-size 64] [--threads N] [--device auto|cpu]``
(``--repeat``, ``--ref-repeat``: timed runs; the best is kept).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import machine_info, markdown_table, time_call, write_section
from core.features import ClarFeatures, feature_config
from core.features.logfreq import dft_kernel, log_frequencies
from core.paths import data_dirs

DB_TOL = 0.05  # dB, float32 vs librosa float32
PHASE_TOL = 1e-2  # radians, where the reference is within 60 dB of the clip's peak
PHASE_RANGE_DB = 60.0


def find_dataset(name: str) -> Path:
    for root in data_dirs():
        if (Path(root) / name / "metadata.csv").exists():
            return Path(root) / name
    raise SystemExit(f"bench/features.py: dataset {name!r} not found under {', '.join(map(str, data_dirs()))}")


def load_clips(name: str, count: int, num_samples: int) -> np.ndarray:
    """The first ``count`` clips of ``name`` (sorted by path), zero-padded or cropped on the right."""
    import pandas as pd

    root = find_dataset(name)
    paths = sorted(pd.read_csv(root / "metadata.csv")["path"])[:count]
    out = np.zeros((len(paths), num_samples), dtype=np.float32)
    for i, rel in enumerate(paths):
        audio, sr = sf.read(root / rel, dtype="float32", always_2d=True)
        if sr != 16000:
            raise SystemExit(f"{root / rel}: sample rate {sr}, expected 16000")
        audio = audio.mean(axis=1)[:num_samples]
        out[i, : audio.shape[0]] = audio
    return out


class LibrosaReference:
    """The three channels of one clip, computed with librosa (and numpy for the log-frequency DFT)."""

    def __init__(self, preset: str) -> None:
        self.cfg = feature_config(preset)
        c = self.cfg
        if c.stft_scale == "log":
            window = np.hanning(c.win_length + 1)[:-1]  # periodic Hann
            k = dft_kernel(log_frequencies(c.stft_fmin, c.stft_fmax, c.stft_bins), window, 0, c.sample_rate)
            self.kernel = k.astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import librosa

        c = self.cfg
        spec = librosa.stft(
            x, n_fft=c.mel_n_fft, hop_length=c.hop_length, win_length=c.win_length, center=True, pad_mode="constant"
        )
        power = np.abs(spec) ** 2
        mel = librosa.feature.melspectrogram(
            S=power, sr=c.sample_rate, n_fft=c.mel_n_fft, n_mels=c.n_mels, fmin=c.mel_fmin, fmax=c.mel_fmax
        )
        if c.stft_scale == "log":
            xp = np.pad(x, c.stft_n_fft // 2)
            frames = np.lib.stride_tricks.sliding_window_view(xp, c.stft_n_fft)[:: c.hop_length]
            out = frames @ self.kernel
            z = (out[:, : c.stft_bins] + 1j * out[:, c.stft_bins :]).T
        else:
            z = spec[: c.decimation * c.stft_bins : c.decimation]
        return np.stack(
            [
                librosa.power_to_db(np.abs(z) ** 2, amin=c.amin, top_db=c.top_db),
                np.angle(z),
                librosa.power_to_db(mel, amin=c.amin, top_db=c.top_db),
            ]
        )


def compare(ours: np.ndarray, ref: np.ndarray) -> tuple[float, float, float]:
    """Max |diff| of channel 0 (dB), channel 1 (rad, mod 2*pi, bins within 60 dB of peak), channel 2 (dB)."""
    d0 = float(np.abs(ours[:, 0] - ref[:, 0]).max())
    d2 = float(np.abs(ours[:, 2] - ref[:, 2]).max())
    peak = ref[:, 0].reshape(len(ref), -1).max(axis=1)[:, None, None]
    mask = ref[:, 0] > peak - PHASE_RANGE_DB
    dphi = np.angle(np.exp(1j * (ours[:, 1].astype(np.float64) - ref[:, 1])))
    d1 = float(np.abs(dphi[mask]).max())
    return d0, d1, d2


def run_ours(model: ClarFeatures, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small smoke run (16 + 4 clips); does not write docs")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of ours (best is kept)")
    ap.add_argument("--ref-repeat", type=int, default=2, help="timed passes of librosa (best is kept)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--device", default="auto", help="auto: also time ours on CUDA when present; cpu: CPU only")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    n1, n5 = (16, 4) if args.quick else (256, 64)
    sets = [
        ("FSDD 1 s", load_clips("fsdd", n1, 16000)),
        ("ESC-10 5 s", load_clips("esc10", n5, 80000)),
    ]
    gpu = args.device != "cpu" and torch.cuda.is_available()
    rows, failures = [], []
    for preset in ("paper", "official"):
        model = ClarFeatures(preset)
        ref_fn = LibrosaReference(preset)
        for label, clips in sets:
            x = torch.from_numpy(clips)
            ref_fn(clips[0])  # warm-up (imports, caches)
            t_ours = time_call(lambda m=model, x=x: run_ours(m, x, args.batch_size), repeat=args.repeat)
            ours = run_ours(model, x, args.batch_size).numpy()
            box: list[np.ndarray] = []
            t_ref = time_call(
                lambda f=ref_fn, c=clips, b=box: b.append(np.stack([f(clip) for clip in c])),
                repeat=args.ref_repeat,
                warmup=0,
            )
            ref = box[-1]
            d0, d1, d2 = compare(ours, ref)
            ok = d0 <= DB_TOL and d1 <= PHASE_TOL and d2 <= DB_TOL
            if not ok:
                failures.append(f"{preset} {label}: max diff {d0:.4f} dB / {d1:.4f} rad / {d2:.4f} dB")
            cuda_cps = "-"
            if gpu:
                dev = torch.device("cuda")
                mg, xg = ClarFeatures(preset).to(dev), x.to(dev)
                t_gpu = time_call(lambda m=mg, x=xg: run_ours(m, x, args.batch_size), repeat=args.repeat, sync=True)
                cuda_cps = f"{len(x) / t_gpu:,.0f}"
            rows.append(
                [
                    preset,
                    f"{label} x{len(x)}",
                    f"{len(x) / t_ref:,.1f}",
                    f"{len(x) / t_ours:,.1f}",
                    f"{t_ref / t_ours:.1f}x",
                    cuda_cps,
                    f"{d0:.4f} / {d1:.4f} / {d2:.4f}",
                    "yes" if ok else "NO",
                ]
            )
            print(" | ".join(map(str, rows[-1])), flush=True)
    header = [
        "preset",
        "clips",
        "librosa clips/s",
        "ours CPU clips/s",
        "speed-up",
        "ours CUDA clips/s",
        "max diff ch0 dB / ch1 rad / ch2 dB",
        "within tol",
    ]
    table = markdown_table(header, rows)
    note = (
        f"Machine: {machine_info('cuda' if gpu else 'cpu')}. Ours: `ClarFeatures` float32, batches of "
        f"{args.batch_size}, best of {args.repeat}; librosa: one clip at a time, best of {args.ref_repeat} passes "
        "(log-frequency channel of `official`: numpy float32 matmul per clip, no librosa equivalent). Tolerances: "
        f"{DB_TOL} dB on dB channels, {PHASE_TOL} rad on phase (mod 2 pi, bins within {PHASE_RANGE_DB:.0f} dB of "
        "the clip's peak). Run: `python bench/features.py`."
    )
    print(table)
    if not args.quick:
        path = write_section("features", "## Features (`bench/features.py`)\n\n" + note + "\n\n" + table)
        print(f"wrote {path}")
    if failures:
        print("OUTPUTS DIFFER:\n" + "\n".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
