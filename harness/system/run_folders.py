"""A run's temporary folder (`harness-run-*`, the servers' scratch copies and
output files) and the removal of those left by a harness that was killed.

Rules:
- A run folder holds an `owner` file: the pid and start time of the process
  that made it. A folder is stale when that process is gone (a pid reused by
  another process has another start time).
- `remove_stale` runs when a run folder is made: it removes, in the same
  temporary folder, stale run folders of this user, never following a link:
  the entry must be a real folder owned by our uid, its `owner` a regular file
  owned by our uid, opened with `O_NOFOLLOW`. A link, a folder of another user
  (a server's, in the fallback where it shares /tmp), a folder without an
  `owner` file or one whose owner lives is left alone. The work is bounded:
  `SCAN_LIMIT` entries looked at, `REMOVE_LIMIT` folders removed, and
  `STALE_BUDGET` seconds per start (a server can fill its copy with folders;
  their removal must not land on the next run's clock: `harness grade`
  removes the rest between runs, with no budget).
- A run folder is renamed `harness-dead-*` before it is removed (its own at
  the end, a stale one before removal): a removal cut short, which may have
  taken the `owner` file first, leaves a folder that is always stale, never
  one left for good.
- Instance folders inside are named at random (`server-<8 hex>`), never by a
  counter: the folder name reaches the server (its `HOME`, its cwd, its output
  files' paths), and a counter would tell it which check started it (SPEC §5.1).
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from pathlib import Path

from harness.deadline import Deadline
from harness.system import processes
from harness.system.safe_files import remove_tree_at

PREFIX = "harness-run-"
#: A run folder being removed, whoever's it was: stale by its name.
DEAD_PREFIX = "harness-dead-"
#: Seconds a new run spends at most on removing stale run folders.
STALE_BUDGET = 2.0
OWNER = "owner"
#: Entries of the temporary folder looked at per start (a /tmp may hold many).
SCAN_LIMIT = 5000
#: Stale run folders removed per start (each may be a whole scratch copy).
REMOVE_LIMIT = 20
_OWNER_BYTES = 64


def make_run_folder() -> Path:
    """A new run folder owned by this process (and stale ones of earlier runs removed, for a moment)."""
    base = tempfile.gettempdir()
    remove_stale(base, Deadline(STALE_BUDGET))
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
    started = processes.start_time(os.getpid())
    fd = os.open(folder / OWNER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, f"{os.getpid()} {started}\n".encode())
    finally:
        os.close(fd)
    return folder


def instance_folder(run_folder: Path) -> Path:
    """A fresh, unused instance folder name in `run_folder`: random, carrying no order."""
    while True:
        candidate = run_folder / f"server-{secrets.token_hex(4)}"
        if not os.path.lexists(candidate):
            return candidate


def remove_run_folder(folder: Path) -> None:
    """Remove this run's own folder: renamed dead first, so that a removal cut short is finished later."""
    try:
        base_fd = os.open(folder.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        remove_tree_at(base_fd, _retired(base_fd, folder.name))
    finally:
        os.close(base_fd)


def remove_stale(base: str, deadline: Deadline | None = None) -> list[str]:
    """Remove the stale run folders of this user in `base` (see the rules), until `deadline` if one is
    given; the names removed (a removal cut short by the deadline is not listed)."""
    removed: list[str] = []
    try:
        base_fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return removed
    try:
        with os.scandir(base_fd) as entries:
            names = [entry.name for _, entry in zip(range(SCAN_LIMIT), entries)
                     if entry.name.startswith((PREFIX, DEAD_PREFIX))]
        for name in names:
            if len(removed) >= REMOVE_LIMIT or (deadline is not None and deadline.expired()):
                break
            if (_is_ours(base_fd, name) if name.startswith(DEAD_PREFIX) else _is_stale(base_fd, name)):
                if not remove_tree_at(base_fd, _retired(base_fd, name), deadline=deadline):
                    break
                removed.append(name)
    finally:
        os.close(base_fd)
    return removed


def _retired(base_fd: int, name: str) -> str:
    """`name` renamed to a dead name (unless it has one); the name it has now."""
    if name.startswith(DEAD_PREFIX):
        return name
    dead = f"{DEAD_PREFIX}{secrets.token_hex(6)}"
    try:
        os.rename(name, dead, src_dir_fd=base_fd, dst_dir_fd=base_fd)
    except OSError:
        return name
    return dead


def _is_ours(base_fd: int, name: str) -> bool:
    """A real folder (not a link) owned by our uid."""
    try:
        info = os.stat(name, dir_fd=base_fd, follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()


def _is_stale(base_fd: int, name: str) -> bool:
    """A real folder of ours with our `owner` file, whose owner process is gone."""
    me = os.geteuid()
    try:
        folder_fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=base_fd)
    except OSError:
        return False  # a link, a file, gone, or not ours to open
    try:
        if os.fstat(folder_fd).st_uid != me:
            return False
        try:
            owner_fd = os.open(OWNER, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder_fd)
        except OSError:
            return False
        try:
            info = os.fstat(owner_fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != me:
                return False
            text = os.read(owner_fd, _OWNER_BYTES).decode("ascii", "replace").split()
        finally:
            os.close(owner_fd)
    finally:
        os.close(folder_fd)
    if len(text) != 2 or not text[0].isdigit():
        return False
    pid = int(text[0])
    if pid == os.getpid():
        return False
    now = processes.start_time(pid)
    return now is None or str(now) != text[1]
