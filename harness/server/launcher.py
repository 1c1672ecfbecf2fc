"""Start the server under test, find its port, and make sure it is gone at the end.

Rules (no pytest here; the plugin is a thin caller):
- The server runs in its own session, with stdin closed and its output drained
  into capped files (`harness.server.output_capture`), with a clean environment
  (`harness.system.server_env`: `PORT`/`HOST`, never the harness's own variables) and
  `{port}`/`{host}` substituted in its arguments. Under bubblewrap
  (`harness.system.bwrap`) `self.process` is the server's own process inside its
  sandbox, so signals and exit statuses are the server's as without it.
- Readiness is read from the kernel (`harness.system.probe`), never by connecting.
- Port, in order: the fixed `--port`; the assigned port if the server listens on
  it; else the port the server (or a child) really listens on — "discovered".
- `stop()` ends every descendant: TERM, a grace period, then KILL, rescanning
  for processes forked meanwhile; orphans are reaped because the harness is a
  child subreaper.
"""

from __future__ import annotations

import ctypes
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from harness.system import sockdiag
from harness.deadline import Deadline, poll_until
from harness.errors import ServerStartError
from harness.server.output_capture import OutputCapture
from harness.system.probe import TOKEN_VARIABLE, SystemProbe, default_probe
from harness.system.safe_files import remove_tree
from harness.system.server_env import server_environment
from harness.system.sockdiag import SocketInfo
from harness.server.startup_advice import startup_advice

if TYPE_CHECKING:
    from harness.system.sandbox import Sandbox

PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
ASSIGNED_PORT_RANGE = (20000, 32000)  # below Linux's ephemeral range (32768-60999)


@dataclass(frozen=True)
class ServerSpec:
    """How to start the server. `argv` may contain `{port}` and `{host}`."""

    argv: tuple[str, ...]
    transport: str = "tcp"  # "tcp" or "udp"
    host: str = "127.0.0.1"
    fixed_port: int | None = None
    startup_timeout: float = 10.0
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    output_cap: int = 8 * 1024 * 1024
    #: Limits, unprivileged user and scratch copy (harness.system.sandbox); None: run as is.
    sandbox: Sandbox | None = None


@dataclass(frozen=True)
class Endpoint:
    """Where the harness talks to the server."""

    host: str
    port: int
    family: int
    port_source: str  # "assigned" | "fixed" | "discovered"
    listening: str  # what the kernel showed, e.g. "TCP 0.0.0.0:9000"

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


def become_subreaper() -> None:
    """Orphaned grandchildren (double forks) re-parent to us, so we can reap them."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def dies_with_us(preexec: Callable[[], None] | None) -> Callable[[], None] | None:
    """`preexec`, then: if the harness dies (even by SIGKILL), the server gets SIGKILL.

    Set last, after any uid switch, which clears it. The kernel sends it when
    the thread that started the server ends, so only the main thread (which
    lives as long as the run) asks for it. Orphans the server made itself are
    still the sweep's to find.
    """
    if threading.current_thread() is not threading.main_thread() or not sys.platform.startswith("linux"):
        return preexec
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up now: no dlopen after fork
    except (OSError, AttributeError):
        return preexec
    parent = os.getpid()

    def run() -> None:
        if preexec is not None:
            preexec()
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # we died before it was set
            os._exit(1)

    return run


def unignore_signals() -> dict[int, object]:
    """Let the server start with SIGINT and SIGTERM at their defaults.

    An ignored signal stays ignored across exec: a harness started in the
    background by a shell (SIGINT ignored there) would start servers deaf to
    Ctrl+C and blame them for it. Until `restore_signals`, the harness swallows
    those signals in a handler instead, which exec resets to the default.
    """
    swallowed: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) == signal.SIG_IGN:
                swallowed[sig] = signal.signal(sig, lambda *_: None)
    return swallowed


def restore_signals(swallowed: dict[int, object]) -> None:
    for sig, previous in swallowed.items():
        signal.signal(sig, previous)


def connect_host(sock: SocketInfo) -> str | None:
    """The loopback address to reach a listening socket, or None if it is not on loopback."""
    host = sock.local_host
    if host.startswith("::ffff:"):
        host = host[7:]
    if host == "0.0.0.0" or host.startswith("127."):
        return "127.0.0.1" if host == "0.0.0.0" else host
    if host in ("::", "::1"):
        return "::1"
    return None


def choose_port(probe_sockets: list[SocketInfo], rng: random.Random, avoid: frozenset[int] = frozenset()) -> int:
    """A port nobody uses now, outside the kernel's ephemeral range.

    Binding port 0 and closing is racy against ephemeral client ports; this
    range is not used for outgoing connections, which removes that race.
    `avoid`: ports promised to instances that have not bound them yet.
    """
    used = {s.local_port for s in probe_sockets} | avoid
    for _ in range(1000):
        port = rng.randrange(*ASSIGNED_PORT_RANGE)
        if port not in used:
            return port
    raise RuntimeError("no free port found")


#: How long a server may hold its assigned port with the other transport (a
#: UDP socket for a TCP run) before it is taken as a server of that transport.
OTHER_TRANSPORT_GRACE = 0.3


def substitute(argv: tuple[str, ...], port: int, host: str) -> list[str]:
    return [arg.replace("{port}", str(port)).replace("{host}", host) for arg in argv]


class ServerProcess:
    """One running instance of the server under test."""

    def __init__(self, spec: ServerSpec, workdir: Path | None = None, probe: SystemProbe | None = None) -> None:
        self.spec = spec
        self.probe = probe or default_probe()
        self.token = uuid.uuid4().hex
        self._owns_workdir = workdir is None  # then stop() removes it
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="harness-"))
        self.process: subprocess.Popen | None = None
        self.output: OutputCapture | None = None
        self.endpoint: Endpoint | None = None
        self.port = 0
        self.startup_s: float | None = None
        self.launched_at: float | None = None
        #: Every pid seen in the server's tree, with its start time (a reused pid is not ours).
        self.known_pids: dict[int, float | None] = {}
        self._stopped = False

    # -- start ---------------------------------------------------------------
    def start(self, port: int | None = None) -> Endpoint:
        """Start the server and wait until it listens; `port` assigns that port
        instead of a new one (to start a second instance on the port a stopped
        one used)."""
        self.launch(port)
        return self.wait_until_ready()

    def launch(self, port: int | None = None, avoid: frozenset[int] = frozenset()) -> None:
        """Start the server's process, without waiting for it to listen."""
        become_subreaper()
        spec = self.spec
        if spec.fixed_port:
            self.port = spec.fixed_port
        elif port:
            self.port = port
        else:
            self.port = choose_port(_sockets_in_use(self.probe), random.Random(), avoid)
        argv = substitute(spec.argv, self.port, spec.host)
        self.output = OutputCapture(self.workdir)
        cwd, preexec, prepared = spec.cwd, None, None
        if spec.sandbox is not None:
            prepared = spec.sandbox.prepare(self.workdir, argv, spec.cwd)
            argv, cwd, preexec = prepared.argv, prepared.cwd, prepared.preexec_fn
        env = server_environment(self.port, spec.host, cwd or str(self.workdir), spec.env, {TOKEN_VARIABLE: self.token})
        wrap = getattr(prepared, "wrap", None)
        if wrap is not None:  # bubblewrap: the server's env travels inside, bwrap's own is minimal
            argv, env = wrap(env)
        started = time.monotonic()
        swallowed = unignore_signals()
        try:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=self.output.stdout_fd,
                stderr=self.output.stderr_fd,
                cwd=cwd,
                env=env,
                start_new_session=True,
                close_fds=True,
                pass_fds=getattr(prepared, "pass_fds", ()),
                preexec_fn=dies_with_us(preexec),
            )
            if getattr(prepared, "adopt", None) is not None:
                self.process = prepared.adopt(self.process)  # the server's own process, inside its sandbox
        except OSError as exc:
            if getattr(prepared, "abandon", None) is not None:
                prepared.abandon()
            self.output.close_write_ends()
            self.output.close()
            raise ServerStartError(f"could not execute {argv[0]!r}: {exc.strerror or exc}") from exc
        finally:
            restore_signals(swallowed)
            if self.output.write_fds:
                self.output.close_write_ends()
        self._remember([self.process.pid])
        self.launched_at = started

    def wait_until_ready(self) -> Endpoint:
        """Wait (within the startup timeout, counted from the launch) until it listens."""
        if self.endpoint is not None:
            return self.endpoint
        assert self.launched_at is not None, "launch() first"
        self.endpoint = self._wait_ready(Deadline(self.spec.startup_timeout, self.launched_at))
        self.startup_s = time.monotonic() - self.launched_at
        return self.endpoint

    def _wait_ready(self, deadline: Deadline) -> Endpoint:
        spec = self.spec
        assert self.process is not None
        seen_other: list[SocketInfo] = []
        empty_scans = 0
        other_since = 0.0

        def ready() -> Endpoint | None:
            nonlocal seen_other, empty_scans
            exited = self.process.poll() is not None
            pids = self.pids(with_token=exited) or self.pids(with_token=True)
            if not pids:
                # Gone only when its first process is reaped and two scans in a
                # row find nothing: a daemon mid-double-fork can slip through
                # one scan (its parent exits between the /proc listing and the
                # read of its child), and a zombie first process is not gone yet.
                empty_scans = empty_scans + 1 if exited else 0
                if empty_scans >= 2:
                    raise self._exited_early()
                return None
            empty_scans = 0
            sockets = self.probe.bound_sockets(pids, spec.transport)
            wanted = [s for s in sockets if s.local_port == self.port]
            if wanted:
                return self._endpoint(wanted, "fixed" if spec.fixed_port else "assigned")
            if sockets and not spec.fixed_port:
                return self._endpoint(sockets, "discovered")
            seen_other = sockets + self.probe.bound_sockets(pids, "udp" if spec.transport == "tcp" else "tcp")
            if any(s.local_port == self.port and s.transport != spec.transport for s in seen_other):
                nonlocal other_since
                other_since = other_since or time.monotonic()
                if time.monotonic() - other_since >= OTHER_TRANSPORT_GRACE:
                    raise self._wrong_transport(seen_other)  # it will not change its mind: say so now
            return None

        # ~0.1 ms a poll: poll often at first (most servers listen within
        # 100 ms), then back off gently for slow starters.
        endpoint = poll_until(ready, deadline, interval=0.002, max_interval=0.02)
        if endpoint:
            return endpoint
        kind = spec.transport.upper()
        message = f"the server did not listen on {kind} port {self.port} within {spec.startup_timeout:g} s"
        if seen_other:
            message += "; it listens on " + ", ".join(sorted({s.describe() for s in seen_other})) + " instead"
        else:
            message += "; it listens on no port at all"
        if spec.fixed_port is None:
            message += " (the port is given as {port} in its arguments and as $PORT in its environment)"
        if self.process.poll() is not None:  # its children linger, e.g. after a fork bomb
            message += f"; its first process exited ({self.exit_description()})"
        raise ServerStartError(message, self.output_tail())

    def _wrong_transport(self, sockets: list[SocketInfo]) -> ServerStartError:
        """The server took its assigned port with the other transport: a UDP
        server run as tcp-echo (the default), or a TCP one run as udp-echo."""
        kind, other = self.spec.transport.upper(), ("UDP" if self.spec.transport == "tcp" else "TCP")
        protocols = "--protocol udp-echo (udp-hello for the greeting server)" if other == "UDP" else \
            "--protocol tcp-echo (or tcp-framed, tcp-hello, tcp-file)"
        where = ", ".join(sorted({s.describe() for s in sockets}))
        return ServerStartError(f"the server did not listen on {kind} port {self.port}: it listens on {where} "
                                f"instead, as a {other} server does; check it with {protocols}", self.output_tail())

    def _endpoint(self, sockets: list[SocketInfo], source: str) -> Endpoint:
        for sock in sockets:
            host = connect_host(sock)
            if host:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                return Endpoint(host, sock.local_port, family, source, sock.describe())
        described = ", ".join(s.describe() for s in sockets)
        raise ServerStartError(
            f"the server listens on {described}, which is not a loopback address; "
            "the harness only talks to loopback (bind 127.0.0.1, ::1, 0.0.0.0 or ::)",
            self.output_tail(),
        )

    def _exited_early(self) -> ServerStartError:
        assert self.process is not None
        code = self.process.returncode
        self._finish_output()
        tail = self.output_tail()
        uid = self.spec.sandbox.uid_for(self.workdir) if self.spec.sandbox else None
        port_given = any("{port}" in arg for arg in self.spec.argv)
        sandboxed = bool(getattr(self.spec.sandbox, "sandboxed", lambda: False)())
        advice = startup_advice(tail, uid, port_given, sandboxed) if code else None
        return ServerStartError(
            f"the server exited before it listened ({self._describe(code)})" + (f": {advice}" if advice else ""), tail
        )

    # -- while running -------------------------------------------------------
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def send_signal(self, sig: int, group: bool = False) -> None:
        """Signal the server's own process (as `kill PID` does), or with `group`
        its process group (as Ctrl+C in a terminal does: the server leads its
        own group, so that is the server and the children still in it)."""
        if self.process is not None and self.process.poll() is None:
            try:
                if group:
                    os.killpg(self.process.pid, sig)
                else:
                    os.kill(self.process.pid, sig)
            except ProcessLookupError:
                pass

    def wait_exit(self, deadline: Deadline) -> float | None:
        """Wait for the server's own process to exit: seconds waited, or None
        if it is still running at the deadline (`exit_description()` says how)."""
        if self.process is None:
            return 0.0
        started = time.monotonic()
        exited = poll_until(lambda: self.process.poll() is not None, deadline, interval=0.002, max_interval=0.02)
        return time.monotonic() - started if exited else None

    def exit_description(self) -> str:
        if self.process is None or self.process.poll() is None:
            return "still running"
        return self._describe(self.process.returncode)

    def _describe(self, code: int | None) -> str:
        """The exit status, and which resource limit caused it if one did."""
        text = describe_exit(code)
        cause = self.spec.sandbox.explain(code, self.output_tail(4000), self.workdir) if self.spec.sandbox else None
        return f"{text}: {cause}" if cause else text

    def still_listening(self) -> bool:
        """Is the endpoint's socket still open in the server's tree?

        A server that quits after its first client closes its listening socket
        a moment before it exits; checking the socket, not only the process,
        keeps that moment from being blamed on the next check.
        """
        if self.endpoint is None:
            return False
        pids = self.pids()
        return any(s.local_port == self.endpoint.port for s in self.probe.bound_sockets(pids, self.spec.transport))

    def pids(self, with_token: bool = False) -> list[int]:
        """The server's live process tree."""
        if self.process is None:
            return []
        # Processes seen before are roots too: a daemon that double-forked and
        # called setsid is in neither the parent chain nor the session.
        roots = [self.process.pid] + [
            pid for pid, started in self.known_pids.items()
            if pid != self.process.pid and started is not None and self.probe.start_time(pid) == started
        ]
        pids = self.probe.tree(roots, self.token if with_token else None)
        self._remember(pids)
        return pids

    def _remember(self, pids: list[int]) -> None:
        for pid in pids:
            if pid not in self.known_pids:
                self.known_pids[pid] = self.probe.start_time(pid)

    def reap_orphans(self) -> int:
        """Reap this server's orphans that died as our children (we are a subreaper).

        A forking server's grandchildren (socat's `cat`, one per connection)
        re-parent to us and, unreaped, pile up as zombies that count against
        the process limit: after a few hundred connections the server's fork()
        fails. Only zombies in the server's session (its session id is its
        pid) are reaped, never the server's own process (Popen waits for it).
        Linux only; returns how many were reaped.
        """
        if self.process is None or not os.path.isdir("/proc"):
            return 0
        me, session, reaped = os.getpid(), self.process.pid, 0
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == session:
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    raw = f.read()
            except OSError:
                continue
            fields = raw[raw.rfind(b")") + 2 :].split()
            if fields[0] == b"Z" and int(fields[1]) == me and int(fields[3]) == session:
                try:
                    os.waitpid(int(name), os.WNOHANG)
                    reaped += 1
                except ChildProcessError:
                    pass
        return reaped

    def output_tail(self, limit: int = 2000) -> str:
        return self.output.tail_text(limit) if self.output else ""

    # -- stop ----------------------------------------------------------------
    def stop(self, grace: float = 1.0) -> None:
        """TERM the whole tree, wait up to `grace`, KILL what is left, reap."""
        if self._stopped:
            return
        if self.process is None:
            self._remove_workdir()
            return
        pids = self.pids(with_token=True)
        self._signal_all(pids, signal.SIGTERM)
        poll_until(lambda: not self.pids(), Deadline(grace))
        deadline = Deadline(5.0)
        while not deadline.expired():
            pids = self.pids(with_token=True)
            if not pids:
                break
            self._signal_all(pids, signal.SIGKILL)
            self._reap()
            time.sleep(0.01)
        self._reap()
        self._finish_output()
        if self.spec.sandbox is not None:
            self.spec.sandbox.release(self.workdir)
        self._remove_workdir()
        # Only now: a stop() cut short by Ctrl+C is done again by the final cleanup.
        self._stopped = True

    def _remove_workdir(self) -> None:
        if self._owns_workdir:
            remove_tree(self.workdir)

    def _signal_all(self, pids: list[int], sig: int) -> None:
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def _reap(self) -> None:
        if self.process is not None:
            try:
                self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
            helpers = getattr(self.process, "reap_helpers", None)
            if helpers is not None:  # a sandbox's bwrap and init
                helpers()
        for pid in list(self.known_pids):
            if self.process is not None and pid == self.process.pid:
                continue
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass

    def _finish_output(self) -> None:
        if self.output is not None and not self.pids():
            self.output.close(timeout=0.5)


def _sockets_in_use(probe: SystemProbe) -> list[SocketInfo]:
    """Every bound TCP/UDP socket, to keep the assigned port clear of them."""
    if probe.name != "linux":
        return []
    try:
        return sockdiag.dump("tcp") + sockdiag.dump("udp")
    except OSError:
        return []


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
