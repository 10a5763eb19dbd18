"""The owner's heartbeat thread, and a context manager that claims a run, beats, and fails it on an exception."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class HeartbeatThread(threading.Thread):
    """The owner's heartbeat and cancel poll, in a daemon thread.

    Calls ``store.heartbeat(run_id, owner)`` every ``interval_s`` seconds until :meth:`stop`, and polls for a cancel
    request every ``poll_s`` seconds (a cheap read), so that a cancel takes effect within about a second however
    long the heartbeat interval.

    Attributes:
        lost: set once a heartbeat reports that another process owns the run; the thread then stops beating.
        cancelled: set once :meth:`core.runs.RunStore.request_cancel` was called for the run.
        error: the last exception a beat raised (a busy store is retried at the next beat).
    """

    def __init__(
        self, store: Any, run_id: str, interval_s: float = 10.0, owner: str | None = None, poll_s: float = 1.0
    ) -> None:
        super().__init__(name=f"heartbeat-{run_id}", daemon=True)
        self.store, self.run_id, self.interval_s, self.owner = store, run_id, float(interval_s), owner
        self.poll_s = min(float(poll_s), self.interval_s)
        self._stop_event = threading.Event()
        self.lost = threading.Event()
        self.cancelled = threading.Event()
        self.error: BaseException | None = None

    def beat(self) -> None:
        """One heartbeat and cancel poll, now (the thread calls this every ``interval_s`` seconds)."""
        try:
            if not self.store.heartbeat(self.run_id, self.owner):
                self.lost.set()
                self._stop_event.set()
                return
            if self.store.cancel_requested(self.run_id):
                self.cancelled.set()
        except Exception as e:  # keep beating through a transient failure; report the last one
            self.error = e

    def poll(self) -> None:
        """Check for a cancel request, now."""
        try:
            if self.store.cancel_requested(self.run_id):
                self.cancelled.set()
        except Exception as e:
            self.error = e

    def run(self) -> None:
        """Beat every ``interval_s`` seconds, and poll for a cancel every ``poll_s``, until stopped or lost."""
        next_beat = time.monotonic() + self.interval_s
        while not self._stop_event.wait(max(0.0, min(self.poll_s, next_beat - time.monotonic()))):
            if time.monotonic() >= next_beat:
                self.beat()
                next_beat = time.monotonic() + self.interval_s
            else:
                self.poll()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop beating and wait up to ``timeout`` seconds for the thread."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)


@contextmanager
def running(store: Any, run_id: str, heartbeat_s: float = 10.0) -> Iterator[HeartbeatThread]:
    """Claim ``run_id``, heartbeat in the background, and finish it ``failed`` on an exception.

    The caller finishes the run (completed / cancelled) itself, passing ``beat.owner``; an exception escaping the
    block marks it ``failed`` (``interrupted`` for KeyboardInterrupt) with the exception as the reason, and is
    re-raised.
    """
    owner = store.claim(run_id, heartbeat_s=heartbeat_s, stale_after_s=max(60.0, 4 * heartbeat_s))
    beat = HeartbeatThread(store, run_id, heartbeat_s, owner)
    beat.start()
    try:
        yield beat
    except KeyboardInterrupt:
        beat.stop()
        store.finish(run_id, "interrupted", owner=owner, reason="KeyboardInterrupt")
        raise
    except BaseException as e:
        beat.stop()
        store.finish(run_id, "failed", owner=owner, reason=f"{type(e).__name__}: {e}")
        raise
    finally:
        beat.stop()
