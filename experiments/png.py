"""Plotly figures to PNG files, drawn by Debian's chromium through playwright (no kaleido, no download)."""

from __future__ import annotations

import os
from pathlib import Path

import plotly.graph_objects as go

from core.errors import ConfigError

CHROMIUM = os.environ.get("CLAR_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]  # fmt: skip


def write_pngs(figures: dict[str, go.Figure], folder: Path) -> list[Path]:
    """Write each figure as ``folder/<name>.png`` at its own width and height; returns the paths.

    Raises:
        ConfigError: chromium or playwright is missing (install the dev requirements and Debian's chromium).
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        raise ConfigError("PNG figures need playwright (requirements-dev.txt); use --no-png without it") from e
    if not Path(CHROMIUM).is_file():
        raise ConfigError(f"PNG figures need chromium at {CHROMIUM} (set CLAR_CHROMIUM); use --no-png without it")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            for name, fig in figures.items():
                width, height = int(fig.layout.width or 900), int(fig.layout.height or 500)
                page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
                html = fig.to_html(include_plotlyjs=True, full_html=True, config={"displayModeBar": False})
                page.set_content(html, wait_until="load")
                plot = page.locator(".js-plotly-plot .main-svg").first
                plot.wait_for(timeout=60_000)
                path = folder / f"{name}.png"
                page.locator(".js-plotly-plot").first.screenshot(path=str(path))
                page.close()
                paths.append(path)
        finally:
            browser.close()
    return paths
