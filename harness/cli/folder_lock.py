"""One writer per output folder: two `harness grade` runs must not write the same `--out`.

An advisory `flock` on `FOLDER/.harness-lock`, taken before anything in the
folder is touched and held until the gradebook is written. The kernel drops
it when the holder exits, however it exits (SIGKILL included), so a lock is
never stale; the file itself stays, holding the last holder's pid and start
time, which the refused run quotes.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from harness.errors import ConfigError

LOCK_NAME = ".harness-lock"


@contextmanager
def hold_folder(folder: Path, what: str = "harness grade") -> Iterator[None]:
    """Hold the folder's lock for the block, or raise ConfigError naming the process that holds it."""
    path = folder / LOCK_NAME
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 200, 0).decode("utf-8", "replace").strip() or "a process that just started"
            raise ConfigError(f"{folder} is being written by another {what} ({holder}); "
                              "wait for it to finish or choose another --out") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # closing the last descriptor releases the lock
