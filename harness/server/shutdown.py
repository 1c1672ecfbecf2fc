"""Stop the server with a signal and record what happened (SPEC §4 shutdown).

Rules (no pytest here; `suites/test_shutdown.py` is the caller):
- SIGTERM and SIGINT both go to the server's process group: SIGINT as Ctrl+C
  in a terminal sends it, SIGTERM as a service manager stops a service
  (systemd's default KillMode=control-group, `kill -TERM -PGID`). So the
  processes the server started and left in its group (fork-per-client
  children, socat's and `nc -e`'s forks, a launcher's shell) get the signal
  too and, by default, exit; what is checked is that none survives — one
  that ignores or catches the signal and carries on, or that left the group
  (setsid, a double fork), still fails. A server that daemonized (its first
  process exited long ago) is signalled at the oldest live process of its
  tree, as its pidfile would name it (that process only). A server started
  through a launcher that did not `exec` it (`sh -c "cd src && python3
  server.py"`, a shell script, `npm start`) is signalled with its group as
  well, but "the server's process" whose exit is timed and told is the one
  that holds its listening socket, not the shell: the launcher is not the
  student's code, and it ends when the server does.
- "Gone" means the whole tree: the server's process and every process it
  started, found by parent chain, session and environment token (children
  that re-parented or double-forked included).
- One deadline, `--shutdown-timeout` from the signal, bounds every wait; times
  are measured from the signal on the monotonic clock.
- Nothing here kills: what is left is reported, and the check's teardown
  (`ServerProcess.stop`) kills it.
- The signal is sent once the server is at rest (no thread ran for a few
  milliseconds, and no process was born meanwhile; at most `SETTLE_S`), as
  a person's Ctrl+C would be. A Python server that gets the signal just
  before it blocks in accept() or recv() runs the handler only when that call
  returns, i.e. never if no client comes; a fork-per-client child signalled
  as it is born loses the signal: races in CPython, not the server's bug,
  and ones a busy CI machine hits.
"""

from __future__ import annotations

import math
import os
import signal
import time
from dataclasses import dataclass
from typing import Callable

from harness.deadline import Deadline, poll_until
from harness.server.launcher import ServerProcess, describe_exit
from harness.system.processes import ignored_signals

#: Poll every 2 ms at first (a clean exit takes ~10 ms), backing off to 20 ms.
POLL = {"interval": 0.002, "max_interval": 0.02}
#: At rest: no thread of the tree ran across QUIET_S; wait for that at most SETTLE_S.
QUIET_S = 0.005
SETTLE_S = 0.5
NOT_VISIBLE = "exit status not visible"


@dataclass(frozen=True)
class Survivor:
    """A process of the server's tree still running at the deadline."""

    pid: int
    command: str


@dataclass(frozen=True)
class ShutdownOutcome:
    """What one signal did to the server and the processes it started."""

    signal_name: str  # "SIGINT"
    timeout: float
    target_pid: int
    daemonized: bool  # the server's first process had already exited; its oldest process was signalled
    exit: str  # "exit code 0", "killed by SIGINT", "still running", ...
    server_seconds: float | None  # signal -> the signalled process exited (None: it did not)
    tree_seconds: float | None  # signal -> no process of the tree left (None: some survived)
    survivors: tuple[Survivor, ...]
    ignored: bool = False  # the signalled process had the signal set to SIG_IGN
    to_group: bool = False  # sent to the server's process group, not its process only
    launcher: str | None = None  # the launcher's command line, when the server was started through one

    @property
    def server_exited(self) -> bool:
        return self.server_seconds is not None

    @property
    def clean(self) -> bool:
        """The server and everything it started exited within the timeout."""
        return self.tree_seconds is not None

    def describe(self) -> str:
        """The facts, one sentence plus the survivors, for a failure message."""
        how = ", which it daemonized to" if self.daemonized else f", started by {self.launcher}" if self.launcher else ""
        who = f"the server's process (pid {self.target_pid}{how})"
        if self.server_exited:
            status = f" ({self.exit})" if self.exit else ""
            text = f"{who} exited{status} {self.server_seconds:.2f} s after {self.signal_name}"
            if self.clean:
                return text
            text += f", but {_count(len(self.survivors), 'process')} it started still ran " \
                    f"{self.timeout:g} s after the signal (--shutdown-timeout)"
        else:
            if self.ignored:
                text = (f"{who} was still running {self.timeout:g} s after {self.signal_name} — it ignores "
                        f"{self.signal_name} (its handler is SIG_IGN), so it cannot exit on it")
                if self.signal_name in ("SIGINT", "SIGQUIT") and (self.daemonized or self.launcher in SHELLS):
                    text += BACKGROUND_JOB
            else:
                text = f"{who} was still running {self.timeout:g} s after {self.signal_name} (--shutdown-timeout)"
            others = [s for s in self.survivors if s.pid != self.target_pid]
            if others:
                text += f", and so {'was' if len(others) == 1 else 'were'} {_count(len(others), 'process')} it started"
        return text + ":\n" + "\n".join(f"  pid {s.pid}: {s.command}" for s in self.survivors)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}es" if noun.endswith("s") else f"{n} {noun}s"


#: Shells: a job they start in the background (`cmd &`) ignores SIGINT and SIGQUIT from its start.
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox"})

#: Said of a server that ignores SIGINT under a shell (blind 17: a C server was told to fix its sigaction()).
BACKGROUND_JOB = (" (a shell starts a background job, `./server &`, with SIGINT and SIGQUIT ignored, and the "
                  "program keeps that: start the server in the foreground, `exec ./server \"$@\"` as the "
                  "script's last line)")

#: Programs that start a server without being it: shells, package runners, make.
LAUNCHERS = frozenset({
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "env", "nohup", "stdbuf", "make",
    "npm", "npx", "yarn", "pnpm", "uv", "poetry", "pipenv", "conda",
})


@dataclass(frozen=True)
class SignalTarget:
    pid: int
    daemonized: bool = False  # the server's first process had exited; this is its oldest process
    launcher: str | None = None  # the server runs under this launcher, which was not signalled
    #: `pid`'s start time when it was chosen, before any signal: how its exit is told from a reused pid.
    started: float | None = None


def signal_target(server: ServerProcess) -> SignalTarget | None:
    """Which process is "the server" to signal; None if nothing is left."""
    assert server.process is not None
    # (In a sandbox, the exit status comes through its init a moment after the process is gone: a daemon's
    # first process that has just exited is not the process to signal. CI, a loaded machine.)
    if server.alive() and server.probe.start_time(server.process.pid) is not None:
        return _through_launcher(server) or SignalTarget(server.process.pid)
    tree = server.pids(with_token=True)
    if not tree:
        return None
    oldest = _oldest(server, tree)
    return SignalTarget(oldest, daemonized=True, started=server.probe.start_time(oldest))


def _through_launcher(server: ServerProcess) -> SignalTarget | None:
    """The listening process under a launcher (`sh -c`, a script, `npm start`), if that is how it runs."""
    assert server.process is not None
    if server.endpoint is None:
        return None
    probe, root = server.probe, server.process.pid
    command = probe.command_line(root)
    if os.path.basename(command.split(" ", 1)[0]) not in LAUNCHERS:
        return None
    transport, port = server.spec.transport, server.endpoint.port
    holders = [pid for pid in server.pids() if any(s.local_port == port for s in probe.bound_sockets([pid], transport))]
    if not holders or root in holders:
        return None
    first = _oldest(server, holders)
    return SignalTarget(first, launcher=command, started=probe.start_time(first))


def _oldest(server: ServerProcess, pids: list[int]) -> int:
    return min(pids, key=lambda pid: (server.probe.start_time(pid) or math.inf, pid))


#: How long a process that ignores the signal is watched (its children may still go).
IGNORED_WAIT = 0.5


@dataclass
class _UntilEnough(Deadline):
    """A deadline that also ends as soon as `enough()` holds."""

    enough: Callable[[], bool] = lambda: False

    def expired(self) -> bool:
        return super().expired() or self.enough()

    def remaining(self) -> float:
        return 0.0 if self.enough() else super().remaining()


def shut_down(server: ServerProcess, sig: signal.Signals, timeout: float,
              enough: Callable[[], bool] | None = None) -> ShutdownOutcome | None:
    """Send `sig` to the server, wait up to `timeout` for its whole tree to exit
    (or until `enough()` holds: the caller already has its verdict).

    Returns None if the server had already exited before the signal.
    """
    target = signal_target(server)
    if target is None:
        return None
    pid, daemonized = target.pid, target.daemonized
    settle(server)
    server.pids(with_token=True)  # remember the whole tree before it starts to unravel
    ignored = sig in ignored_signals(pid)
    # A process that ignores the signal (SIG_IGN) cannot exit on it: the kernel
    # discards it. Waiting out the whole timeout would only cost time.
    deadline = Deadline(min(timeout, IGNORED_WAIT) if ignored else timeout)
    if enough is not None:
        deadline = _UntilEnough(deadline.seconds, deadline.start, enough)
    to_group = not daemonized  # Ctrl+C, or a service manager: the whole group
    launcher = target.launcher
    if daemonized:
        server_seconds, exit = _signal_and_wait_foreign(server, target, sig, deadline)
    elif launcher:
        server.send_signal(sig, group=True)
        server_seconds, exit = _signal_and_wait_foreign(server, target, None, deadline)
        if exit == NOT_VISIBLE:
            exit = ""  # the launcher collected it; not worth a word
    else:
        server.send_signal(sig, group=True)
        server_seconds = server.wait_exit(deadline)
        exit = server.exit_description()
    gone = poll_until(server.gone, deadline, **POLL)
    tree_seconds = deadline.elapsed() if gone else None
    survivors = () if gone else tuple(
        Survivor(p, server.probe.command_line(p)) for p in sorted(server.pids(with_token=True))
    )
    return ShutdownOutcome(sig.name, deadline.seconds, pid, daemonized, exit, server_seconds, tree_seconds, survivors,
                           ignored, to_group, launcher)


def settle(server: ServerProcess, limit: float = SETTLE_S) -> bool:
    """Wait until no thread of the server's tree runs for QUIET_S (True), or `limit` passes.

    A busy server (a spin, a fast timer) never rests; it gets the signal
    after `limit` all the same.
    """
    probe, pids = server.probe, server.pids(with_token=True)
    deadline = Deadline(limit)
    before = probe.activity(pids)
    while not deadline.expired():
        time.sleep(QUIET_S)
        now = probe.activity(pids)
        if now.quiet_since(before):
            # A process forked while we watched (a fork-per-client child of the last client) is not at rest
            # until it too has been quiet: signalled before CPython's fork returned in it, it loses the
            # signal (the child clears a signal caught then) and serves on (CI, a python fork server).
            latest = server.pids(with_token=True)
            if set(latest) <= set(pids):
                return True
            pids, now = latest, probe.activity(latest)
        before = now
    return False


def _signal_and_wait_foreign(
    server: ServerProcess, target: SignalTarget, sig: signal.Signals | None, deadline: Deadline
) -> tuple[float | None, str]:
    """Signal a server process that is not our direct child (a daemon's, or
    one under a launcher; `sig` None: already signalled with its group) and
    wait for it.

    Orphans re-parent to the harness (a child subreaper), so its exit status
    is usually ours to collect; otherwise it is only known to be gone: its
    pid shows no live process, or one started at another time (a reused
    pid). Its start time is the one read when it was chosen, before the
    signal: a process that exits at once may be reaped by its launcher or a
    sandbox's init before this function first looks, and its start time read
    then would be "none", which never changes.
    """
    pid, started = target.pid, target.started
    status: list[int] = []

    def exited() -> bool:
        try:
            reaped, code = os.waitpid(pid, os.WNOHANG)
            if reaped:
                status.append(code)
        except ChildProcessError:
            pass
        now = server.probe.start_time(pid)  # None: gone (or, to the Linux probe, a zombie: exited, not ours to reap)
        return bool(status) or now is None or now != started

    if sig is not None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    if not poll_until(exited, deadline, **POLL):
        return None, "still running"
    exited()
    how = describe_exit(os.waitstatus_to_exitcode(status[0])) if status else NOT_VISIBLE
    return deadline.elapsed(), how
