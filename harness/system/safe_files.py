"""How the harness touches files: its own reports, and places a server controls.

Rules (SPEC §5, guarantees 1, 3 and 5):
- A report is written under a fresh random name (`O_EXCL`) in its own folder
  and renamed over the target: a file or link planted at `FILE.tmp` or at the
  target itself changes nothing (the rename replaces a link, never follows it).
- In a folder the server can write, the harness opens with `O_NOFOLLOW`,
  `O_NONBLOCK` (a FIFO cannot stall it), accepts regular files only, and
  reads at most a capped number of bytes.
- A tree of any depth is removed without recursion (no RecursionError), never
  following a link out of it.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

#: The most the harness reads from one server-controlled file.
READ_CAP = 1 << 20


class UnsafeFile(OSError):
    """A server-controlled path that is not a plain regular file (a link, FIFO, device...)."""


def write_atomically(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write `data` to `path` through a fresh private temporary file and a rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def read_capped(path: str | os.PathLike[str], cap: int = READ_CAP, dir_fd: int | None = None) -> bytes:
    """At most `cap` bytes of a regular file, never through a link, never blocking on a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafeFile(errno.EINVAL, "not a regular file", str(path))
        chunks, left = [], cap
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def create_new(directory_fd: int, name: str, data: bytes, mode: int = 0o644) -> None:
    """Create `name` in the open folder, replacing whatever entry was there without following it."""
    remove_entry(directory_fd, name)
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=directory_fd)
    try:
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def remove_entry(directory_fd: int, name: str) -> None:
    """Remove `name` from the open folder, whatever it is (a link itself, never its target)."""
    try:
        os.unlink(name, dir_fd=directory_fd)
    except (IsADirectoryError, PermissionError):  # Linux reports a folder as EPERM to unlink
        remove_tree_at(directory_fd, name)
    except FileNotFoundError:
        pass


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Remove `path` and everything under it, at any depth; errors are ignored."""
    path = os.fspath(path)
    try:
        info = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISDIR(info.st_mode):
        try:
            os.unlink(path)
        except OSError:
            pass
        return
    parent, name = os.path.split(os.path.abspath(path))
    try:
        parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        remove_tree_at(parent_fd, name)
    finally:
        os.close(parent_fd)


def remove_tree_at(parent_fd: int, name: str, max_depth: int = 64) -> None:
    """Remove the folder `name` in the open folder `parent_fd`: an explicit stack, file descriptors only.

    At most `max_depth` folders are open at once: a folder deeper than that is
    first moved up into the top folder (a rename), so any depth is removed
    with a bounded number of open files.
    """
    try:
        top = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    except OSError:
        try:
            os.unlink(name, dir_fd=parent_fd)
        except OSError:
            pass
        return
    stack: list[tuple[int, int, str]] = [(top, parent_fd, name)]  # (folder fd, parent fd, name there)
    failed: set[tuple[int, int]] = set()  # folders that would not go are not entered again
    moved = 0
    while stack:
        fd, up, entry_name = stack[-1]
        descended = False
        try:
            entries = list(os.scandir(fd))
        except OSError:
            entries = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if not is_dir:
                try:
                    os.unlink(entry.name, dir_fd=fd)
                except OSError:
                    pass
                continue
            try:
                child = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except OSError:
                continue
            info = os.fstat(child)
            if (info.st_dev, info.st_ino) in failed:
                os.close(child)
                continue
            if len(stack) >= max_depth:
                os.close(child)
                moved += 1
                try:
                    os.rename(entry.name, f".harness-flat-{moved}", src_dir_fd=fd, dst_dir_fd=top)
                except OSError:
                    continue
                continue
            stack.append((child, fd, entry.name))
            descended = True
            break
        if descended:
            continue
        stack.pop()
        info = os.fstat(fd)
        os.close(fd)
        try:
            os.rmdir(entry_name, dir_fd=up)
        except OSError:
            if fd != top:
                failed.add((info.st_dev, info.st_ino))
