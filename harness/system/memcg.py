"""A memory cgroup per server instance: the memory limit counts shared memory, tmpfs files and memfd.

`harness.system.sandbox` creates one (`create()`) for each instance before it spawns
the server, puts the server's first process in it from the preexec function
(`MemoryCgroup.join`, before any server code runs; every descendant, the
sandbox's init and the server's children included, inherits it), asks it
whether its OOM killer struck (`oom_kills()`) when describing an exit, and
removes it after the instance is stopped (`remove()`). No pytest here.

Rules:
- The cgroup is made below the harness's own memory cgroup (read from
  /proc/self/cgroup and /proc/self/mountinfo): cgroup v2 where its memory
  controller is enabled (`memory.max`, `memory.swap.max` 0), else v1
  (`memory.limit_in_bytes`, and `memory.memsw.limit_in_bytes` where swap is
  accounted, so nothing escapes to swap).
- Its limit is exactly the instance's `--memory-limit`, for the whole tree of
  the instance (bwrap and its init use about 1 MiB; a forking server shares
  the limit among its processes). The per-process rlimits of
  `harness.system.limits` stay, as before.
- Where no cgroup can be made (not root, a read-only cgroupfs, no memory
  controller, not Linux), `create()` returns None and nothing changes;
  `unavailable_reason()` says why, once (`harness doctor`).
- Joining is best effort: a preexec function must not raise for this.
- `remove()` never raises: it SIGKILLs what is still listed in the cgroup,
  then retries rmdir for a bounded time. A cgroup left by a harness that was
  killed is removed by the next harness that creates one (named by its pid).
"""

from __future__ import annotations

import functools
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Callable

MIB = 1024 * 1024
PREFIX = "harness-"
#: How long `remove()` retries rmdir (a killed task leaves its cgroup when it is reaped).
REMOVE_WITHIN = 2.0


class Cgroup:
    """One instance's cgroup (v1 or v2) at `path`: joined before the server runs, removed after it."""

    def __init__(self, path: Path, version: int) -> None:
        self.path = path
        self.version = version
        self.removed = False
        self._last_oom_kills = 0

    def join(self) -> Callable[[], None]:
        """A preexec function: moves the calling (forked) process into the cgroup. Only syscalls."""
        procs = os.fsencode(self.path / "cgroup.procs")

        def run() -> None:
            try:
                fd = os.open(procs, os.O_WRONLY)
                try:
                    os.write(fd, b"0")  # 0: the writing process itself (v1 and v2)
                finally:
                    os.close(fd)
            except OSError:
                pass

        return run

    def pids(self) -> list[int]:
        try:
            return [int(word) for word in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def remove(self, within: float = REMOVE_WITHIN) -> bool:
        """Kill what is left in it and remove it; True if it is gone. Never raises."""
        if self.removed:
            return True
        self.before_removal()
        deadline = time.monotonic() + within
        delay = 0.002
        while True:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                os.rmdir(self.path)
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
                continue
            break
        self.removed = True
        return True

    def before_removal(self) -> None:
        """What to read from the cgroup while it still exists."""


class MemoryCgroup(Cgroup):
    """One instance's memory cgroup: its limit, and whether its OOM killer struck."""

    def before_removal(self) -> None:
        self.oom_kills()

    def oom_kills(self) -> int:
        """How many tasks of this cgroup its OOM killer ended (the last count, once removed)."""
        if self.removed:
            return self._last_oom_kills
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            text = (self.path / name).read_text()
        except OSError:
            return self._last_oom_kills
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                self._last_oom_kills = int(value)
        return self._last_oom_kills


def create(limit_mib: int) -> MemoryCgroup | None:
    """A new memory cgroup limited to `limit_mib` MiB (swap included), or None where none can be made."""
    parent = own_memory_folder()
    if parent is None:
        return None
    folder, version = parent
    path = new_folder(folder)
    if path is None:
        return None
    cgroup = MemoryCgroup(path, version)
    try:
        _set_limit(cgroup, limit_mib * MIB)
    except OSError:
        cgroup.remove(within=0.2)
        return None
    return cgroup


def new_folder(parent: Path) -> Path | None:
    """A fresh instance's cgroup folder below `parent` (stale ones of dead harnesses removed first), or None."""
    remove_stale(parent)
    path = parent / f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"  # no counter: the server reads its cgroup
    try:
        os.mkdir(path, 0o755)
    except OSError:
        return None
    return path


def _set_limit(cgroup: MemoryCgroup, limit: int) -> None:
    if cgroup.version == 2:
        if not (cgroup.path / "memory.max").exists():
            raise OSError("the memory controller is not enabled for this cgroup's children")
        (cgroup.path / "memory.max").write_text(str(limit))
        swap = cgroup.path / "memory.swap.max"
        if swap.exists():
            swap.write_text("0")
        return
    (cgroup.path / "memory.limit_in_bytes").write_text(str(limit))
    memsw = cgroup.path / "memory.memsw.limit_in_bytes"
    if memsw.exists():  # after the memory limit: memsw may never be below it
        memsw.write_text(str(limit))


def own_memory_folder() -> tuple[Path, int] | None:
    """The harness's own memory cgroup folder and its version (2 first), if one is mounted."""
    return own_folder("memory")


@functools.lru_cache(maxsize=4)
def own_folder(controller: str) -> tuple[Path, int] | None:
    """The harness's own cgroup folder where `controller` is enabled, and its version (2 first)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        membership = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    paths: dict[str, str] = {}  # "2" or "1" -> our cgroup path in that hierarchy
    for line in membership:
        number, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if number == "0" and controllers == "":
            paths["2"] = path
        elif controller in controllers.split(","):
            paths["1"] = path
    for line in mounts:
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        root, mountpoint = fields[3], fields[4]
        after = line.split(" - ", 1)[1].split()
        fstype = after[0]
        if fstype == "cgroup2" and "2" in paths:
            folder = _below(mountpoint, root, paths["2"])
            try:
                enabled = controller in (Path(folder) / "cgroup.controllers").read_text().split()
            except OSError:
                enabled = False
            if folder is not None and enabled:
                return Path(folder), 2
    for line in mounts:
        if " - " not in line:
            continue
        fields = line.split()
        after = line.split(" - ", 1)[1].split()
        if after[0] == "cgroup" and "1" in paths and len(after) > 2 and controller in after[2].split(","):
            folder = _below(fields[4], fields[3], paths["1"])
            if folder is not None and os.path.isdir(folder):
                return Path(folder), 1
    return None


def _below(mountpoint: str, root: str, path: str) -> str | None:
    """Where cgroup `path` is, for a mount of the hierarchy's `root` at `mountpoint`."""
    mountpoint = mountpoint.replace("\\040", " ")
    if root == "/":
        return mountpoint + (path if path != "/" else "")
    if path == root or path.startswith(root.rstrip("/") + "/"):
        return mountpoint + path[len(root.rstrip("/")):]
    return None


@functools.lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """Why no memory cgroup can be made here (None: one can), tried once."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    parent = own_memory_folder()
    if parent is None:
        return "no memory cgroup controller is mounted"
    cgroup = create(64)
    if cgroup is None:
        return f"cannot create a memory cgroup below {parent[0]} (not root, or read-only)"
    cgroup.remove()
    return None


def describe(reason: str | None) -> str:
    """One line for `harness doctor`, given `unavailable_reason()`."""
    if reason is not None:
        return f"no   memory limit counts shared memory, tmpfs files and memfd ({reason}: per process only)"
    folder, version = own_memory_folder() or (Path("?"), 0)
    return (f"yes  memory limit counts shared memory, tmpfs files and memfd (a memory cgroup v{version} "
            f"per server, below {folder})")


def remove_stale(folder: Path) -> None:
    """Remove cgroups left by harnesses that no longer run (empty ones only)."""
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.name.startswith(PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(PREFIX):].partition("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid() or os.path.exists(f"/proc/{pid}"):
            continue
        try:
            os.rmdir(folder / name)
        except OSError:
            pass

