"""System V IPC (shared memory, semaphores, message queues) of a fallback server.

Rules (SPEC §5.4; bubblewrap gives each instance its own IPC namespace, so
this is for the fallback as root, where the server runs as a fresh uid):
- Each instance gets an IPC namespace of its own when the kernel lets root
  make one (`in_own_namespace`, in the server's preexec before it drops to
  its uid): its segments die with it, and no instance can count the others
  through a shared keyed segment.
- Where that fails (a container without CAP_SYS_ADMIN), `remove_objects_of`
  removes, after the instance, every object its uid owns or created: nothing
  it left keeps memory outside every limit, or passes data to the next one.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

CLONE_NEWIPC = 0x08000000
IPC_RMID = 0
#: /proc/sysvipc file -> the column of the object's id.
KINDS = {"shm": "shmid", "sem": "semid", "msg": "msqid"}


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def in_own_namespace(preexec: Callable[[], None]) -> Callable[[], None]:
    """`preexec`, after moving the new process to an IPC namespace of its own (best effort)."""
    libc = _libc()  # loaded before the fork: nothing to load in the child

    def run() -> None:
        if libc is not None:
            libc.unshare(CLONE_NEWIPC)  # failing leaves the shared namespace: remove_objects_of cleans it
        preexec()

    return run


def objects_of(uid: int) -> list[tuple[str, int]]:
    """(kind, id) of every System V object owned or created by `uid`, in our namespace."""
    found = []
    for kind, id_column in KINDS.items():
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                header = table.readline().split()
                rows = [line.split() for line in table]
        except OSError:
            continue
        try:
            columns = [header.index(id_column), header.index("uid"), header.index("cuid")]
        except ValueError:
            continue
        for row in rows:
            try:
                ident, owner, creator = (int(row[i]) for i in columns)
            except (IndexError, ValueError):
                continue
            if uid in (owner, creator):
                found.append((kind, ident))
    return found


def remove_objects_of(uid: int) -> int:
    """Remove what `uid` (a fresh uid of ours, now without processes) left; how many were removed."""
    libc = _libc()
    if libc is None:
        return 0
    removed = 0
    for kind, ident in objects_of(uid):
        if kind == "shm":
            result = libc.shmctl(ident, IPC_RMID, None)
        elif kind == "sem":
            result = libc.semctl(ident, 0, IPC_RMID)
        else:
            result = libc.msgctl(ident, IPC_RMID, None)
        removed += result == 0
    return removed
