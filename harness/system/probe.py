"""What the operating system knows about the server: its processes, sockets,
descriptors and CPU time. The one OS-specific seam of the harness.

Rules:
- Nothing here connects to the server: readiness is read from the kernel, so a
  single-shot server never loses its one `accept()` to a probe.
- `LinuxProbe` reads /proc and NETLINK_SOCK_DIAG (fast, ~50 µs a poll).
  `PsutilProbe` is the portable fallback (macOS, BSD); `HARNESS_PROBE=psutil`
  forces it so the tests exercise it on Linux too.
- A process tree is found three ways, because servers escape each one: the
  parent chain from the server's pid, the server's session id, and an
  environment token the harness gives the server (inherited by children that
  `setsid` and double-fork away).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from harness.system import proctimes, sockdiag
from harness.system.processes import processes_with_env
from harness.system.python_path import as_typed
from harness.system.sockdiag import SocketInfo
from harness.terminal import safe_line

TOKEN_VARIABLE = "HARNESS_SERVER_TOKEN"


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    ppid: int
    session: int
    start_ticks: int
    cpu_seconds: float


@dataclass(frozen=True)
class Activity:
    running: bool  # some thread is on a CPU or waiting for one
    switches: int  # context switches summed over every thread

    def quiet_since(self, earlier: Activity) -> bool:
        """No thread ran between `earlier` and this sample."""
        return not self.running and not earlier.running and self.switches == earlier.switches


class SystemProbe(Protocol):
    name: str
    #: Can it tell how many connections wait in a listener's accept queue
    #: (`harness.system.acceptqueue`, from sock_diag)? Else crowds pace blind.
    reads_accept_queue: bool

    def tree(self, roots: list[int], token: str | None = None, session: int | None = None) -> list[int]:
        """The live roots and all their live descendants (and token holders).

        `session`: the server's session id (its own pid, a session leader): our own
        children in that session (orphans of the server, re-parented to us, a
        subreaper) belong to it too. Only ours: once the server's process is
        gone, its pid, and so a session id, may be another program's."""

    def bound_sockets(self, pids: list[int], transport: str) -> list[SocketInfo]:
        """Sockets owned by `pids`: TCP in LISTEN state, or bound UDP sockets."""

    def tcp_sockets_on_port(self, port: int) -> list[SocketInfo]:
        """Every TCP socket whose local port is `port`, in any state."""

    def sockets_in_use(self) -> list[SocketInfo]:
        """Every bound TCP/UDP socket on the machine (to keep an assigned port
        clear of them); empty where it would cost a scan of every process."""

    def open_fds(self, pids: list[int]) -> int:
        """Open file descriptors summed over `pids`."""

    def cpu_seconds(self, pids: list[int]) -> float:
        """User + system CPU seconds summed over `pids`."""

    def tree_cpu_seconds(self, pids: list[int]) -> float:
        """CPU seconds `pids` used, with their children's, reaped or zombie (`harness.system.proctimes`)."""

    def command_line(self, pid: int) -> str:
        """The process's command line, for messages."""

    def start_time(self, pid: int) -> float | None:
        """When the process started (any unit), to tell it from a reused pid; None if gone."""

    def activity(self, pids: list[int]) -> Activity:
        """Whether any thread of `pids` is running, and a count that changes
        whenever one of them has run (context switches)."""


def proc_entries(pids: list[int], folder: str) -> Iterator[str]:
    """Paths of the entries of /proc/PID/FOLDER ("fd", "task") for each of
    `pids`; a process that is gone (or not ours to read) has none."""
    for pid in pids:
        try:
            names = os.listdir(f"/proc/{pid}/{folder}")
        except OSError:
            continue
        for name in names:
            yield f"/proc/{pid}/{folder}/{name}"


def socket_inodes(pids: list[int]) -> set[int]:
    """The inodes of the sockets `pids` have open (from /proc/PID/fd)."""
    inodes: set[int] = set()
    for path in proc_entries(pids, "fd"):
        try:
            target = os.readlink(path)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


class LinuxProbe:
    name = "linux"
    reads_accept_queue = True

    def __init__(self) -> None:
        self._ticks = os.sysconf("SC_CLK_TCK")

    def _stat(self, pid: int) -> ProcessInfo | None:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            return None
        fields = raw[raw.rfind(b")") + 2 :].split()
        # fields[0] is state (stat field 3); stat field N is fields[N - 3].
        if fields[0] in (b"Z", b"X"):
            return None
        return ProcessInfo(
            pid=pid,
            ppid=int(fields[1]),
            session=int(fields[3]),
            start_ticks=int(fields[19]),
            cpu_seconds=(int(fields[11]) + int(fields[12])) / self._ticks,
        )

    def _all(self) -> dict[int, ProcessInfo]:
        result = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                info = self._stat(int(name))
                if info:
                    result[info.pid] = info
        return result

    def _children(self, pid: int) -> list[int] | None:
        """Direct children via /proc/PID/task/*/children; None if the kernel lacks it."""
        result: list[int] = []
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return []
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                    result += [int(x) for x in f.read().split()]
            except FileNotFoundError:
                return None if tid == tasks[0] and not result else result
            except OSError:
                continue
        return result

    def tree(self, roots: list[int], token: str | None = None, session: int | None = None) -> list[int]:
        # Walking children from the roots costs what the tree costs; a scan of
        # every process (needed for the token) costs what the machine costs.
        me = os.getpid()
        own_children = self._children(me)
        if own_children is None or token:
            return self._tree_by_scan(roots, token, session)
        # Orphans re-parent to us (we are a subreaper); those still in the
        # server's session (its session id is its pid) are the server's.
        stack = [pid for pid in roots if self._stat(pid)]
        if session is not None:
            stack += [pid for pid in own_children if (info := self._stat(pid)) and info.session == session]
        found: list[int] = []
        seen: set[int] = set()
        while stack:
            pid = stack.pop(0)
            if pid in seen or not self._stat(pid):
                continue
            seen.add(pid)
            found.append(pid)
            stack.extend(self._children(pid) or [])
        return found

    def _tree_by_scan(self, roots: list[int], token: str | None, session: int | None) -> list[int]:
        processes = self._all()
        children: dict[int, list[int]] = {}
        for info in processes.values():
            children.setdefault(info.ppid, []).append(info.pid)
        found: list[int] = []
        seen: set[int] = set()
        stack = [pid for pid in roots if pid in processes]
        if session is not None:
            me = os.getpid()
            stack += [p.pid for p in processes.values() if p.session == session and p.ppid == me]
        if token:
            holders = set(processes_with_env(TOKEN_VARIABLE, token))
            stack += [pid for pid in processes if pid in holders]
        while stack:
            pid = stack.pop(0)
            if pid in seen:
                continue
            seen.add(pid)
            found.append(pid)
            stack.extend(children.get(pid, []))
        return found

    def bound_sockets(self, pids: list[int], transport: str) -> list[SocketInfo]:
        inodes = socket_inodes(pids)
        if not inodes:
            return []
        if transport == "tcp":
            candidates = sockdiag.listening_tcp()
        else:
            candidates = sockdiag.dump("udp")
        return [s for s in candidates if s.inode in inodes and s.local_port != 0]

    def tcp_sockets_on_port(self, port: int) -> list[SocketInfo]:
        return [s for s in sockdiag.dump("tcp") if s.local_port == port]

    def sockets_in_use(self) -> list[SocketInfo]:
        try:
            return sockdiag.dump("tcp") + sockdiag.dump("udp")
        except OSError:
            return []

    def open_fds(self, pids: list[int]) -> int:
        total = 0
        for pid in pids:
            try:
                total += len(os.listdir(f"/proc/{pid}/fd"))
            except OSError:
                pass
        return total

    def cpu_seconds(self, pids: list[int]) -> float:
        return sum(info.cpu_seconds for pid in pids if (info := self._stat(pid)))

    def tree_cpu_seconds(self, pids: list[int]) -> float:
        return proctimes.tree_ticks(pids) / self._ticks

    def start_time(self, pid: int) -> float | None:
        info = self._stat(pid)
        return float(info.start_ticks) if info else None

    def activity(self, pids: list[int]) -> Activity:
        running, switches = False, 0
        for task in proc_entries(pids, "task"):
            try:
                with open(f"{task}/status", "rb") as f:
                    for line in f:
                        if line.startswith(b"State:"):
                            running = running or line.split()[1] == b"R"
                        elif b"ctxt_switches:" in line:  # voluntary_ and nonvoluntary_
                            switches += int(line.split()[1])
            except (OSError, ValueError, IndexError):
                continue
        return Activity(running, switches)

    def command_line(self, pid: int) -> str:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return shown_command(f.read(COMMAND_READ).replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            return "?"


#: A process's command line is the server's to write: read this much, show this much, on one line.
COMMAND_READ = 4096
COMMAND_SHOWN = 300


def shown_command(text: str) -> str:
    """A command line as a failure message shows it: escaped on one line (a newline in an argument wrote whole
    lines into the harness's message), and cut."""
    line = safe_line(as_typed(text.strip()))
    return line if len(line) <= COMMAND_SHOWN else line[:COMMAND_SHOWN - 1] + "…"


class PsutilProbe:
    """Portable fallback. Slower (it reads the whole connection table), correct."""

    name = "psutil"
    reads_accept_queue = False

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil

    def tree(self, roots: list[int], token: str | None = None, session: int | None = None) -> list[int]:
        psutil = self._psutil
        found: list[int] = []
        for root_pid in roots:
            try:
                root = psutil.Process(root_pid)
                if root_pid not in found:
                    found.append(root_pid)
                found += [c.pid for c in root.children(recursive=True) if c.pid not in found]
            except psutil.Error:
                pass
        if token:
            found += [pid for pid in processes_with_env(TOKEN_VARIABLE, token) if pid not in found]
        alive = []
        for pid in found:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.Error:
                pass
        return alive

    @staticmethod
    def _info(conn, transport: str) -> SocketInfo:
        local = conn.laddr
        remote = conn.raddr or ("", 0)
        return SocketInfo(
            transport, int(conn.family), local[0], local[1], remote[0] if remote else "", remote[1] if remote else 0,
            conn.status if transport == "tcp" else "BOUND", 0,
        )

    def bound_sockets(self, pids: list[int], transport: str) -> list[SocketInfo]:
        result = []
        for pid in pids:
            try:
                conns = self._psutil.Process(pid).net_connections(kind=transport)
            except self._psutil.Error:
                continue
            for conn in conns:
                if not conn.laddr or conn.laddr[1] == 0:
                    continue
                if transport == "tcp" and conn.status != self._psutil.CONN_LISTEN:
                    continue
                result.append(self._info(conn, transport))
        return result

    def tcp_sockets_on_port(self, port: int) -> list[SocketInfo]:
        return [
            self._info(c, "tcp")
            for c in self._psutil.net_connections(kind="tcp")
            if c.laddr and c.laddr[1] == port
        ]

    def sockets_in_use(self) -> list[SocketInfo]:
        return []  # not known without sock_diag: the port is chosen without looking

    def open_fds(self, pids: list[int]) -> int:
        total = 0
        for pid in pids:
            try:
                total += self._psutil.Process(pid).num_fds()
            except self._psutil.Error:
                pass
        return total

    def cpu_seconds(self, pids: list[int], reaped: bool = False) -> float:
        total = 0.0
        for pid in pids:
            try:
                times = self._psutil.Process(pid).cpu_times()
                total += times.user + times.system + (times.children_user + times.children_system) * reaped
            except self._psutil.Error:
                pass
        return total

    def tree_cpu_seconds(self, pids: list[int]) -> float:  # (no zombies' times here: psutil cannot read them)
        return self.cpu_seconds(pids, reaped=True)

    def start_time(self, pid: int) -> float | None:
        try:
            return self._psutil.Process(pid).create_time()
        except self._psutil.Error:
            return None

    def activity(self, pids: list[int]) -> Activity:
        running, switches = False, 0
        for pid in pids:
            try:
                process = self._psutil.Process(pid)
                running = running or process.status() == self._psutil.STATUS_RUNNING
                switches += sum(process.num_ctx_switches())
            except self._psutil.Error:
                continue
        return Activity(running, switches)

    def command_line(self, pid: int) -> str:
        try:
            return shown_command(" ".join(self._psutil.Process(pid).cmdline()))
        except self._psutil.Error:
            return "?"


_default: SystemProbe | None = None


def default_probe() -> SystemProbe:
    """LinuxProbe where /proc and sock_diag work, else PsutilProbe."""
    global _default
    if _default is None:
        forced = os.environ.get("HARNESS_PROBE", "")
        if forced != "psutil" and os.path.isdir("/proc/self/fd") and hasattr(socket, "AF_NETLINK") and sockdiag.available():
            _default = LinuxProbe()
        else:
            _default = PsutilProbe()
    return _default
