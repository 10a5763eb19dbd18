"""Benchmark: the browser app's speed, and how good the Train page's run estimate is.

1. **Import time** of the server module and of everything the pages import, each in a fresh interpreter (best
   of 3), and whether librosa, numba or umap got imported (they must not be).
2. **Time to first render** of each page in headless Debian chromium: from navigation to the page's main content
   (its form, table or list) and, on Runs, to the learning-curve chart; first on a cold server (the first visit
   after it starts), then warm (best of 3 later visits). The run store holds three finished demo runs.
   Targets, warm, on this 2-core CPU: main content under 2 s, charts under 3 s.
3. **The Gradio tab through its API** (``bench/_gradio_api.py``): classify a 5 s and a 60 s clip with the shipped
   ESC-10 model, and draw an augmentation pair of a 5 s clip, end to end through ``gradio_client``, beside
   ``core``'s part alone. Targets: under 300 ms for the 5 s clip and for the pair.
4. **The Embeddings page** (``bench/_explorer.py``): FSDD's 3000 clips embedded; their UMAP cold (numba
   compiling), warm and from the cache (target under 1 s); a real box drag to the audio players.
5. **Estimate vs real epoch**: ``core.train.estimate.estimate_run`` (a few timed steps) against the same run
   trained for real (``core.train.run.run_training``), comparing the predicted epoch time with the measured
   second epoch (the first pays one-off costs). The target is within 30 %.

Writes the "app" section of docs/benchmarks.md unless ``--no-write``.

Usage: ``python bench/app.py [--no-write] [--skip-render] [--skip-api] [--skip-estimate] [--skip-explorer]
[--threads 2]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._report import machine_info, markdown_table, wait_for_port, write_section  # noqa: E402

CHROMIUM = os.environ.get("CLAR_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]  # fmt: skip
PAGES = {
    "Train": ("/", "text=Launch run", None),
    "Runs": ("/runs", "text=Learning curves", ".js-plotly-plot"),
    "Data": ("/data", "text=Your datasets", None),
}
PAGE_MODULES = (
    "app.train_form", "app.launch_panel", "app.active_runs", "app.runs_table", "app.curves", "app.run_detail",
    "app.datasets", "app.map_panel", "app.confusion_panel", "app.data_issues_panel", "app.invariance_panel",
)  # fmt: skip
ESTIMATE_CASES = (
    ("demo: CLAR, small_cnn_2d", "demo", ["schedule.epochs=2"]),
    (
        "demo: supervised, small_cnn_1d",
        "demo",
        [
            "schedule.epochs=2",
            "model.regime=supervised",
            "model.encoder=small_cnn_1d",
            "data.label_fraction=1.0",
            "data.batch_size=16",
        ],
    ),
    ("FSDD 512 clips: CLAR, small_cnn_2d", "smoke", ["schedule.epochs=2"]),
    (
        "FSDD 256 clips: SimCLR, resnet18_1d",
        "smoke",
        [
            "schedule.epochs=2",
            "model.regime=simclr",
            "model.encoder=resnet18_1d",
            "data.max_train_clips=256",
            "data.batch_size=32",
        ],
    ),
)


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "CLAR_RUNS_DB": str(root / "runs.sqlite"),
            "CLAR_CHECKPOINT_DIR": str(root / "ckpt"), "GRADIO_ANALYTICS_ENABLED": "False"}  # fmt: skip


def import_times(root: Path) -> list[list[object]]:
    """Fresh-interpreter import times, best of 3, and the heavy modules each pulled in."""
    rows = []
    for label, code in (
        ("app.server (the ASGI app)", "import app.server"),
        ("every module the pages import", "import " + ", ".join(PAGE_MODULES)),
    ):
        best, heavy = float("inf"), ""
        for _ in range(3):
            probe = (f"import time, sys; t = time.perf_counter(); {code}; d = time.perf_counter() - t; "
                     "print(d, ','.join(m for m in ('librosa', 'numba', 'umap') if m in sys.modules))")  # fmt: skip
            out = subprocess.run([sys.executable, "-c", probe], env=_env(root), capture_output=True, text=True,
                                 check=True, cwd=REPO).stdout.split()  # fmt: skip
            best = min(best, float(out[0]))
            heavy = out[1] if len(out) > 1 else ""
        rows.append([label, f"{best:.2f}", heavy or "none"])
    return rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_runs(root: Path, n: int = 3) -> None:
    for seed in range(n):
        subprocess.run(
            [sys.executable, "-m", "core", "train", "--config", "demo", "--set", "schedule.epochs=3", "--set",
             f"runtime.seed={seed}", "--no-progress"],
            env=_env(root), cwd=REPO, check=True, capture_output=True,
        )  # fmt: skip


def render_times(root: Path) -> list[list[object]]:
    """First-render times per page, cold then warm (best of 3)."""
    from playwright.sync_api import sync_playwright

    _make_runs(root)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "app", "--port", str(port)], env=_env(root), cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port)
        rows = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)

            def visit(path: str, content: str, chart: str | None) -> tuple[float, float | None]:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                t0 = time.perf_counter()
                page.goto(url + path)
                page.locator(content).first.wait_for(timeout=60_000)
                main = time.perf_counter() - t0
                drawn = None
                if chart:
                    page.locator(chart).first.wait_for(timeout=60_000)
                    drawn = time.perf_counter() - t0
                page.close()
                return main, drawn

            cold = {name: visit(*spec) for name, spec in PAGES.items()}
            warm = {name: [visit(*spec) for _ in range(3)] for name, spec in PAGES.items()}
            browser.close()
        for name in PAGES:
            best_main = min(m for m, _ in warm[name])
            charts = [c for _, c in warm[name] if c is not None]
            rows.append([
                name, f"{cold[name][0]:.2f}", "-" if cold[name][1] is None else f"{cold[name][1]:.2f}",
                f"{best_main:.2f}", f"{min(charts):.2f}" if charts else "-",
                "met" if best_main < 2.0 and (not charts or min(charts) < 3.0) else "MISSED",
            ])  # fmt: skip
        return rows
    finally:
        server.terminate()
        server.wait(30)


def estimate_accuracy(root: Path) -> list[list[object]]:
    """Predicted epoch time against the measured second epoch, per case."""
    os.environ.update(_env(root))
    from core.config import load_config
    from core.runs import RunStore
    from core.train.estimate import estimate_run
    from core.train.run import run_training

    rows = []
    for label, base, sets in ESTIMATE_CASES:
        cfg = load_config(base, [*sets, "runtime.device=cpu", "runtime.checkpoint_every=0"])
        est = estimate_run(cfg)
        store = RunStore(root / "runs.sqlite")
        result = run_training(cfg, store=store, progress=False, checkpoint_root=root / "ckpt")
        real = result.history[-1]["train/epoch_s"]
        error = est.epoch_seconds / real - 1
        rows.append([
            label, est.steps_per_epoch, f"{est.seconds_per_step * 1000:.0f}", f"{est.epoch_seconds:.2f}",
            f"{real:.2f}", f"{error:+.0%}", "met" if abs(error) <= 0.30 else "MISSED",
        ])  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--skip-render", action="store_true")
    ap.add_argument("--skip-api", action="store_true")
    ap.add_argument("--skip-estimate", action="store_true")
    ap.add_argument("--skip-explorer", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root = Path(tempfile.mkdtemp(prefix="clar-bench-app-"))
    parts = [f"## The app (`bench/app.py`)\n\nMeasured {machine_info()}. Run: `python bench/app.py`."]

    def section(text: str, header: list[str], rows: list[list[object]]) -> None:
        parts.append(f"{text}\n\n{markdown_table(header, rows)}")
        print(parts[-1], flush=True)

    try:
        section("Import time in a fresh interpreter (best of 3), and the heavy modules it pulled in:",
                ["import", "seconds", "librosa / numba / umap"], import_times(root))  # fmt: skip
        if not args.skip_render:
            section(
                "Time to first render in headless chromium, seconds from navigation (cold: the first visit after "
                "the server starts; warm: best of 3 later visits). Targets, warm: main content < 2 s, charts "
                "< 3 s.",
                ["page", "cold: content", "cold: chart", "warm: content", "warm: chart", "target"],
                render_times(root),
            )
        if not args.skip_api:
            from bench._gradio_api import REPEATS, api_times

            data_dir = Path(os.environ.get("CLAR_DATA_DIR", REPO.parent / "shared" / "data"))
            section(
                f"The Gradio tab through its API (`gradio_client` on loopback, a loaded model; medians of {REPEATS} "
                "calls after a warm-up, ms): end to end as a client gets it by default (the result's audio files "
                "downloaded), end to end leaving the files on the server (`download_files=False`), the Gradio "
                "function called in process, and `core`'s part alone (the forward pass; drawing the pair). "
                "Targets: < 300 ms.",
                ["call", "clip", "end to end", "without the files", "the function", "core alone", "target"],
                api_times(data_dir, root),
            )
        if not args.skip_explorer:
            from bench._explorer import explorer_times

            text = (
                "The Embeddings page (seconds, the CPU threads above): FSDD's 3000 clips embedded by the shipped "
                "`fsdd` model; their UMAP (n_neighbors 15, min_dist 0.1, cosine) cold, warm and from the map cache "
                "(target < 1 s); and in chromium, a real box drag on the map to the selection's audio players."
            )
            rows = explorer_times(_env(root), root, CHROMIUM, FLAGS)
            table = markdown_table(["measure", "seconds", "rate / target"], rows)
            print(f"{text}\n\n{table}", flush=True)
            if not args.no_write:
                header = f"### The Embeddings page (`bench/app.py`, section 4)\n\nMeasured {machine_info()}."
                write_section("explorer", f"{header}\n\n{text}\n\n{table}")
        if not args.skip_estimate:
            section(
                "The Train page's estimate (3 timed steps after a warm-up step) against the real run's second "
                "epoch, on the CPU with the threads above. Target: within 30 %.",
                ["run", "steps/epoch", "ms/step (est.)", "epoch s (est.)", "epoch s (real)", "error", "target"],
                estimate_accuracy(root),
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if not args.no_write:
        print(f"wrote {write_section('app', chr(10).join(p + chr(10) for p in parts))}")


if __name__ == "__main__":
    main()
