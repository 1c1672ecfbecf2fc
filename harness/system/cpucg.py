"""A CPU cgroup per server instance: a server weighs one share of the CPU, however many processes it forks.

Rule (SPEC §5, blind 14): the scheduler shares the CPU between groups. A server
that forks 120 spinning processes, each in a session of its own (a scheduler
autogroup each), weighed 120 jobs against one classmate's server graded at the
same time: the classmate's server did not listen within its start-up timeout and
lost points. In a cgroup of its own, every process of the instance shares the
group's one weight (the default `cpu.shares` of v1, `cpu.weight` of v2); nothing
caps it, so a correct server still uses every idle core.

- Where the memory cgroup is v2 and has the cpu controller, it is this group
  already (`create()` returns None: nothing more to make).
- Else, where a v1 `cpu` hierarchy is mounted and writable (root), a folder of
  its own below the harness's, joined before the server runs (the preexec
  function, as the memory cgroup is) and removed after the instance.
- Elsewhere nothing changes; `unavailable_reason()` says why (`harness doctor`).
"""

from __future__ import annotations

import functools
import sys

from harness.system.memcg import Cgroup, new_folder, own_folder, own_memory_folder


def memory_cgroup_shares_cpu() -> bool:
    """Whether the instance's memory cgroup (v2) has the cpu controller, and so is its CPU group too."""
    memory = own_memory_folder()
    if memory is None or memory[1] != 2:
        return False
    try:
        return "cpu" in (memory[0] / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False


def create() -> Cgroup | None:
    """A new v1 cpu cgroup for one instance, or None (none needed, or none can be made here)."""
    if memory_cgroup_shares_cpu():
        return None
    parent = own_folder("cpu")
    if parent is None or parent[1] != 1:
        return None
    path = new_folder(parent[0])
    return Cgroup(path, 1) if path is not None else None


@functools.lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """Why an instance's processes do not share one CPU weight here (None: they do), tried once."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if memory_cgroup_shares_cpu():
        return None
    parent = own_folder("cpu")
    if parent is None or parent[1] != 1:
        return "no cpu cgroup controller is mounted"
    cgroup = create()
    if cgroup is None:
        return f"cannot create a cpu cgroup below {parent[0]} (not root, or read-only)"
    cgroup.remove()
    return None


def describe(reason: str | None) -> str:
    """One line for `harness doctor`, given `unavailable_reason()`."""
    if reason is not None:
        return f"no   a server weighs one CPU share however many processes it forks ({reason})"
    return "yes  a server weighs one CPU share however many processes it forks (a cpu cgroup per server)"
