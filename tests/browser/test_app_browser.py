"""The served app in headless chromium: every page opens without a console error; a tiny run is launched from
the Train form, its progress bar moves and it finishes; its curve and test report appear on the Runs page, and
Evaluate runs the offline evaluation; a second run is cancelled; after a restart of the app every run is still
there and a run that was training goes on, live. Real widgets only."""

from __future__ import annotations

import re

import pytest
from conftest import TinyRuns, launch_demo_run, save_screenshot, wait_for_app

from core.runs import RunStore

pytestmark = pytest.mark.browser

PAGES = {"Train": "/", "Runs": "/runs", "Data": "/data"}
CONTENT = {"Train": "text=Launch run", "Runs": "text=/Learning curves|No runs yet/", "Data": "text=Your datasets"}
"""What shows that a page's main content is there."""


def test_every_page_opens_without_console_errors(page, served_app):
    page.goto(served_app.url + "/")
    wait_for_app(page)
    for title, path in PAGES.items():
        page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        page.get_by_role("heading", name=title, level=1).wait_for()
        page.locator(CONTENT[title]).first.wait_for()
        assert page.url.rstrip("/").endswith(path.rstrip("/")), page.url
    for title, path in PAGES.items():  # and straight from a bookmark
        page.goto(served_app.url + path)
        page.get_by_role("heading", name=title, level=1).wait_for()
        page.locator(CONTENT[title]).first.wait_for()
    page.get_by_text("Listen to the demo dataset").click()
    page.locator("audio").first.wait_for()
    assert page.console.errors() == []


def test_a_tiny_run_launched_from_the_form_shows_progress_and_finishes(tiny_runs: TinyRuns, served_app):
    seen = tiny_runs.progress_seen
    assert len(seen) >= 2 and seen == sorted(seen) and seen[-1] > seen[0], seen
    run = RunStore(served_app.runs_db).get_run(tiny_runs.finished)
    assert run["status"] == "completed" and run["final_metrics"]["epochs"] == 4
    assert run["config"]["schedule"]["epochs"] == 4 and run["config"]["data"]["dataset"] == "demo"


def test_its_curves_and_test_report_appear_on_the_runs_page(page, served_app, tiny_runs: TinyRuns, artifacts):
    page.goto(served_app.url + "/runs")
    wait_for_app(page)
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for()
    assert chart.get_by_text("Training loss").count() == 1
    assert page.locator(".js-plotly-plot .legendtext", has_text=tiny_runs.finished).count() >= 1
    page.get_by_label("Run", exact=True).click()
    page.keyboard.type(tiny_runs.finished)
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.get_by_text("Per-class accuracy").wait_for()
    page.get_by_text("Confusion matrix").wait_for()
    assert page.console.errors() == []


def test_a_second_run_is_cancelled(tiny_runs: TinyRuns, served_app):
    assert tiny_runs.cancel_message.startswith("Cancelled: stopped by its trainer")
    run = RunStore(served_app.runs_db).get_run(tiny_runs.cancelled)
    assert run["status"] == "cancelled"


def test_screenshots_of_every_page(page, served_app, tiny_runs: TinyRuns, artifacts):
    """The README's images, taken here (set $CLAR_SCREENSHOTS=docs/screenshots to refresh them)."""
    page.set_viewport_size({"width": 1400, "height": 1500})
    for title, path in PAGES.items():
        page.goto(served_app.url + path)
        page.locator(CONTENT[title]).first.wait_for()
        if title == "Runs":
            page.locator(".js-plotly-plot").first.wait_for()
        wait_for_app(page)
        shot = save_screenshot(page, title.lower(), artifacts)
        assert shot.stat().st_size > 20_000


def test_evaluate_runs_the_offline_linear_evaluation(page, served_app, tiny_runs: TinyRuns):
    page.goto(served_app.url + "/runs")
    page.locator(CONTENT["Runs"]).first.wait_for()
    page.get_by_label("Run", exact=True).click()
    page.keyboard.type(tiny_runs.finished)
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.get_by_role("tab", name="Evaluate").click()
    page.get_by_role("button", name="Evaluate").click()
    report = page.locator("code", has_text="test top-1").first
    report.wait_for(timeout=180_000)
    assert f"(run {tiny_runs.finished}, clar, epoch" in report.inner_text()
    kinds = [a["kind"] for a in RunStore(served_app.runs_db).artifacts(tiny_runs.finished)]
    assert "eval_report" in kinds and "probe" in kinds
    assert page.console.errors() == []


def test_a_restart_keeps_every_run_and_a_training_run_goes_on(page, served_app, tiny_runs: TinyRuns):
    training = launch_demo_run(page, served_app, epochs=200)
    card = page.locator(f".st-key-active-{training}")
    card.get_by_text(re.compile(r"^epoch \d+/200")).wait_for(timeout=120_000)
    page.goto("about:blank")  # (a page left open would log its reconnection attempts while the app is down)
    assert served_app.restart() == 0  # Ctrl-C: a clean stop
    store = RunStore(served_app.runs_db)
    assert store.get_run(training)["status"] == "running"  # its own process: the app's stop did not touch it
    page.goto(served_app.url + "/runs")
    wait_for_app(page)
    for rid in (tiny_runs.finished, tiny_runs.cancelled, training):  # (the table is a canvas: look at the legend)
        page.locator(".js-plotly-plot .legendtext", has_text=rid).first.wait_for()
    page.goto(served_app.url + "/")
    card = page.locator(f".st-key-active-{training}")
    card.get_by_text(re.compile(r"^epoch \d+/200")).wait_for()  # still training, live on the restarted app
    card.get_by_role("button", name="Cancel").click()
    page.get_by_text(re.compile(r"^Cancelled: ")).wait_for(timeout=60_000)
    assert store.get_run(training)["status"] == "cancelled"
    assert page.console.errors() == []
