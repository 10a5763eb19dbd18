"""Benchmark: batched ``ClarFeatures`` against librosa in its best form, and against the floor, on real clips.

Data (from $CLAR_DATA_DIR, else ./data): 256 FSDD clips zero-padded/cropped to 1 s, and 64 ESC-10 clips
cropped to 5 s (16 kHz mono). For each preset the reference computes the same three channels:

* ``paper``: ``librosa.stft`` (n_fft 1024, 256-sample Hann, hop 128, centred, zero padding); channel 0 =
  ``librosa.power_to_db`` of every 4th bin's power, channel 1 = the phase of those bins, channel 2 =
  ``power_to_db`` of the Mel projection.
* ``official``: ``librosa.stft`` (n_fft 2048, 2048-sample Hann) for the Mel channel; the log-frequency channel
  has no librosa equivalent, so the reference is a numpy float32 matmul of each clip's frames with a precomputed
  windowed cos/sin kernel at nnAudio's 128 log-spaced frequencies.

librosa runs in its best documented form (:class:`LibrosaReference`): the Mel filterbank built once, power as
``re**2 + im**2``, and ``librosa.stft`` both clip by clip and on the whole [N, T] batch; the faster counts. The
**floor** is the bare transforms on the same chunks as ours (the STFT, and the log-frequency DFT for ``official``,
in the block form ours uses).

Protocol, the same for every side: one process, the row's thread count for torch and for numpy's BLAS
(threadpoolctl), rows for 1 thread and for all cores, one warm-up run, then the median of ``--repeat`` (at least
5) runs. Outputs are compared in the same run: dB channels by max abs difference (dB), phase modulo 2*pi where
the reference bin is within 60 dB of the clip's peak. Writes the "features" section of docs/benchmarks.md unless
``--quick`` or ``--no-write``.

Usage: ``python bench/features.py [--quick] [--no-write] [--threads 1,all] [--repeat 5] [--batch-size 64]
[--device auto|cpu]``
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import machine_info, markdown_table, median_time, write_section
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
    """The three channels computed with librosa in its best documented form (and numpy for the log-frequency DFT).

    The Mel filterbank is built once (``librosa.filters.mel``; ``melspectrogram`` would rebuild it for every call,
    as librosa's cache is off by default), power is ``re**2 + im**2``, and the Mel projection is one matmul.
    :meth:`one` takes a clip; :meth:`batch` takes all clips at once (``librosa.stft`` on a [N, T] array, its
    documented multichannel form). ``power_to_db`` runs per clip either way, so that ``top_db`` clips each clip at
    its own peak as ours does.
    """

    def __init__(self, preset: str) -> None:
        import librosa

        self.cfg = c = feature_config(preset)
        self.mel_basis = librosa.filters.mel(
            sr=c.sample_rate, n_fft=c.mel_n_fft, n_mels=c.n_mels, fmin=c.mel_fmin, fmax=c.mel_fmax
        ).astype(np.float32)
        if c.stft_scale == "log":
            window = np.hanning(c.win_length + 1)[:-1]  # periodic Hann
            k = dft_kernel(log_frequencies(c.stft_fmin, c.stft_fmax, c.stft_bins), window, 0, c.sample_rate)
            self.kernel = k.astype(np.float32)

    def _spec(self, x: np.ndarray) -> np.ndarray:
        import librosa

        c = self.cfg
        return librosa.stft(
            x, n_fft=c.mel_n_fft, hop_length=c.hop_length, win_length=c.win_length, center=True, pad_mode="constant"
        )

    def _channels(self, x: np.ndarray, spec: np.ndarray) -> np.ndarray:
        """The channels of one clip ``x`` [T] from its STFT ``spec`` [F, frames]."""
        import librosa

        c = self.cfg
        power = np.square(spec.real) + np.square(spec.imag)
        mel = self.mel_basis @ power
        if c.stft_scale == "log":
            xp = np.pad(x, c.stft_n_fft // 2)
            frames = np.lib.stride_tricks.sliding_window_view(xp, c.stft_n_fft)[:: c.hop_length]
            out = frames @ self.kernel
            re, im = out[:, : c.stft_bins].T, out[:, c.stft_bins :].T
            pw, ph = np.square(re) + np.square(im), np.arctan2(im, re)
        else:
            z = spec[: c.decimation * c.stft_bins : c.decimation]
            pw, ph = np.square(z.real) + np.square(z.imag), np.angle(z)
        return np.stack(
            [
                librosa.power_to_db(pw, amin=c.amin, top_db=c.top_db),
                ph,
                librosa.power_to_db(mel, amin=c.amin, top_db=c.top_db),
            ]
        )

    def one(self, x: np.ndarray) -> np.ndarray:
        """[3, F, frames] of one clip [T]."""
        return self._channels(x, self._spec(x))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.one(x)

    def batch(self, clips: np.ndarray) -> np.ndarray:
        """[N, 3, F, frames] of clips [N, T], the STFT batched."""
        specs = self._spec(clips)
        return np.stack([self._channels(x, s) for x, s in zip(clips, specs, strict=True)])


def floor_fn(model: ClarFeatures, batch_size: int, with_mel: bool = False):
    """The bare transforms of ``model``'s preset on the same chunks as ours: the STFT(s) and, for ``official``, the
    log-frequency DFT in the form ours uses (the block form where it applies, else a strided conv1d); no power, Mel,
    dB or phase. Ours can be no faster than this.

    ``with_mel``: also the power of the Mel channel's STFT and its Mel projection (ours' banded one): the least the
    Mel channel needs, whatever the other channels cost."""
    from core.features.blockdft import block_dft
    from core.features.logfreq import logfreq_dft
    from core.features.stft import linear_stft, power

    cfg = model.config

    def run(x: torch.Tensor) -> None:
        with torch.inference_mode():
            for i in range(0, len(x), batch_size):
                b = x[i : i + batch_size]
                step = model._chunk_size(b)
                for j in range(0, len(b), step):
                    c = b[j : j + step]
                    spec = linear_stft(c, cfg.mel_n_fft, cfg.hop_length, model.window, cfg.center)
                    if with_mel:
                        model.banded_mel(power(spec))
                    if cfg.stft_scale == "log" and model.block_basis is not None and model.use_block_dft:
                        parts = c.new_empty(len(c), 2, cfg.stft_bins, cfg.num_frames(c.shape[-1]))
                        block_dft(c, model.block_basis, model.block_phis, cfg.stft_n_fft, cfg.hop_length, cfg.center,
                                  parts)  # fmt: skip
                    elif cfg.stft_scale == "log":
                        logfreq_dft(c, model.dft_kernel, cfg.stft_n_fft, cfg.hop_length, model._dft_offset, cfg.center)
                    elif cfg.stft_n_fft != cfg.mel_n_fft:
                        linear_stft(c, cfg.stft_n_fft, cfg.hop_length, model.window, cfg.center)

    return run


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


def thread_counts(spec: str) -> list[int]:
    """``"1,all"`` -> [1, os.cpu_count()] (duplicates dropped)."""
    out = []
    for part in spec.split(","):
        n = os.cpu_count() or 1 if part.strip() == "all" else int(part)
        if n not in out:
            out.append(n)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small smoke run (16 + 4 clips, 3 repeats); does not write")
    ap.add_argument("--no-write", action="store_true", help="print the tables; leave docs/benchmarks.md alone")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each side after a warm-up (median kept)")
    ap.add_argument("--threads", default="1,all", help="thread counts, both sides (default 1,all)")
    ap.add_argument("--device", default="auto", help="auto: also time ours on CUDA when present; cpu: CPU only")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    n1, n5 = (16, 4) if args.quick else (256, 64)
    repeat = 3 if args.quick else max(5, args.repeat)
    sets = [
        ("FSDD 1 s", load_clips("fsdd", n1, 16000)),
        ("ESC-10 5 s", load_clips("esc10", n5, 80000)),
    ]
    gpu = args.device != "cpu" and torch.cuda.is_available()
    rows, failures = [], []
    for threads in thread_counts(args.threads):
        torch.set_num_threads(threads)
        with threadpool_limits(limits=threads):  # numpy's BLAS (librosa's Mel matmul, the DFT kernel) as well
            for preset in ("paper", "official"):
                model = ClarFeatures(preset)
                ref_fn = LibrosaReference(preset)
                floor = floor_fn(model, args.batch_size)
                floor_mel = floor_fn(model, args.batch_size, with_mel=True)
                for label, clips in sets:
                    x = torch.from_numpy(clips)
                    t_ours = median_time(lambda m=model, x=x: run_ours(m, x, args.batch_size), repeat)
                    t_floor = median_time(lambda f=floor, x=x: f(x), repeat)
                    t_mel = median_time(lambda f=floor_mel, x=x: f(x), repeat)
                    t_one = median_time(lambda f=ref_fn, c=clips: [f.one(clip) for clip in c], repeat)
                    t_batch = median_time(lambda f=ref_fn, c=clips: f.batch(c), repeat)
                    ours = run_ours(model, x, args.batch_size).numpy()
                    d0, d1, d2 = compare(ours, ref_fn.batch(clips))
                    e0, e1, e2 = compare(ours, np.stack([ref_fn.one(c) for c in clips]))
                    d0, d1, d2 = max(d0, e0), max(d1, e1), max(d2, e2)
                    ok = d0 <= DB_TOL and d1 <= PHASE_TOL and d2 <= DB_TOL
                    if not ok:
                        failures.append(f"{preset} {label}: max diff {d0:.4f} dB / {d1:.4f} rad / {d2:.4f} dB")
                    best_ref = min(t_one, t_batch)
                    cuda_cps = "-"
                    if gpu:
                        dev = torch.device("cuda")
                        mg, xg = ClarFeatures(preset).to(dev), x.to(dev)
                        t_gpu = median_time(lambda m=mg, x=xg: run_ours(m, x, args.batch_size), repeat, sync=True)
                        cuda_cps = f"{len(x) / t_gpu:,.0f}"
                    n = len(x)
                    rows.append([
                        threads, preset, f"{label} x{n}", f"{n / t_one:,.0f}", f"{n / t_batch:,.0f}",
                        f"{n / t_ours:,.0f}", f"{n / t_floor:,.0f}", f"{best_ref / t_ours:.2f}x",
                        f"{t_ours / t_floor:.2f}x", f"{t_mel / t_floor:.2f}x", f"{best_ref / t_mel:.2f}x", cuda_cps,
                        f"{d0:.4f} / {d1:.4f} / {d2:.4f}", "yes" if ok else "NO",
                    ])  # fmt: skip
                    print(" | ".join(map(str, rows[-1])), flush=True)
    header = [
        "threads",
        "preset",
        "clips",
        "librosa per clip, clips/s",
        "librosa batched, clips/s",
        "ours, clips/s",
        "floor, clips/s",
        "ours vs best librosa",
        "ours / floor (time)",
        "floor + power + Mel / floor (time)",
        "the most ours could lead librosa by: best librosa / (floor + power + Mel)",
        "ours CUDA clips/s",
        "max diff ch0 dB / ch1 rad / ch2 dB",
        "within tol",
    ]
    table = markdown_table(header, rows)
    note = (
        f"Machine: {machine_info('cuda' if gpu else 'cpu')}. Each row runs both sides in this one process at the "
        "row's thread count (torch threads and numpy's BLAS threads, through threadpoolctl), each timed as the "
        f"median of {repeat} runs after one warm-up run. Ours: `ClarFeatures` float32, batches of "
        f"{args.batch_size}. librosa {librosa_version()} in its best documented form: the Mel filterbank built "
        "once, power as re² + im², one matmul for the Mel projection; *per clip* calls `librosa.stft` clip by "
        "clip, *batched* calls it once on the [N, T] array; the speed-up is against the faster of the two. "
        "`official`'s log-frequency channel has no librosa equivalent: the reference is a numpy float32 matmul of "
        "the frames with the same windowed DFT kernel. **Floor**: the bare transforms alone on the same chunks "
        "(`torch.stft`, and for `official` the log-frequency DFT in the block form ours uses), without power, Mel, "
        "dB or phase; *ours / floor* is how many times the floor's time ours takes. **Floor + power + Mel** adds "
        "the power of the Mel channel's STFT and ours' (banded) Mel projection: the least the Mel channel needs "
        "before its dB, whatever the other two channels cost. Its ratio to the floor is how close to the floor "
        "any implementation built from these tensor ops can get, and best librosa over it is the most ours could "
        "lead librosa by if dB, phase and the STFT channel were free. Tolerances: "
        f"{DB_TOL} dB on dB channels, {PHASE_TOL} rad on phase (mod 2 pi, bins within {PHASE_RANGE_DB:.0f} dB of "
        "the clip's peak). Run: `python bench/features.py`."
    )
    print(table)
    if not (args.quick or args.no_write):
        path = write_section("features", "## Features (`bench/features.py`)\n\n" + note + "\n\n" + table)
        print(f"wrote {path}")
    if failures:
        print("OUTPUTS DIFFER:\n" + "\n".join(failures), file=sys.stderr)
        return 1
    return 0


def librosa_version() -> str:
    import librosa

    return librosa.__version__


if __name__ == "__main__":
    raise SystemExit(main())
