"""The app's background thread, ticking every 2 s.

Each tick starts the queued runs whose device is free, and records as failed the launched runs whose process died
before training started.
"""

from __future__ import annotations

import logging
import threading

from app.settings import checkpoint_root, runs_db

log = logging.getLogger(__name__)


class QueueDispatcher(threading.Thread):
    """Calls :func:`core.train.launcher.dispatch_queue` every ``interval_s`` seconds until stopped."""

    def __init__(self, interval_s: float = 2.0) -> None:
        super().__init__(name="clar-queue", daemon=True)
        self.interval_s = interval_s
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Dispatch until stopped; a failure is logged and retried at the next tick."""
        from core.runs import RunStore
        from core.train.launcher import dispatch_queue, reap_unstarted

        while not self._stop_event.wait(self.interval_s):
            try:
                with RunStore(runs_db(), lock_timeout_s=5.0) as store:
                    for run_id in reap_unstarted(store):
                        log.warning("run %s: its process exited before training started", run_id)
                    started = dispatch_queue(store)
                for run_id in started:
                    log.info("started queued run %s (checkpoints under %s)", run_id, checkpoint_root())
            except Exception as e:  # a locked or missing store must not kill the thread
                log.warning("queue dispatch failed: %s", e)

    def stop(self) -> None:
        """Stop after the current tick."""
        self._stop_event.set()
