"""Is a server idle when nobody talks to it? Its CPU time over a quiet window.

Rule: a server is busy only if it is over the limit in two windows in a row:
a busy loop never stops, while a one-off burst (a JIT warming up, a garbage
collection) does. A window is whole unless the server is far over the limit
(SURELY_BUSY): judged on a fraction of a window, a burst was a busy loop. The CPU time is the OS's figure for the server and its
children (`harness.system.probe`, through the instance's probe); it is sampled
every SAMPLE_S s, the process tree found again each time, so a spinning server
is caught early in a window, even one whose spinning processes come and go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.deadline import Deadline, poll_until
from harness.errors import CheckFailed
from harness.server.serverkind import END_OF_INPUT, language_of

if TYPE_CHECKING:
    from harness.server.launcher import ServerProcess

#: The idle window, and the CPU time a server may use in it.
IDLE_WINDOW = 1.0
IDLE_CPU_LIMIT = 0.1
#: CPU seconds that end a window early: far over the limit (a spinner gets there in half a window).
SURELY_BUSY = 0.5
#: How often the server's processes are looked for and their CPU time read in a window.
SAMPLE_S = 0.05

#: concurrency::idle_without_busy_loop, as `harness list` shows it (one check id in every protocol).
IDLE_DESCRIPTION = (f"three clients are served and leave (UDP: three datagrams are answered); then nobody talks "
                    f"to the server for {IDLE_WINDOW:g} s")
IDLE_EXPECTATION = (f"the server (children included) uses at most {IDLE_CPU_LIMIT:g} CPU seconds in that second, "
                    "or in the next one (no loop spinning on recv() returning b'', no busy polling)")


class CpuMeter:
    """CPU seconds the server's processes used since the meter started, its tree found again at every look:
    a process born meanwhile counts from its birth, one that ended counts what it was last seen using (blind
    16: a spinner that replaced itself every 0.25 s was never in a list of pids taken once). Each process
    counts with its children's time, reaped or zombie (`tree_cpu_seconds`): a child born, spinning and
    reaped between two looks counts in its parent (blind 18), and a child that ended before the window and
    is reaped in it does not count as new."""

    def __init__(self, instance: ServerProcess) -> None:
        self.instance = instance
        self.base: dict[tuple[int, float | None], float] = {}
        self.latest: dict[tuple[int, float | None], float] = {}
        self._look(first=True)

    def _look(self, first: bool = False) -> None:
        probe = self.instance.probe
        for pid in self.instance.pids():
            key = (pid, probe.start_time(pid))
            cpu = probe.tree_cpu_seconds([pid])
            self.base.setdefault(key, cpu if first else 0.0)
            self.latest[key] = max(cpu, self.latest.get(key, 0.0))

    def used(self) -> float:
        self._look()
        return sum(self.latest[key] - self.base[key] for key in self.latest)


def busy_while_idle(instance: ServerProcess) -> str:
    """"" if the server stays within IDLE_CPU_LIMIT in a window of IDLE_WINDOW s (or the next one);
    else what it used, e.g. "0.93 CPU seconds in 1.00 s and then 0.95 CPU seconds in 1.00 s"."""
    samples = []
    for _ in range(2):
        meter = CpuMeter(instance)
        window = Deadline(IDLE_WINDOW)
        # A whole window, unless the server is far over (a spinner: in half a second): a start-up burst of
        # 0.2 CPU s over 0.4 s (a JVM compiling) read as two windows over the limit (blind 17).
        poll_until(lambda: meter.used() > SURELY_BUSY, window, interval=SAMPLE_S, max_interval=SAMPLE_S)
        used = meter.used()
        samples.append((used, window.elapsed()))
        if used <= IDLE_CPU_LIMIT:
            return ""
    return " and then ".join(f"{cpu:.2f} CPU seconds in {wall:.2f} s" for cpu, wall in samples)


def require_idle(instance: ServerProcess, situation: str, datagrams: bool = False) -> None:
    """concurrency::idle_without_busy_loop's verdict, in every protocol: over the limit in two windows in a row
    fails, naming the usual cause: a TCP loop that never sees recv() return b'', a UDP loop that polls."""
    used = busy_while_idle(instance)
    if not used:
        return
    if datagrams:  # no connection ends in UDP: a busy UDP server polls
        cause = ("it asks its socket for datagrams again and again (a non-blocking recvfrom() in a loop, or a "
                 "timeout of 0): wait in a blocking recvfrom() or select(), never in a polling loop")
    else:
        cause = (f"{END_OF_INPUT[language_of(instance.spec.argv)]}: break out of the loop and close the socket; "
                 "wait in a blocking accept()/recv()/select(), never in a polling loop")
    raise CheckFailed(
        f"the server used {used} with no client talking to it ({situation}; limit {IDLE_CPU_LIMIT:g} CPU "
        f"seconds per {IDLE_WINDOW:g} s): a loop keeps running without work — {cause}"
    )
