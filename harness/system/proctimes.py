"""CPU time of a process tree that reaping cannot hide, from /proc (Linux).

A child's CPU time moves into its parent's `cutime`/`cstime` when the parent
reaps it; until then it is a zombie that still shows its own. Summing, over
the tree, each process's own time and its reaped children's, plus the time of
its children that are zombies, gives a figure that never drops while the
reaping stays in the tree: a child born, spinning and reaped between two looks
is counted (blind 18), and a child that ended before a window and is reaped
in it is not counted as new.
"""

from __future__ import annotations

import os


def tree_ticks(pids: list[int]) -> int:
    """utime + stime + cutime + cstime of `pids`, plus the same of their zombie children, in clock ticks."""
    members, total = set(pids), 0
    for pid in pids:
        total += ticks(pid, zombie_only=False)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children", "rb") as f:
                    children = [int(word) for word in f.read().split()]
            except (OSError, ValueError):
                continue
            total += sum(ticks(child, zombie_only=True) for child in children if child not in members)
    return total


def ticks(pid: int, zombie_only: bool) -> int:
    """utime + stime + cutime + cstime of `pid` (0 if gone, or alive when `zombie_only`)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return 0
    fields = raw[raw.rfind(b")") + 2 :].split()  # fields[0] is stat field 3 (state); field N is fields[N - 3]
    if zombie_only and fields[0] != b"Z":
        return 0
    try:
        return sum(int(value) for value in fields[11:15])
    except ValueError:
        return 0
