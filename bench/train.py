"""Benchmark: CLAR training throughput on the CPU (or a GPU), ours vs an authors'-style input pipeline.

Data: FSDD training clips from $CLAR_DATA_DIR (2700 one-second clips by default), CLAR regime at 10% labels,
two augmented views per clip, batch 64. For each encoder (``small_cnn_2d`` and ``resnet18_2d``):

* **ours** (``core.train.Trainer``): waveforms resident on the device, both views augmented on the whole batch
  (``core.augment.two_views``), ``ClarFeatures`` on the whole batch, then the model step. The stage shares
  (input / augment / features / model) come from the trainer's own stage timer, synchronised on GPUs.
* **authors' style**: a ``torch.utils.data.DataLoader`` with ``--workers`` worker processes; each worker takes
  one clip at a time, augments it twice with librosa/numpy (``librosa.effects.pitch_shift`` and
  ``time_stretch`` where those augmentations are in the set, fades, noise, masks and shifts in numpy, with the
  same ranges and p = 0.5), and computes the features of each view on its own. The main process runs the same
  model step. Its "input" share is the time the step waits for the loader.

Both pipelines first run one untimed warm-up model step; the timed window is always a whole epoch (clips // batch
steps): ratios over a few steps came out higher than over full epochs. Rows for 1 thread and for all cores, with
the same total threads on both sides: the authors' DataLoader workers count (see ``_split``); small_cnn_2d is the
median of ``--repeat`` epochs. The augmentation set is
the paper's ``all`` when every augmentation is installed, else the installed ones (the table says which).
Writes the "train" section of docs/benchmarks.md unless ``--quick`` or ``--no-write``;
on CUDA it also reports ResNet18 with bf16 AMP.

Usage: ``python bench/train.py [--quick] [--clips 2700] [--batch-size 64] [--threads 1,all] [--repeat 3]
[--encoders small_cnn_2d,resnet18_2d] [--device cpu] [--no-write]``
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench._report import machine_info, markdown_table, write_section
from core import SAMPLE_RATE
from core.config import TrainConfig
from core.data.prepare import SplitData, stratified_pick
from core.device import resolve_device

# -- authors'-style per-clip augmentations (numpy / librosa), same ranges as the "paper" preset ---------------


def _fade(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(x)
    fin, fout = int(rng.uniform(0, 0.5) * n), int(rng.uniform(0, 0.5) * n)
    env = np.ones(n, dtype=np.float32)
    if fin:
        env[:fin] = np.linspace(0, 1, fin, dtype=np.float32)
    if fout:
        env[n - fout :] *= np.linspace(1, 0, fout, dtype=np.float32)
    return x * env


def _time_mask(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(x)
    width = int(rng.uniform(0, n / 8))
    start = int(rng.integers(0, n - width + 1))
    y = x.copy()
    y[start : start + width] = 0
    return y


def _time_shift(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.roll(x, int(rng.integers(-len(x) // 2, len(x) // 2 + 1)))


def _noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    snr_db = rng.uniform(0, 20)
    noise = rng.standard_normal(len(x)).astype(np.float32)
    p_sig = float(np.mean(x**2)) + 1e-12
    noise *= math.sqrt(p_sig / (10 ** (snr_db / 10)) / (float(np.mean(noise**2)) + 1e-12))
    return x + noise


def _fix(y: np.ndarray, n: int) -> np.ndarray:
    return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))


def _time_stretch(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import librosa

    return _fix(librosa.effects.time_stretch(x, rate=float(rng.uniform(0.5, 1.5))), len(x)).astype(np.float32)


def _pitch_shift(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import librosa

    steps = int(rng.integers(-15, 16))
    return librosa.effects.pitch_shift(x, sr=SAMPLE_RATE, n_steps=steps).astype(np.float32)


AUTHORS_AUGS = {
    "fade": _fade,
    "time_mask": _time_mask,
    "time_stretch": _time_stretch,
    "pitch_shift": _pitch_shift,
    "time_shift": _time_shift,
    "noise": _noise,
}


class AuthorsStyleDataset(torch.utils.data.Dataset):
    """One clip at a time: two librosa/numpy-augmented views, then the features of each view on its own."""

    def __init__(self, waveforms: np.ndarray, labels: np.ndarray, augs: list[str], feature_preset: str) -> None:
        self.waveforms, self.labels, self.augs, self.preset = waveforms, labels, augs, feature_preset
        self.features = None

    def __len__(self) -> int:
        return len(self.labels)

    def _view(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for name in self.augs:
            if rng.random() < 0.5:
                x = AUTHORS_AUGS[name](x, rng)
        return x

    def __getitem__(self, i: int):
        if self.features is None:  # built in the worker
            from core.features import ClarFeatures

            torch.set_num_threads(1)
            self.features = ClarFeatures(self.preset)
        rng = np.random.default_rng(i)
        x = np.asarray(self.waveforms[i], dtype=np.float32)
        views = []
        for _ in range(2):
            v = torch.from_numpy(np.ascontiguousarray(self._view(x, rng)))
            with torch.no_grad():
                views.append(self.features(v.unsqueeze(0))[0])
        return views[0], views[1], int(self.labels[i])


def authors_style(cfg: TrainConfig, data, augs: list[str], steps: int, workers: int, device: torch.device):
    """Seconds per step and the share of it spent waiting for the loader, for the authors'-style pipeline.

    The model is warmed up with one step on random features first; the timed window then starts a fresh epoch
    (worker start-up included, as with the DataLoader's default non-persistent workers) and runs ``steps`` steps.
    """
    from core.config.build import build_from_config
    from core.features import ClarFeatures
    from core.regimes import get_regime
    from core.train.optim import build_optimizer

    model, _ = build_from_config(cfg, data.num_classes)
    model.to(device).train()
    opt = build_optimizer(model, "adam", 1e-3, 1e-6)
    ds = AuthorsStyleDataset(data.train.waveforms, data.train.labels, augs, cfg.features.preset)
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=cfg.data.batch_size,
        shuffle=True,
        num_workers=workers,
        worker_init_fn=_one_thread_worker,
        drop_last=True,
        pin_memory=device.type == "cuda",
    )

    def step(v1, v2, y):
        out = model(torch.cat([v1, v2]))
        loss, _ = get_regime("clar").loss(out, y, cfg.loss)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    shape = ClarFeatures(cfg.features.preset)(torch.zeros(1, data.train.num_samples)).shape[1:]
    warm = torch.randn(cfg.data.batch_size, *shape, device=device)
    step(warm, warm, torch.zeros(cfg.data.batch_size, dtype=torch.int64, device=device))
    wait = model_t = 0.0
    cpu0 = _cpu_seconds()
    t_start = time.perf_counter()
    it = iter(loader)
    for _ in range(steps):
        t0 = time.perf_counter()
        v1, v2, y = next(it)
        v1, v2, y = v1.to(device), v2.to(device), y.to(device)
        t1 = time.perf_counter()
        step(v1, v2, y)
        wait += t1 - t0
        model_t += time.perf_counter() - t1
    total = time.perf_counter() - t_start
    del it  # shuts the workers down and reaps them, so their CPU time is counted
    return total / steps, wait / total, (_cpu_seconds() - cpu0) / steps


def _one_thread_worker(_: int) -> None:
    """Each DataLoader worker on one thread (torch already sets 1; numpy's BLAS too), so threads add up fairly."""
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(limits=1)


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of its reaped children (the DataLoader workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def ours(cfg: TrainConfig, data, steps: int):
    """Seconds per step and the stage shares of our pipeline (one warm-up step first, then ``steps`` steps)."""
    from core.train.loop import run_epoch
    from core.train.trainer import Trainer

    trainer = Trainer(cfg, data=data, progress=False)
    trainer.fit_frontend()
    run_epoch(trainer, max_steps=1)  # warm-up
    cpu0 = _cpu_seconds()
    m = run_epoch(trainer, max_steps=steps)
    cpu = (_cpu_seconds() - cpu0) / steps
    shares = {k.split("/")[1].removesuffix("_share"): v for k, v in m.items() if k.startswith("time/")}
    return m["train/epoch_s"] / steps, shares, cpu


def fsdd_epoch(cfg: TrainConfig, clips: int) -> SplitData:
    """FSDD's 2700 non-test clips (its train and valid splits together) as the training set, or a class-balanced
    subset of ``clips``, with 10% of the labels; 8 valid and 8 test clips (unused by the benchmark)."""
    from core.data import labelled_fraction, load_dataset

    ds = load_dataset("fsdd", num_samples=SAMPLE_RATE, progress=True)
    pool = np.flatnonzero(ds.split != "test")
    pool = pool[stratified_pick(ds.labels[pool], clips, np.random.default_rng(0))]
    train = ds.subset(pool)
    train.labels = np.asarray(labelled_fraction(train.labels, cfg.data.label_fraction, 0), dtype=np.int64)
    test = ds.indices("test")
    return SplitData(train, ds.subset(test[:8]), ds.subset(test[8:16]), list(ds.class_names))


def make_config(encoder: str, args, augs: list[str], amp: str = "none") -> TrainConfig:
    return TrainConfig.from_dict(
        {
            "data": {
                "dataset": "fsdd",
                "num_samples": SAMPLE_RATE,
                "max_train_clips": args.clips,
                "max_eval_clips": 8,
                "validation": "none",
                "label_fraction": 0.1,
                "batch_size": args.batch_size,
            },
            "augment": {"names": ",".join(augs) if augs else "none"},
            "model": {"regime": "clar", "encoder": encoder},
            "features": {"fit_clips": 128},
            "schedule": {"epochs": 100, "warmup_epochs": 0},
            "runtime": {"device": args.device, "profile": True, "amp": amp, "checkpoint_every": 0},
        },
        source="bench/train.py",
    )


def installed_augs() -> tuple[list[str], str]:
    from core.augment import CANONICAL_ORDER, build_pipeline

    try:
        build_pipeline("all")
        return list(CANONICAL_ORDER), "all"
    except Exception:
        have = []
        for name in CANONICAL_ORDER:
            try:
                build_pipeline(name)
                have.append(name)
            except Exception:
                pass
        return have, "+".join(have) + " (pitch_shift/time_stretch not installed)"


def _split(threads: int) -> tuple[int, int]:
    """The authors' style at ``threads`` threads in all: (main-process torch threads, DataLoader workers).

    Its workers count: at 1 thread the main process loads the data itself (0 workers); at N > 1 the model step
    gets 1 thread and N - 1 workers each get 1.
    """
    return (1, 0) if threads <= 1 else (1, threads - 1)


def _median_epoch(fn, repeat: int) -> tuple:
    """The run of ``fn()`` (a tuple whose first item is seconds per step) with the median time over ``repeat``."""
    runs = sorted((fn() for _ in range(repeat)), key=lambda r: r[0])
    return runs[len(runs) // 2]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="an epoch of 256 clips in batches of 32, no docs update")
    p.add_argument("--clips", type=int, default=2700)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", default="1,all", help="total threads of each pipeline, a row each (default 1,all)")
    p.add_argument("--repeat", type=int, default=3, help="full epochs per measurement of small_cnn_2d (median)")
    p.add_argument("--encoders", default="small_cnn_2d,resnet18_2d")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    from bench.features import thread_counts

    if args.quick:
        args.clips, args.batch_size, args.repeat = min(args.clips, 256), min(args.batch_size, 32), 1
    device = resolve_device(args.device)
    args.device = str(device)
    augs, aug_label = installed_augs()
    base = make_config("small_cnn_2d", args, augs)
    data = fsdd_epoch(base, args.clips)
    n_clips = len(data.train)
    steps = n_clips // args.batch_size
    header = ["encoder", "threads", "pipeline", "clips/s", "epoch (s)", "CPU s/epoch", "input", "augment",
              "features", "model", "speed-up (wall)", "speed-up (CPU)",
              "ceiling: speed-up with our input free"]  # fmt: skip
    rows = []
    counts = thread_counts(args.threads)
    pct = lambda v: f"{100 * v:.0f}%"  # noqa: E731
    for encoder in args.encoders.split(","):
        small = encoder == "small_cnn_2d"
        repeat = args.repeat if small else 1  # a ResNet18 epoch is minutes: one, at all cores
        for threads in counts if small else counts[-1:]:
            cfg = make_config(encoder, args, augs)
            torch.set_num_threads(threads)
            s_ours, shares, c_ours = _median_epoch(lambda cfg=cfg: ours(cfg, data, steps), repeat)
            main_threads, workers = _split(threads)
            torch.set_num_threads(main_threads)
            s_auth, wait_share, c_auth = _median_epoch(
                lambda cfg=cfg, w=workers: authors_style(cfg, data, augs, steps, w, device), repeat
            )
            ceiling = f"{s_auth / (s_ours * shares['model']):.2f}x" if shares.get("model") else "-"
            rows.append([
                encoder, threads, "ours", f"{args.batch_size / s_ours:.1f}", f"{s_ours * steps:.1f}",
                f"{c_ours * steps:.1f}", pct(shares.get("input", 0)), pct(shares.get("augment", 0)),
                pct(shares.get("features", 0)), pct(shares.get("model", 0)), f"{s_auth / s_ours:.2f}x",
                f"{c_auth / c_ours:.2f}x", ceiling,
            ])  # fmt: skip
            rows.append([
                encoder, threads, f"authors' style ({main_threads} + {workers} worker{'s' * (workers != 1)})",
                f"{args.batch_size / s_auth:.1f}", f"{s_auth * steps:.1f}", f"{c_auth * steps:.1f}",
                f"{pct(wait_share)} (waiting for data)", "in the loader", "in the loader", pct(1 - wait_share),
                "1.00x", "1.00x", "",
            ])  # fmt: skip
            print(markdown_table(header, rows[-2:]), flush=True)
    torch.set_num_threads(counts[-1])
    if device.type == "cuda":
        cfg = make_config("resnet18_2d", args, augs, amp="bf16")
        s_amp, shares, c_amp = ours(cfg, data, steps)
        rows.append(["resnet18_2d", counts[-1], "ours, bf16 AMP", f"{args.batch_size / s_amp:.1f}",
                     f"{s_amp * steps:.1f}", f"{c_amp * steps:.1f}",
                     *(pct(shares.get(k, 0)) for k in ("input", "augment", "features", "model")),
                     "", "", ""])  # fmt: skip
    table = markdown_table(header, rows)
    text = (
        f"CLAR training on FSDD ({n_clips} clips of 1 s, two views each, batch {args.batch_size}, 10% labels), "
        f"augmentations: {aug_label}. Every figure is a **full epoch** ({steps} steps), after one warm-up step; "
        f"small_cnn_2d is the median of {args.repeat} epochs at each thread count, resnet18_2d one epoch at "
        f"{counts[-1]} threads. Both pipelines use the same total number of threads: ours runs torch on all of "
        "them; the authors' style gives the model step 1 thread and each DataLoader worker 1 (at 1 thread it has "
        "no worker and loads in the main process). Shares are of the step time; 'input' for ours is gathering the "
        "batch from the device-resident waveforms. Speed-up = authors'-style time / ours, in wall time and in CPU "
        "time (user + system of the process and its DataLoader workers). The ceiling is the authors'-style epoch "
        "over ours' model step alone (epoch x model share): the speed-up ours would reach if its input pipeline "
        "(gathering, augmenting, features) took no time at all, the model step being the same torch code on "
        "both sides.\n\n"
        f"Machine: {machine_info(device)}\n\n{table}\n\nRun: `python bench/train.py` (`--quick` for a smoke run)."
    )
    print(text)
    if not (args.quick or args.no_write):
        write_section("train", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
