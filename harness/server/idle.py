"""Is a server idle when nobody talks to it? Its CPU time over a quiet window.

Rule: a server is busy only if it is over the limit in two windows in a row:
a busy loop never stops, while a one-off burst (a JIT warming up, a garbage
collection) does. The CPU time is the OS's figure for the server and its
children (`harness.system.probe`, through the instance's probe); it is sampled
every 0.1 s, so a spinning server is caught early in a window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.deadline import Deadline, poll_until

if TYPE_CHECKING:
    from harness.server.launcher import ServerProcess

#: The idle window, and the CPU time a server may use in it.
IDLE_WINDOW = 1.0
IDLE_CPU_LIMIT = 0.1


def busy_while_idle(instance: ServerProcess) -> str:
    """"" if the server stays within IDLE_CPU_LIMIT in a window of IDLE_WINDOW s (or the next one);
    else what it used, e.g. "0.93 CPU seconds in 1.00 s and then 0.95 CPU seconds in 1.00 s"."""
    probe = instance.probe
    pids = instance.pids()
    samples = []
    for _ in range(2):
        before = probe.cpu_seconds(pids)
        window = Deadline(IDLE_WINDOW)
        over = poll_until(lambda: probe.cpu_seconds(pids) - before > IDLE_CPU_LIMIT, window,
                          interval=0.1, max_interval=0.1)
        samples.append((probe.cpu_seconds(pids) - before, window.elapsed()))
        if not over:
            return ""
    return " and then ".join(f"{cpu:.2f} CPU seconds in {wall:.2f} s" for cpu, wall in samples)
