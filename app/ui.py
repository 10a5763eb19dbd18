"""Small pieces every page uses: the run store (or a readable message instead), errors as one line, formats.

A user never sees a traceback: :func:`shown_errors` turns an exception into one line on the page (and the traceback
into the server log), and the rest of the page keeps working.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import streamlit as st

from app.settings import runs_db
from core.errors import ClarError
from core.runs import RunStore
from core.train.reporter import format_duration

log = logging.getLogger(__name__)

STATUS_ICONS = {
    "created": ":material/hourglass_top:",
    "queued": ":material/schedule:",
    "running": ":material/directions_run:",
    "completed": ":material/check_circle:",
    "failed": ":material/error:",
    "cancelled": ":material/cancel:",
    "interrupted": ":material/pause_circle:",
}


def one_line(e: BaseException) -> str:
    """An exception as one line: its message, whitespace folded (its type when it has none)."""
    return " ".join(str(e).split()) or type(e).__name__


@contextmanager
def shown_errors(what: str) -> Iterator[None]:
    """Show a failure inside the block as one line (``what: message``) instead of a traceback; the page goes on."""
    try:
        yield
    except (ClarError, OSError, sqlite3.Error, ValueError) as e:
        st.error(f"{what}: {one_line(e)}", icon=":material/error:")
    except Exception as e:
        log.exception("%s failed", what)
        st.error(f"{what} failed unexpectedly ({type(e).__name__}: {one_line(e)}); the server log has the details")


def open_store() -> RunStore:
    """The run store, with short lock timeouts: a locked store gives a message in seconds, not a hung page."""
    return RunStore(runs_db(), busy_timeout_s=1.0, lock_timeout_s=3.0)


def store_or_stop() -> RunStore:
    """The run store, checked with one read; on failure a readable message and the page stops there."""
    try:
        store = open_store()
        store.list_runs(limit=1)
        return store
    except (ClarError, OSError, sqlite3.Error) as e:
        st.error(
            f"The run store cannot be used: {one_line(e)}. Check `--runs-db` (or `$CLAR_RUNS_DB`); if another "
            "program holds it locked, this page retries when you reload it.",
            icon=":material/database:",
        )
        st.stop()
        raise  # unreachable: st.stop() ends the script run


def pct(v: float | None) -> str:
    """``0.8125`` -> ``81.2 %``; None or NaN -> ``–``."""
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f} %"


def num(v: float | None, digits: int = 4) -> str:
    """A number to ``digits`` significant digits; None or NaN -> ``–``."""
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}g}"


def duration(seconds: float | None) -> str:
    """``1h02m03s``; None -> ``–``."""
    return "–" if seconds is None else format_duration(seconds)


def when(ts: float | None) -> str:
    """A Unix time as local ``YYYY-MM-DD HH:MM``; None -> ``–``."""
    return "–" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def status_label(status: str) -> str:
    """A status with its icon."""
    return f"{STATUS_ICONS.get(status, '')} {status}"
