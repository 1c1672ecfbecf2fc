"""A graded run's own time limit, which holds even if `harness grade` dies.

`harness grade` gives each `harness run` it starts:
- `HARNESS_RUN_DEADLINE` (wall-clock seconds since the epoch): the run arms a
  timer at start; at the deadline it interrupts itself like Ctrl+C (servers
  stopped, report written), and `HARD_STOP_S` later it kills its own process
  group. Wall clock, because it crosses a process boundary.
- a parent-death signal (SIGTERM, Linux): the moment the grading process dies
  — even by SIGKILL — the run is interrupted the same way.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Callable

from harness.system import processes

VARIABLE = "HARNESS_RUN_DEADLINE"
#: After the interrupt, how long the run has to stop its servers and write its report.
HARD_STOP_S = 10.0


def environment(timeout: float) -> dict[str, str]:
    """What to add to a graded run's environment for a limit of `timeout` seconds from now."""
    return {VARIABLE: f"{time.time() + timeout:.3f}"}


def ends_with_parent() -> Callable[[], None] | None:
    """A preexec function: the child gets SIGTERM when the thread that started it ends (Linux)."""
    return processes.parent_death_signal(signal.SIGTERM)


def arm(environ: dict[str, str] | None = None) -> int | None:
    """If this run has a deadline, fork its watcher; returns the watcher's pid.

    A process, not a thread: the run may still have to enter a user namespace
    (single-threaded only), and SIGALRM belongs to pytest-timeout. The watcher
    dies with the run.
    """
    raw = (os.environ if environ is None else environ).get(VARIABLE)
    try:
        deadline = float(raw) if raw else None
    except ValueError:
        deadline = None
    if deadline is None or not hasattr(os, "fork"):
        return None
    run, die = os.getpid(), ends_with_parent()
    pid = os.fork()
    if pid:
        return pid
    try:  # the watcher: sleeps until the deadline unless the run ends first
        if die is not None:
            die()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for until, action in ((deadline, signal.SIGINT), (deadline + HARD_STOP_S, signal.SIGKILL)):
            while time.time() < until:
                if os.getppid() != run:
                    os._exit(0)
                time.sleep(min(0.5, max(0.01, until - time.time())))
            if action == signal.SIGINT:
                os.write(2, b"harness: the grading time limit is reached: stopping\n")
                os.kill(run, signal.SIGINT)
            else:
                os.killpg(os.getpgid(run), signal.SIGKILL)
    finally:
        os._exit(0)
    return None  # not reached
