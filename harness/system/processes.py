"""The machine's process table: which processes exist, whose they are, and
how the harness keeps, kills and reaps them.

Rules:
- Every scan of the process table is here, but for the probe's own fast
  reader of a server's tree (`probe.LinuxProbe`). On Linux the table is read
  from /proc (cheap, no extra dependency); where /proc is missing (macOS,
  BSD), through psutil. Both readers give the same answers;
  `PROC` says which one is used (tests switch it to exercise psutil).
- A zombie is not a live process: it has exited, and its parent reaps it.
- `processes_with_env` is the one sweep by environment marker (a run's id, a
  graded submission's marker, a server's token). What it cannot catch: a
  process that cleared or replaced its environment (`env -i`, `execve` with a
  new one), or one run by another user whose environment we may not read.
- `become_subreaper` and `dies_with_us` are Linux's `prctl`; elsewhere they do
  nothing, and the sweeps are what finds orphans.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

#: Read the process table from /proc (else through psutil).
PROC = os.path.isdir("/proc/self")

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _proc_pids() -> Iterable[int]:
    return (int(name) for name in os.listdir("/proc") if name.isdigit())


def _proc_stat(pid: int) -> tuple[bytes, int, int] | None:
    """(state, parent pid, session id) from /proc/PID/stat; None if gone or unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()  # stat field N is fields[N - 3]
    try:
        return fields[0], int(fields[1]), int(fields[3])
    except (ValueError, IndexError):
        return None


def _proc_status(pid: int) -> dict[bytes, bytes] | None:
    """The fields of /proc/PID/status; None if gone or unreadable."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            status = f.read()
    except OSError:
        return None
    return dict(line.split(b":", 1) for line in status.splitlines() if b":" in line)


def _real_uid(fields: dict[bytes, bytes] | None) -> int | None:
    """The real uid in /proc/PID/status fields (`_proc_status`); None if gone or unreadable."""
    try:
        return int(fields[b"Uid"].split()[0]) if fields else None
    except (KeyError, ValueError, IndexError):
        return None


def children_by_parent() -> dict[int, list[int]]:
    """Every process (zombies too), listed under its parent's pid."""
    children: dict[int, list[int]] = {}
    if PROC:
        for pid in _proc_pids():
            if (stat := _proc_stat(pid)) is not None:
                children.setdefault(stat[1], []).append(pid)
        return children
    import psutil

    for process in psutil.process_iter(["ppid"]):
        if process.info["ppid"] is not None:
            children.setdefault(process.info["ppid"], []).append(process.pid)
    return children


def live_children(parent: int) -> list[int]:
    """Live (non-zombie) child processes of `parent`."""
    if PROC:
        return [pid for pid in _proc_pids() if (stat := _proc_stat(pid)) and stat[1] == parent and stat[0] != b"Z"]
    import psutil

    return _psutil_children(parent, lambda child: child.status() != psutil.STATUS_ZOMBIE)


def zombie_children(parent: int, session: int) -> list[int]:
    """Dead, unreaped children of `parent` that were in `session` (never `session`'s leader itself)."""
    if PROC:
        return [pid for pid in _proc_pids() if pid != session and (stat := _proc_stat(pid))
                and stat[0] == b"Z" and stat[1] == parent and stat[2] == session]
    import psutil

    return _psutil_children(parent, lambda child: child.pid != session and child.status() == psutil.STATUS_ZOMBIE
                            and os.getsid(child.pid) == session)


def zombies_of(parents: Iterable[int]) -> list[int]:
    """Dead, unreaped children of any of `parents`: a forking server that never waits for its children."""
    wanted = set(parents)
    if PROC:
        return [pid for pid in _proc_pids() if (stat := _proc_stat(pid)) and stat[0] == b"Z" and stat[1] in wanted]
    import psutil

    found = []
    for parent in wanted:
        found += _psutil_children(parent, lambda child: child.status() == psutil.STATUS_ZOMBIE)
    return found


def _psutil_children(parent: int, keep: Callable[[Any], bool]) -> list[int]:
    """The children of `parent` that `keep` accepts, through psutil (a child that is gone meanwhile is left out)."""
    import psutil

    try:
        children = psutil.Process(parent).children()
    except psutil.Error:
        return []
    found = []
    for child in children:
        try:
            if keep(child):
                found.append(child.pid)
        except (psutil.Error, OSError):
            continue
    return found


def live_children_of_user(parent: int, uid: int) -> list[int]:
    """Live children of `parent` whose real uid is `uid`: as a subreaper, the orphans
    one unprivileged instance left (it cannot change its uid; its session and environment it can)."""
    if PROC:
        return [pid for pid in live_children(parent) if _real_uid(_proc_status(pid)) == uid]
    import psutil

    return _psutil_children(parent, lambda child: child.uids().real == uid and child.status() != psutil.STATUS_ZOMBIE)


def pids_of_user(uid: int) -> list[int]:
    """Live (non-zombie) processes whose real uid is `uid`."""
    if PROC:
        found = []
        for pid in _proc_pids():
            fields = _proc_status(pid)
            if _real_uid(fields) == uid and fields and fields.get(b"State", b"").split()[:1] != [b"Z"]:
                found.append(pid)
        return found
    import psutil

    found = []
    for process in psutil.process_iter():
        try:
            if process.uids().real == uid and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


def threads_of_user(uid: int) -> int:
    """How many tasks (threads count) `uid` runs now, zombies included: they count against RLIMIT_NPROC."""
    total = 0
    if PROC:
        for pid in _proc_pids():
            fields = _proc_status(pid)
            try:
                if fields and int(fields[b"Uid"].split()[0]) == uid:
                    total += int(fields.get(b"Threads", b"1"))
            except (KeyError, ValueError, IndexError):
                continue
        return total
    import psutil

    for process in psutil.process_iter():
        try:
            if process.uids().real == uid:
                total += process.num_threads()
        except psutil.Error:
            continue
    return total


def processes_with_env(variable: str, value: str) -> list[int]:
    """Processes (not this one) whose environment sets `variable` to exactly `value`."""
    me = os.getpid()
    if PROC:
        entry = f"{variable}={value}".encode()
        found = []
        for pid in _proc_pids():
            if pid == me:
                continue
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if entry in f.read().split(b"\0"):
                        found.append(pid)
            except OSError:
                continue
        return found
    import psutil

    found = []
    for process in psutil.process_iter():
        try:
            if process.pid != me and process.environ().get(variable) == value:
                found.append(process.pid)
        except (psutil.Error, OSError):
            continue
    return found


def start_time(pid: int) -> int | None:
    """When `pid` started, in a unit of this system's (clock ticks since boot on
    Linux): the same pid with another start time is another process. None if gone."""
    if PROC:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                raw = f.read()
            return int(raw[raw.rfind(b")") + 2 :].split()[19])  # stat field 22
        except (OSError, ValueError, IndexError):
            return None
    import psutil

    try:
        return int(psutil.Process(pid).create_time() * 100)
    except (psutil.Error, OSError):
        return None


def kill(pids: Iterable[int], sig: int = signal.SIGKILL) -> list[int]:
    """Send `sig` to each of `pids`; the ones it reached."""
    reached = []
    for pid in pids:
        try:
            os.kill(pid, sig)
            reached.append(pid)
        except OSError:
            continue
    return reached


def reap(pids: Iterable[int], wait: bool = False) -> int:
    """Collect the exit status of those of `pids` that are our children and
    have exited (`wait`: wait for each to exit); how many were our children."""
    count = 0
    for pid in pids:
        try:
            os.waitpid(pid, 0 if wait else os.WNOHANG)
            count += 1
        except ChildProcessError:
            pass
    return count


def ignored_signals(pid: int) -> set[int]:
    """The signals `pid` ignores (SIG_IGN); empty where unknown (no /proc: psutil does not say)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            mask = next((int(line.split()[1], 16) for line in f if line.startswith("SigIgn:")), 0)
    except (OSError, ValueError, IndexError):
        return set()
    return {number for number in range(1, 65) if mask & (1 << (number - 1))}


def become_subreaper() -> None:
    """Orphaned grandchildren (double forks) re-parent to us, so we can reap them."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def parent_death_signal(sig: int, preexec: Callable[[], None] | None = None, *,
                        orphaned: Callable[[], None] | None = None) -> Callable[[], None] | None:
    """A preexec function: `preexec`, then the child gets `sig` when the thread
    that started it ends (Linux's PR_SET_PDEATHSIG); elsewhere just `preexec`.

    If the parent is already gone by then, `orphaned()` runs (default: the
    child sends itself `sig`), since the kernel would never send it.
    """
    if not sys.platform.startswith("linux"):
        return preexec
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up now: no dlopen after fork
    except (OSError, AttributeError):
        return preexec
    parent = os.getpid()

    def run() -> None:
        if preexec is not None:
            preexec()
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before it was set
            (orphaned or (lambda: os.kill(os.getpid(), sig)))()

    return run


def dies_with_us(preexec: Callable[[], None] | None) -> Callable[[], None] | None:
    """`preexec`, then: if the harness dies (even by SIGKILL), the child gets SIGKILL.

    Set last, after any uid switch, which clears it. The kernel sends it when
    the thread that started the child ends, so only the main thread (which
    lives as long as the run) asks for it. Orphans the child made itself are
    still the sweep's to find.
    """
    if threading.current_thread() is not threading.main_thread():
        return preexec
    return parent_death_signal(signal.SIGKILL, preexec, orphaned=lambda: os._exit(1))
