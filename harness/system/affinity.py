"""CPU placement for speed measurements: the load generator on one CPU, the
servers it compares on the others.

Why: left to the scheduler, every instance of a thread-per-client server is
placed anew, and on a 2-core machine two instances of the *same* server
differ by up to 2x in 50-client latency for a whole run (measured, reference
against itself: ratio spread ±29 % over 6 runs unpinned, ±1 % split). With
CPUs of their own, both sides of a comparison get the same placement. The
server under test and the reference get the same CPUs, so the ratio stays
fair; a multi-process server loses only the CPU it would have shared with
the generator anyway.

Rules: Linux only (elsewhere, and with fewer than 2 CPUs, nothing changes);
the calling thread alone is moved (`sched_setaffinity(0)` is per thread), and
everything is put back as it was when the block ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

from harness.system.probe import proc_entries


@dataclass(frozen=True)
class Placement:
    generator: frozenset[int]
    servers: frozenset[int]

    def describe(self) -> str:
        return f"load generator on CPU {_cpus(self.generator)}, servers on CPU {_cpus(self.servers)}"


def _cpus(cpus: frozenset[int]) -> str:
    return ",".join(str(cpu) for cpu in sorted(cpus))


def plan(allowed: set[int]) -> Placement | None:
    """One CPU for the generator, the rest for the servers; None below 2 CPUs."""
    if len(allowed) < 2:
        return None
    first, *rest = sorted(allowed)
    return Placement(frozenset({first}), frozenset(rest))


def threads_of(pids: list[int]) -> list[int]:
    """Every thread id of `pids` (a thread's affinity is its own)."""
    return [int(path.rsplit("/", 1)[1]) for path in proc_entries(pids, "task")]


def place(pids: list[int], cpus: frozenset[int] | set[int]) -> None:
    """Move every thread of `pids` to `cpus` (threads they start later inherit it)."""
    for tid in threads_of(pids):
        try:
            os.sched_setaffinity(tid, cpus)
        except OSError:  # gone, or not ours to move
            pass


@dataclass
class Apart:
    """What `generator_apart` did: the placement (None where there is none),
    and `reapply` for threads or processes a server started since."""

    placement: Placement | None
    reapply: Callable[[], None]


@contextmanager
def generator_apart(server_trees: list[Callable[[], list[int]]]) -> Iterator[Apart]:
    """Within the block, this thread runs on its own CPU and the servers (each
    given as a function listing its live pids) on the others; call
    `reapply()` after connecting clients, in case a server started threads or
    processes meanwhile."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_setaffinity") else set()
    placement = plan(allowed)
    if placement is None:
        yield Apart(None, lambda: None)
        return

    def reapply() -> None:
        for tree in server_trees:
            place(tree(), placement.servers)

    reapply()
    os.sched_setaffinity(0, placement.generator)
    try:
        yield Apart(placement, reapply)
    finally:
        os.sched_setaffinity(0, allowed)
        for tree in server_trees:
            place(tree(), allowed)
