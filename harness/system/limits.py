"""Resource limits for the server under test, and which limit killed it.

Rules:
- Limits are POSIX rlimits set in the server's process just before it execs,
  so every descendant inherits them. Soft and hard are equal (a hostile server
  cannot raise them), except CPU: SIGXCPU at the limit, SIGKILL 2 s later.
- Core dumps are always off (a crashing server must not fill the disk).
- Memory is `RLIMIT_DATA` (private writable memory: heap, anonymous mmaps,
  thread stacks), not `RLIMIT_AS`: address space that threads, malloc arenas,
  V8 or Go merely *reserve* would make a correct server fail on a many-core
  machine. `RLIMIT_AS` is set too, at `AS_FACTOR` times the limit, as a
  backstop for memory that `RLIMIT_DATA` does not count (shared mappings).
- `RLIMIT_NPROC` counts every task (process or thread) of the server's *user*,
  and real root is exempt. It bites as intended only when the server has a user
  of its own (`harness.system.sandbox` runs it as a fresh unprivileged uid when the
  harness is root); otherwise the tasks that user already has are added to it.
- rlimits are per process: a server that forks N children may use N times the
  memory limit (bounded by the process limit) — except where `harness.system.memcg`
  gives the instance a memory cgroup: there the limit holds for its whole
  tree, shared memory, tmpfs files and memfd included.
- The cause of a death is read from what the kernel did (the signal; SIGKILL
  with the instance's memory cgroup counting an OOM kill) and what the server printed (MemoryError, EMFILE, EAGAIN from fork) — a best effort,
  worded as such.
"""

from __future__ import annotations

import resource
import signal
from dataclasses import dataclass, replace
from typing import Callable

MIB = 1024 * 1024
#: The address-space backstop, as a multiple of the memory limit (see the rules above).
AS_FACTOR = 4


@dataclass(frozen=True)
class Limits:
    """Per-server limits; None means "not limited"."""

    cpu_s: int | None = 300
    memory_mib: int | None = 2048
    open_files: int | None = 1024
    processes: int | None = 256
    file_size_mib: int | None = 64
    #: Address space reserved for thread stacks beyond the memory limit (RLIMIT_DATA only, never the memory
    #: cgroup): a thread-per-connection server reserves 8 MiB of stack per thread it never touches.
    stack_reserve_mib: int = 0

    def describe(self) -> str:
        return ", ".join(f"{name} {value}" for name, value in self.flags().items() if value is not None)

    def flags(self) -> dict[str, int | None]:
        """The limits by their command-line option."""
        return {
            "--cpu-limit": self.cpu_s,
            "--memory-limit": self.memory_mib,
            "--files-limit": self.open_files,
            "--process-limit": self.processes,
            "--file-size-limit": self.file_size_mib,
        }


#: The crowd the default limits are sized for (--clients 50, one connection each).
BASE_CROWD = 50
DEFAULTS = Limits()
#: Per connection a crowd holds beyond BASE_CROWD: two threads (a reader and a writer), 8 MiB of stack each.
THREADS_PER_CONNECTION = 2
STACK_MIB = 8


def for_crowd(limits: Limits, connections: int) -> Limits:
    """`limits`, with the default process limit and memory reservation grown for a crowd of `connections`
    held at once: the harness itself opens them, and a correct thread-per-client server (two threads per
    client in a chat design) must not hit a limit sized for 50. Limits set to other values are kept."""
    extra = max(0, connections - BASE_CROWD)
    if not extra:
        return limits
    processes, files = limits.processes, limits.open_files
    if processes is not None and processes == DEFAULTS.processes:
        processes = max(processes, THREADS_PER_CONNECTION * connections + 64)
    if files is not None and files == DEFAULTS.open_files:
        files = max(files, 2 * connections + 64)
    reserve = (THREADS_PER_CONNECTION * STACK_MIB * extra if limits.memory_mib == DEFAULTS.memory_mib
               else limits.stack_reserve_mib)
    return replace(limits, processes=processes, open_files=files, stack_reserve_mib=reserve)


def allow_own_descriptors(needed: int) -> None:
    """Let the harness's own process hold `needed` descriptors (its crowd's connections), up to its hard
    limit: a soft limit of 1024 would fail a crowd of 1000 with the harness's own EMFILE, blamed on the server.
    Servers get their own limit (`rlimits`), never this one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            pass


def rlimits(limits: Limits, tasks_already: int = 0) -> list[tuple[int, int, int]]:
    """(resource, soft, hard) to set; `tasks_already` is added to the process limit."""
    table: list[tuple[int, int, int]] = [(resource.RLIMIT_CORE, 0, 0)]
    if limits.cpu_s is not None:
        table.append((resource.RLIMIT_CPU, limits.cpu_s, limits.cpu_s + 2))
    if limits.memory_mib is not None:
        data = (limits.memory_mib + limits.stack_reserve_mib) * MIB
        table.append((resource.RLIMIT_DATA, data, data))
        table.append((resource.RLIMIT_AS, AS_FACTOR * data, AS_FACTOR * data))
    if limits.open_files is not None:
        table.append((resource.RLIMIT_NOFILE, limits.open_files, limits.open_files))
    if limits.processes is not None:
        total = limits.processes + tasks_already
        table.append((resource.RLIMIT_NPROC, total, total))
    if limits.file_size_mib is not None:
        table.append((resource.RLIMIT_FSIZE, limits.file_size_mib * MIB, limits.file_size_mib * MIB))
    return table


def clamp(table: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Never ask for more than the current hard limit (an unprivileged harness cannot raise it)."""
    clamped = []
    for res, soft, hard in table:
        _, current_hard = resource.getrlimit(res)
        if current_hard != resource.RLIM_INFINITY:
            hard = min(hard, current_hard)
            soft = min(soft, hard)
        clamped.append((res, soft, hard))
    return clamped


def setter(table: list[tuple[int, int, int]]) -> Callable[[], None]:
    """A preexec function: runs in the forked child, only calls setrlimit (no locks)."""

    def apply() -> None:
        for res, soft, hard in table:
            try:
                resource.setrlimit(res, (soft, hard))
            except (ValueError, OSError):
                pass  # a limit this system does not support (e.g. RLIMIT_AS on macOS)

    return apply


#: Words a server prints when a limit refused it something, by limit.
_SYMPTOMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("--memory-limit", ("MemoryError", "Cannot allocate memory", "bad_alloc", "out of memory", "[Errno 12]")),
    ("--files-limit", ("Too many open files", "[Errno 24]")),
    ("--process-limit", ("can't start new thread", "fork: retry", "Resource temporarily unavailable", "[Errno 11]")),
    ("--file-size-limit", ("File too large", "[Errno 27]")),
)


def explain(returncode: int | None, output_tail: str, limits: Limits, oom_killed: bool = False) -> str | None:
    """Which limit most likely ended the server, with its value, or None;
    `oom_killed`: the instance's memory cgroup says its OOM killer struck."""
    flags = limits.flags()
    if returncode is not None and returncode < 0:
        sig = -returncode
        if sig == signal.SIGKILL and oom_killed and flags["--memory-limit"] is not None:
            return (f"it was killed at the memory limit (--memory-limit {limits.memory_mib} MiB, shared memory, "
                    "tmpfs files and memfd of all its processes included)")
        if sig == signal.SIGXCPU and flags["--cpu-limit"] is not None:
            return f"it used up its CPU time limit (--cpu-limit {limits.cpu_s} s)"
        if sig == signal.SIGXFSZ and flags["--file-size-limit"] is not None:
            return f"it wrote a file beyond the file size limit (--file-size-limit {limits.file_size_mib} MiB)"
    if returncode in (None, 0, -signal.SIGINT, -signal.SIGTERM):
        return None  # a stop someone asked for (the shutdown checks' own signals), not a limit
    if "can't start new thread" in output_tail and flags["--memory-limit"] is not None:
        # Each thread's stack counts against the address-space limit as well as the process limit.
        processes = flags["--process-limit"]
        return (f"it could not start another thread: the memory limit (--memory-limit {flags['--memory-limit']} MiB) "
                + (f"or the process limit (--process-limit {processes}) " if processes is not None else "")
                + "was reached")
    for flag, words in _SYMPTOMS:
        value = flags[flag]
        if value is not None and any(word in output_tail for word in words):
            unit = {"--memory-limit": " MiB", "--file-size-limit": " MiB"}.get(flag, "")
            noun = {"--memory-limit": "memory", "--files-limit": "open files", "--process-limit": "processes",
                    "--file-size-limit": "file size"}[flag]
            return f"it probably hit the {noun} limit ({flag} {value}{unit})"
    return None
