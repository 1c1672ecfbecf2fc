"""Which processes belong to one server, and how they all end.

Rules (no pytest here; `harness.server.launcher` owns a `ProcessTree` per server):
- A server's tree is found three ways, because servers escape each one
  (`harness.system.probe.SystemProbe.tree`): the parent chain, the server's
  session, and the environment token it was started with. Every pid ever seen
  is remembered with its start time and stays a root while that process
  lives: a daemon that double-forked and called setsid is in neither the
  parent chain nor the session. A reused pid (another start time) is not ours.
- What a server cannot leave counts too, where the run has it: in a sandbox,
  every descendant of the sandbox's init (an orphan of its PID namespace
  re-parents to that init, whatever its session or environment); in the
  fallback as root, every orphan of ours running as the instance's own uid.
  So a worker that double-forked, called setsid and re-executed itself with
  an empty environment before the first scan still counts for the idle,
  descriptor and shutdown checks.
- Ending the tree: TERM to every process, a grace period, then KILL,
  rescanning for processes forked meanwhile (bounded by `KILL_S`). Orphans
  re-parent to the harness (a child subreaper), so their exit status is
  collected here, never left as zombies.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from harness.deadline import Deadline, poll_until
from harness.system import processes
from harness.system.probe import SystemProbe

#: After the grace period, how long KILL rounds go on finding new processes.
KILL_S = 5.0


class ProcessTree:
    """The processes of one server, rooted at its own process (`root`)."""

    def __init__(self, probe: SystemProbe, token: str) -> None:
        self.probe = probe
        self.token = token
        self.root: int | None = None
        #: The sandbox's init, whose other descendants are the server's too (not the init itself).
        self.init: int | None = None
        #: The instance's own unprivileged uid (fallback as root): our orphans with it are the server's.
        self.uid: int | None = None
        #: Every pid seen in the server's tree, with its start time (a reused pid is not ours).
        self.known_pids: dict[int, float | None] = {}

    def adopt(self, root: int, init: int | None = None, uid: int | None = None) -> None:
        """The server's own process, just started (`init`: its sandbox's init; `uid`: its own uid)."""
        self.root, self.init, self.uid = root, init, uid
        self.remember([root] if init is None else [root, init])

    def pids(self, with_token: bool = False) -> list[int]:
        """The server's live process tree (`with_token`: also every process holding its token)."""
        if self.root is None:
            return []
        # Processes seen before are roots too: a daemon that double-forked and
        # called setsid is in neither the parent chain nor the session. Each only
        # while it is the process seen (its start time): the server's own process
        # and its sandbox's init included, whose pids the system gives out again
        # once they end (on a busy grader, within seconds: a stale root's new
        # owner, and its children, were ended with this server).
        roots = [pid for pid, started in self.known_pids.items()
                 if started is not None and self.probe.start_time(pid) == started]
        if self.init is None and self.uid is not None:
            roots += processes.live_children_of_user(os.getpid(), self.uid)
        pids = [pid for pid in self.probe.tree(roots, self.token if with_token else None, self.root) if pid != self.init]
        self.remember(pids)
        return pids

    def sandbox_alive(self) -> bool:
        """Whether the sandbox's init still runs: it waits until no process of its namespace is left, so
        while it runs, something of the server does (whatever a scan of /proc saw)."""
        started = self.known_pids.get(self.init) if self.init is not None else None
        return started is not None and self.probe.start_time(self.init) == started

    def remember(self, pids: list[int]) -> None:
        for pid in pids:
            if pid not in self.known_pids:
                self.known_pids[pid] = self.probe.start_time(pid)

    def reap_orphans(self) -> int:
        """Reap this server's orphans that died as our children (we are a subreaper).

        A forking server's grandchildren (socat's `cat`, one per connection)
        re-parent to us and, unreaped, pile up as zombies that count against
        the process limit: after a few hundred connections the server's fork()
        fails. Only zombies in the server's session (its session id is its
        pid) are reaped, never the server's own process (its owner waits for
        it). Returns how many were reaped.
        """
        if self.root is None:
            return 0
        return processes.reap(processes.zombie_children(os.getpid(), self.root))

    def end(self, grace: float, reap_root: Callable[[], None]) -> bool:
        """TERM the whole tree, wait up to `grace`, KILL what is left, reap;
        `reap_root` collects the server's own process (and its sandbox's helpers).
        Whether SIGTERM alone ended the tree (a tree that was already gone counts as ended)."""
        pids = self.pids(with_token=True)
        processes.kill(pids, signal.SIGTERM)
        # A tree whose every process ignores SIGTERM gets no grace: the kernel discarded the signal.
        ended = not pids
        if not all(signal.SIGTERM in processes.ignored_signals(pid) for pid in pids):
            ended = poll_until(lambda: not self.pids(), Deadline(grace))
        deadline = Deadline(KILL_S)
        while not deadline.expired():
            pids = self.pids(with_token=True)
            if not pids:
                break
            processes.kill(pids, signal.SIGKILL)
            self._reap(reap_root)
            time.sleep(0.01)
        self._reap(reap_root)
        return bool(ended)

    def _reap(self, reap_root: Callable[[], None]) -> None:
        reap_root()
        processes.reap(pid for pid in list(self.known_pids) if pid != self.root)
