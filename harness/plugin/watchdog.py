"""A no-progress watchdog: a run that stops moving is ended, and we say where.

Rules (no pytest here; `harness.plugin.confinement` feeds it):
- Progress is any event the caller reports (a check starting or finishing, a
  worker coming up); each report says where the run is now.
- When nothing happens for `limit` seconds, `on_stuck(where)` runs once, on
  the watchdog's own thread. The caller decides how to end the run.
- One monotonic clock; the thread wakes at most every second and is a daemon,
  so it never keeps the process alive.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from typing import Callable


class Watchdog:
    def __init__(self, limit: float, on_stuck: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.on_stuck = on_stuck
        self.clock = clock
        self.where = "starting the run"
        self.fired = False
        self._last = clock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="harness-watchdog", daemon=True)

    def start(self) -> "Watchdog":
        self._thread.start()
        return self

    def progress(self, where: str) -> None:
        with self._lock:
            self.where = where
            self._last = self.clock()

    def idle_s(self) -> float:
        with self._lock:
            return self.clock() - self._last

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(min(1.0, self.limit / 4)):
            if self.idle_s() >= self.limit and not self.fired:
                self.fired = True
                with self._lock:
                    where = self.where
                self.on_stuck(where)
                return


def main_thread_stack(limit: int = 6) -> str:
    """The innermost frames of the main thread: where a stuck process really is."""
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    if frame is None:
        return ""
    lines = traceback.format_stack(frame)[-limit:]
    return "".join(lines).rstrip()
