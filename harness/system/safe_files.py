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
from collections.abc import Iterator
from pathlib import Path

from harness.deadline import Deadline

#: The most the harness reads from one server-controlled file.
READ_CAP = 1 << 20


class UnsafeFile(OSError):
    """A server-controlled path that is not a plain regular file (a link, FIFO, device...)."""


def write_atomically(path: str | os.PathLike[str], data: str | bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` through a fresh private temporary file and a rename; the file gets `mode`."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            # (a lone surrogate — an undecodable file name, a server's "\ud800" — written as its escape, never
            # an error that loses the report: blind 18)
            f.write(data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data)
        os.chmod(temporary, mode)
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


def remove_tree_at(parent_fd: int, name: str, max_depth: int = 64, deadline: Deadline | None = None) -> bool:
    """Remove the folder `name` in the open folder `parent_fd`: an explicit stack, file descriptors only.

    Linear in the number of entries: each folder is read once, by one directory iterator kept on the stack (a
    folder read again from its start after each subfolder made 20,000 empty subfolders cost 88 s, and a
    server's scratch copy can hold them). A folder not empty after its reading (entries moved into it
    meanwhile) is read again as long as the reading before removed something. At most `max_depth` folders
    are open at once: a folder deeper than that is first moved up into the top folder (a rename), so any
    depth is removed with a bounded number of open files.
    `deadline`: stop when it passes (every descriptor closed, the rest left); whether all was removed.
    """
    try:
        top = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    except OSError:
        try:
            os.unlink(name, dir_fd=parent_fd)
        except OSError:
            pass
        return True
    stack = [_Folder(top, parent_fd, name)]
    failed: set[tuple[int, int]] = set()  # folders that would not go are not entered again
    moved = steps = 0
    while stack:
        steps += 1
        if deadline is not None and steps % 256 == 0 and deadline.expired():
            for folder in stack:
                folder.close()
            return False
        folder = stack[-1]
        entry = folder.next_entry()
        if entry is None:  # read to its end: remove it, or read it again
            stack.pop()
            if _rmdir(folder.name, folder.parent_fd):
                if stack:
                    stack[-1].progress += 1
            elif folder.progress:
                stack.append(folder.read_again())
                continue
            elif folder.fd != top:
                info = os.fstat(folder.fd)
                failed.add((info.st_dev, info.st_ino))
            os.close(folder.fd)
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        if not is_dir:
            try:
                os.unlink(entry.name, dir_fd=folder.fd)
                folder.progress += 1
            except OSError:
                pass
            continue
        if _rmdir(entry.name, folder.fd):  # an empty folder goes at once, unopened
            folder.progress += 1
            continue
        try:
            child = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder.fd)
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
                os.rename(entry.name, f".harness-flat-{moved}", src_dir_fd=folder.fd, dst_dir_fd=top)
                folder.progress += 1
                stack[0].progress += 1  # the top holds one more folder to read
            except OSError:
                pass
            continue
        stack.append(_Folder(child, folder.fd, entry.name))
    return True


def _rmdir(name: str, parent_fd: int) -> bool:
    try:
        os.rmdir(name, dir_fd=parent_fd)
        return True
    except OSError:
        return False


class _Folder:
    """One folder being removed: its descriptor, its parent's, its name there, where its reading is, and
    how many of its entries this reading removed."""

    def __init__(self, fd: int, parent_fd: int, name: str) -> None:
        self.fd, self.parent_fd, self.name = fd, parent_fd, name
        self.progress = 0
        try:
            self.entries: Iterator[os.DirEntry[str]] | None = os.scandir(fd)
        except OSError:
            self.entries = None

    def next_entry(self) -> os.DirEntry[str] | None:
        if self.entries is None:
            return None
        try:
            return next(self.entries)
        except (StopIteration, OSError):
            self.entries.close()  # type: ignore[attr-defined]
            self.entries = None
            return None

    def read_again(self) -> _Folder:
        return _Folder(self.fd, self.parent_fd, self.name)

    def close(self) -> None:
        if self.entries is not None:
            self.entries.close()  # type: ignore[attr-defined]
            self.entries = None
        os.close(self.fd)
