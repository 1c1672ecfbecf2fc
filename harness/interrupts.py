"""SIGINT and SIGTERM stop a run like Ctrl+C: once, and never silently lost.

Rules (no pytest here; `harness.plugin.confinement` installs it):
- The first SIGINT or SIGTERM raises KeyboardInterrupt in the main thread;
  pytest then stops, the servers are killed and the partial report written.
- Later ones only say that we are on it, so they cannot cut that cleanup
  short (the cleanup is bounded by the launcher's deadlines; SIGKILL works).
- CPython runs a signal handler at the main thread's next bytecode check,
  which may be inside a finalizer (`__del__`, a generator being closed, a
  weakref callback). An exception raised there is printed as "Exception
  ignored in ..." and dropped, and the run would carry on as if no one had
  asked it to stop. So the KeyboardInterrupt we raise is watched through
  `sys.unraisablehook`: if it is dropped, a helper thread raises it again a
  few milliseconds later, once the finalizer is over (tripped from inside
  the hook, the handler would run in the hook and be dropped again).
- Whatever else might swallow it: if pytest has not taken the stop in hand
  (`taken()`) `LOST_AFTER_S` after the signal, the helper raises it again.
  Unwinding to pytest takes milliseconds (fixtures are torn down later), so
  this never cuts a cleanup short.
- `stop_requested()` tells the report that the run was interrupted, however
  pytest ended it.
"""

from __future__ import annotations

import _thread
import os
import select
import signal
import sys
import threading
import time
from typing import Any, Callable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: The KeyboardInterrupt we raised last, to recognise it if a finalizer drops it.
_raised: KeyboardInterrupt | None = None
#: Set when that KeyboardInterrupt was dropped: the next SIGINT raises it again.
_redeliver = False
#: Write end of the pipe that wakes the helper thread which raises it again.
_wake_fd: int | None = None
REDELIVER_AFTER_S = 0.005
LOST_AFTER_S = 2.0
#: When the stop was last raised (monotonic), and whether pytest has taken it in hand.
_raised_at: float | None = None
_taken = False
#: Whether the "already stopping" line was printed.
_told = False


def stop_requested() -> bool:
    """Did a SIGINT/SIGTERM (or the watchdog) ask this process to stop?"""
    return _raised is not None


def taken() -> None:
    """pytest has the stop in hand (its KeyboardInterrupt handling, or the session's end)."""
    global _taken
    _taken = True


def interrupt_once(quiet: bool = False) -> None:
    """From now on the first SIGINT/SIGTERM stops the run like Ctrl+C.
    `quiet`: never print the "already stopping" note (a -n worker: its controller says it)."""
    global _told
    _told = _told or quiet
    if threading.current_thread() is threading.main_thread():
        _start_redeliverer()
        for sig in STOP_SIGNALS:
            signal.signal(sig, _first_interrupt)


def _start_redeliverer() -> None:
    """A daemon thread that, woken through a pipe (no lock a finalizer could
    be holding), raises a dropped stop again in the main thread."""
    global _wake_fd
    if _wake_fd is not None:
        return
    read_fd, _wake_fd = os.pipe()

    def redeliver() -> None:
        global _redeliver
        while True:  # a daemon thread: ends with the process
            woken, _, _ = select.select([read_fd], [], [], LOST_AFTER_S / 4)
            if woken:
                os.read(read_fd, 1)
                time.sleep(REDELIVER_AFTER_S)
                _thread.interrupt_main(signal.SIGINT)
            elif _raised_at is not None and not _taken and time.monotonic() - _raised_at > LOST_AFTER_S:
                _redeliver = True
                _thread.interrupt_main(signal.SIGINT)

    threading.Thread(target=redeliver, name="harness-interrupts", daemon=True).start()


def shield_cleanup() -> None:
    """From now on SIGINT and SIGTERM only say that we are on it."""
    if threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            signal.signal(sig, _already_stopping)


def ignore_further_stops() -> None:
    """The run is over and its reports written: ignore SIGINT and SIGTERM from
    here to the exit. While Python shuts down it puts back the default handlers
    of the signals it handled (not of ignored ones), and one more Ctrl+C then
    would end the process by the signal (exit -2), not with 130."""
    if threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def _first_interrupt(signum: int, frame: Any) -> None:
    shield_cleanup()
    _raise_watched()


def _already_stopping(signum: int, frame: Any) -> None:
    global _redeliver
    if _redeliver and not _taken:  # once pytest has the stop in hand, raising it again could only escape it
        _redeliver = False
        _raise_watched()
    global _told
    if not _told:  # however many Ctrl+C: one line (a -n worker never says it: its controller does)
        _told = True
        print("note: already stopping: killing the servers and writing the report", file=sys.stderr, flush=True)


def _raise_watched() -> None:
    """Raise KeyboardInterrupt with a hook in place that notices if it is dropped.

    The hook is put in now, not at start-up, because pytest swaps its own in
    (and out) around the checks; from here to a finalizer dropping the
    exception nothing else runs, so ours is the one called.
    """
    global _raised, _raised_at
    _raised, _raised_at = KeyboardInterrupt(), time.monotonic()
    sys.unraisablehook = _WatchDropped(sys.unraisablehook)
    raise _raised


class _WatchDropped:
    """An unraisable hook that raises our dropped KeyboardInterrupt again."""

    def __init__(self, previous: Callable[[Any], object]) -> None:
        # Never wrap a watcher in a watcher: repeated stops keep one layer.
        self.previous = previous.previous if isinstance(previous, _WatchDropped) else previous

    def __call__(self, unraisable: Any) -> None:
        global _redeliver
        if _raised is not None and unraisable.exc_value is _raised:
            _redeliver = True
            if _wake_fd is not None:
                os.write(_wake_fd, b"!")
            return
        self.previous(unraisable)
