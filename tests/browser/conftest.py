"""Browser tests: one served app, one headless Debian chromium and one set of tiny runs for the whole session.

The app is the real ``python -m app`` on a free loopback port, with its own run store and checkpoints; the runs
are launched through the real Train page. Later issues add their tests on top of these fixtures. On a failure
each test leaves a screenshot and the page's console log in ``$CLAR_TEST_ARTIFACTS`` (default: a folder under
the session's temporary directory, printed at the end).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CLAR_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]  # fmt: skip
VIEWPORT = {"width": 1400, "height": 1000}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """``python -m app`` in a subprocess: start, stop with Ctrl-C (SIGINT), restart on the same port."""

    def __init__(self, root: Path, log: Path) -> None:
        self.root, self.log_path = root, log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runs_db, self.checkpoints = root / "runs.sqlite", root / "checkpoints"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 90) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        args = ["--port", str(self.port), "--runs-db", str(self.runs_db), "--checkpoint-dir", str(self.checkpoints)]
        log = open(self.log_path, "a")  # noqa: SIM115 (the server writes to it until it stops)
        self.proc = subprocess.Popen([sys.executable, "-m", "app", *args], cwd=self.root, env=env, stdout=log,
                                     stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"the app did not answer within {timeout_s} s; see {self.log_path}")

    def stop(self) -> int:
        """Ctrl-C, as a user would; returns the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def restart(self) -> int:
        code = self.stop()
        self.start()
        return code


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where failing tests leave screenshots and console logs (and the server its log)."""
    env = os.environ.get("CLAR_TEST_ARTIFACTS")
    path = Path(env) if env else tmp_path_factory.mktemp("browser-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def served_app(tmp_path_factory: pytest.TempPathFactory, artifacts: Path, data_dir: Path) -> Iterator[AppServer]:
    """The app, served for the whole session."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (scripts/test.sh does) or set $CLAR_CHROMIUM")
    server = AppServer(tmp_path_factory.mktemp("app"), artifacts / "server.log")
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.stop()
    # runs the tests left running (none should be) are stopped with the app's own cancel
    from core.runs import RunStore
    from core.train import launcher

    store = RunStore(server.runs_db)
    for run in store.list_runs():
        if run["status"] in ("running", "created"):
            launcher.cancel(store, run["id"], grace_s=2, kill_after_s=2)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@dataclass
class Console:
    """What the page said: console errors and warnings, failed requests and uncaught errors."""

    lines: list[str] = field(default_factory=list)

    def errors(self) -> list[str]:
        return [ln for ln in self.lines if ln.startswith(("error", "pageerror", "http"))]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _open_page(browser, console: Console):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.on("console", lambda m: m.type in ("error", "warning") and console.lines.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.lines.append(f"pageerror: {e}"))
    page.on("response", lambda r: r.status >= 400 and console.lines.append(f"http {r.status}: {r.url}"))
    page.set_default_timeout(30_000)
    return context, page


@pytest.fixture
def page(browser, request, artifacts: Path):
    """A fresh browser page; on failure its screenshot and console log are saved under ``artifacts``."""
    console = Console()
    context, pg = _open_page(browser, console)
    pg.console = console
    yield pg
    failed = any(getattr(request.node, f"rep_{w}", None) is not None and getattr(request.node, f"rep_{w}").failed
                 for w in ("setup", "call"))  # fmt: skip
    if failed:
        name = re.sub(r"[^\w.-]", "_", request.node.nodeid)[-120:]
        pg.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
        (artifacts / f"{name}.console.txt").write_text("\n".join(console.lines))
        print(f"\nscreenshot and console log of the failure: {artifacts / name}.*")
    context.close()


def wait_for_app(pg) -> None:
    """Wait until the page's title is up and Streamlit shows no script running (a rerun may still follow)."""
    pg.wait_for_selector("h1", timeout=30_000)
    pg.wait_for_timeout(300)
    pg.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=30_000)


def flash_run_id(pg) -> str:
    """The run id in the Train page's 'Started run NAME (ID)' message."""
    text = pg.get_by_text(re.compile(r"^(Started|Queued) run ")).inner_text(timeout=30_000)
    return re.search(r"\((\d{8}-\d{6}-[0-9a-f]{4})\)", text).group(1)


def launch_demo_run(pg, app: AppServer, epochs: int) -> str:
    """Fill the Train form (the demo config, ``epochs``) and launch; returns the new run's id."""
    pg.goto(app.url + "/")
    wait_for_app(pg)
    field_ = pg.get_by_label("Epochs")
    field_.fill(str(epochs))
    field_.press("Enter")
    pg.get_by_text(f"schedule.epochs={epochs}").wait_for(timeout=30_000)  # the command shows the change
    pg.get_by_role("button", name="Launch run").click()
    return flash_run_id(pg)


@dataclass
class TinyRuns:
    """The session's runs, launched through the Train page: one finished, one cancelled."""

    finished: str
    progress_seen: list[float]
    cancelled: str
    cancel_message: str


def _progress_values(pg, rid: str, timeout_s: float) -> list[float]:
    card = pg.locator(f".st-key-active-{rid}")
    card.wait_for(timeout=30_000)
    seen: list[float] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and card.count():
        try:
            value = card.get_by_role("progressbar").get_attribute("aria-valuenow", timeout=1000)
        except Exception:
            value = None
        if value is not None and (not seen or float(value) != seen[-1]):
            seen.append(float(value))
        time.sleep(0.3)
    return seen


@pytest.fixture(scope="session")
def tiny_runs(served_app: AppServer, browser, artifacts: Path) -> TinyRuns:
    """Launch a 4-epoch demo run and watch it finish, then launch a long one and cancel it, all in the browser."""
    console = Console()
    context, pg = _open_page(browser, console)
    try:
        finished = launch_demo_run(pg, served_app, epochs=4)
        seen = _progress_values(pg, finished, timeout_s=240)
        second = launch_demo_run(pg, served_app, epochs=200)
        card = pg.locator(f".st-key-active-{second}")
        card.get_by_text(re.compile(r"^epoch \d+/200")).wait_for(timeout=120_000)
        card.get_by_role("button", name="Cancel").click()
        message = pg.get_by_text(re.compile(r"^Cancelled: ")).inner_text(timeout=60_000)
        return TinyRuns(finished, seen, second, message)
    except Exception:
        pg.screenshot(path=str(artifacts / "tiny_runs.png"), full_page=True)
        (artifacts / "tiny_runs.console.txt").write_text("\n".join(console.lines))
        raise
    finally:
        context.close()


def save_screenshot(pg, name: str, artifacts: Path) -> Path:
    """A full-page screenshot into ``artifacts``, and into ``$CLAR_SCREENSHOTS`` when set (the README's images)."""
    path = artifacts / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    target = os.environ.get("CLAR_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / f"{name}.png")
    return path
