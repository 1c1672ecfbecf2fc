"""Whether the server's uid can execute its program, without any capability (the fallback as root)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path


def reachable_by_others(program: str, uid: int | None = None) -> bool:
    """Can a user with no relation to the files' owners execute `program` — or, with `uid`, that user
    (uid and gid `uid`, no other group: the server's), who owns its scratch copy? (Blind 22: judged as
    "others", a program in the copy, whose top folder is the uid's 0700, never was, and every executable
    server was given CAP_DAC_READ_SEARCH, reading any file.)"""
    found = program if os.sep in program else shutil.which(program)
    if not found:
        return True  # not ours to judge: exec will report it
    path = Path(os.path.realpath(found))

    def allows(st: os.stat_result, owner: int, group: int, other: int) -> bool:
        if uid is not None and st.st_uid == uid:
            return bool(st.st_mode & owner)
        if uid is not None and st.st_gid == uid:
            return bool(st.st_mode & group)
        return bool(st.st_mode & other)

    for parent in reversed(path.parents):
        try:
            if not allows(os.stat(parent), stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH):
                return False
        except OSError:
            return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    return allows(st, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH) and allows(st, stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)
