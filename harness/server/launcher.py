"""Start the server under test, find its port, and make sure it is gone at the end.

Rules (no pytest here; the plugin is a thin caller):
- The server runs in its own session, with stdin closed and its output drained
  into capped files (`harness.server.output_capture`), with a clean environment
  (`harness.system.server_env`: `PORT`/`HOST`, never the harness's own variables) and
  `{port}`/`{host}` substituted in its arguments. Under bubblewrap
  (`harness.system.bwrap`) `self.process` is the server's own process inside its
  sandbox, so signals and exit statuses are the server's as without it.
- Readiness and the port are read from the kernel, never by connecting
  (`harness.server.readiness`).
- The processes that are the server's, and how they end, are its
  `ProcessTree` (`harness.server.process_tree`): `stop()` ends every
  descendant; orphans are reaped because the harness is a child subreaper
  (`harness.system.processes`).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.deadline import Deadline, poll_until
from harness.errors import ServerStartError
from harness.server import readiness
from harness.server.output_capture import OutputCapture
from harness.server.process_tree import ProcessTree
from harness.server.serverkind import language_of
from harness.server.startup_advice import startup_advice
from harness.system import processes
from harness.system.probe import TOKEN_VARIABLE, SystemProbe, default_probe
from harness.system.processes import become_subreaper, dies_with_us
from harness.system.python_path import standard_library_first, without_shim_frames
from harness.system.safe_files import remove_tree
from harness.system.server_env import server_environment
from harness.system.sockdiag import SocketInfo

if TYPE_CHECKING:
    from harness.system.sandbox import Sandbox

#: How long a stopped instance may take to end after SIGTERM before SIGKILL.
STOP_GRACE = 1.0
#: The same, once an instance of this server (argv, folder) outlived STOP_GRACE: its handler does not end it.
LINGER_GRACE = 0.2
_OUTLIVED_SIGTERM: set[tuple[tuple[str, ...], str | None]] = set()


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


def substitute(argv: tuple[str, ...], port: int, host: str) -> list[str]:
    return [arg.replace("{port}", str(port)).replace("{host}", host) for arg in argv]


class ServerProcess:
    """One running instance of the server under test."""

    def __init__(self, spec: ServerSpec, workdir: Path | None = None, probe: SystemProbe | None = None) -> None:
        self.spec = spec
        self.probe = probe or default_probe()
        self.token = uuid.uuid4().hex
        self.tree = ProcessTree(self.probe, self.token)
        self._owns_workdir = workdir is None  # then stop() removes it
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="harness-"))
        self.process: subprocess.Popen | None = None
        self.output: OutputCapture | None = None
        self.endpoint: Endpoint | None = None
        self.port = 0
        self.startup_s: float | None = None
        self.launched_at: float | None = None
        #: Its first process had exited by the time it listened (a double fork, `./server &`): by design.
        self.daemonized = False
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
            self.port = readiness.choose_port(self.probe.sockets_in_use(), random.Random(), avoid)
        argv = substitute(spec.argv, self.port, spec.host)
        self.output = OutputCapture(self.workdir)
        cwd, preexec, prepared = spec.cwd, None, None
        if spec.sandbox is not None:
            try:
                prepared = spec.sandbox.prepare(self.workdir, argv, spec.cwd)
            except BaseException:  # refused, or the harness's disk is full: no descriptor of ours stays open
                self.output.close_write_ends()
                self.output.close()
                raise
            argv, cwd, preexec = prepared.argv, prepared.cwd, prepared.preexec_fn
        else:
            argv = standard_library_first(argv)  # (the sandbox does this after rewriting the paths)
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
        self.tree.adopt(self.process.pid, getattr(self.process, "init_pid", None), getattr(prepared, "uid", None))
        self.launched_at = started

    def wait_until_ready(self, assigned_port_grace: float = readiness.ASSIGNED_PORT_GRACE) -> Endpoint:
        """Wait (within the startup timeout, counted from the launch) until it listens;
        `assigned_port_grace`: how long a listener elsewhere waits for the assigned port."""
        if self.endpoint is not None:
            return self.endpoint
        assert self.launched_at is not None, "launch() first"
        self.endpoint, listening_since = self._wait_ready(Deadline(self.spec.startup_timeout, self.launched_at),
                                                          assigned_port_grace)
        self.startup_s = listening_since - self.launched_at  # without the wait for an assigned port that never came
        self.daemonized = not self.alive()
        return self.endpoint

    def _wait_ready(self, deadline: Deadline, assigned_port_grace: float) -> tuple[Endpoint, float]:
        spec = self.spec
        assert self.process is not None
        process = self.process
        try:
            listening = readiness.wait_until_listening(
                self.probe, spec.transport, self.port, bool(spec.fixed_port),
                lambda with_token: self.pids(with_token=with_token), lambda: process.poll() is not None, deadline,
                assigned_port_grace)
        except readiness.ExitedEarly:
            raise self._exited_early() from None
        except readiness.WrongTransport as wrong:
            message = readiness.wrong_transport_message(spec.transport, self.port, wrong.sockets)
            raise ServerStartError(message, self.output_tail()) from None
        except readiness.NotListening as timeout:
            exited = self.exit_description() if process.poll() is not None else None
            message = readiness.not_listening_message(spec.transport, self.port, spec.startup_timeout,
                                                      timeout.seen_other, spec.fixed_port is None, exited)
            raise ServerStartError(message, self.output_tail()) from None
        return self._endpoint(listening.sockets, listening.source), listening.since

    def _endpoint(self, sockets: list[SocketInfo], source: str) -> Endpoint:
        for sock in sockets:
            host = readiness.connect_host(sock)
            if host:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                return Endpoint(host, sock.local_port, family, source, sock.describe())
        raise ServerStartError(readiness.not_loopback_message(sockets), self.output_tail())

    def _exited_early(self) -> ServerStartError:
        assert self.process is not None
        code = self.process.returncode
        self._finish_output()
        tail = self.output_tail()
        uid = self.spec.sandbox.uid_for(self.workdir) if self.spec.sandbox else None
        port_given = any("{port}" in arg for arg in self.spec.argv)
        sandboxed = bool(getattr(self.spec.sandbox, "sandboxed", lambda: False)())
        advice = startup_advice(tail, uid, port_given, sandboxed, language_of(self.spec.argv)) if code else None
        return ServerStartError(f"the server exited before it listened ({_joined(*self._describe(code))})" + (f": {advice}" if advice else ""),
                                tail)

    # -- while running -------------------------------------------------------
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ended(self) -> bool:
        """Whether the server has stopped running: its process exited, or, for a server that daemonized at its
        start, its whole tree is gone (blind 17: a daemon's launcher was said to have died of a reset)."""
        return self.gone() if self.daemonized else not self.alive()

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

    def exit_code(self) -> int | None:
        """The server's exit status (negative: killed by that signal); None while it runs."""
        if self.process is None:
            return None
        return self.process.poll()

    def exit_description(self) -> str:
        return _joined(*self.exit_parts())

    def exit_parts(self) -> tuple[str, str | None]:
        """The exit status in words, and which resource limit caused it if one did (else None)."""
        if self.process is None or self.process.poll() is None:
            return "still running", None
        return self._describe(self.process.returncode)

    def _describe(self, code: int | None) -> tuple[str, str | None]:
        cause = self.spec.sandbox.explain(code, self.output_tail(4000), self.workdir) if self.spec.sandbox else None
        return describe_exit(code), cause

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
        return self.tree.pids(with_token) if self.process is not None else []

    def gone(self) -> bool:
        """Whether nothing of the server runs any more. A scan of /proc is not atomic (blind 18: a survivor
        that forks its successor and exits at once was missed by one scan), so the kernel's own records
        decide where there are any: the sandbox's init runs while any process of its namespace does, and the
        instance's cgroups list all of its processes (zombies are not running)."""
        if self.pids(with_token=True) or self.tree.sandbox_alive():
            return False
        listing = getattr(self.spec.sandbox, "cgroup_members", None)
        members = listing(self.workdir) if listing is not None else None
        return not any(self.probe.start_time(pid) is not None for pid in members or ())

    def unreaped_children(self) -> list[int]:
        """Children of the server's processes that ended and were never waited for (zombies)."""
        return processes.zombies_of(self.pids()) if self.process is not None else []

    def reap_orphans(self) -> int:
        """Reap this server's orphans that died as our children (see `ProcessTree.reap_orphans`)."""
        return self.tree.reap_orphans() if self.process is not None else 0

    def output_tail(self, limit: int = 2000) -> str:
        return self.as_printed(self.output.tail_text(limit)) if self.output else ""

    def as_printed(self, text: str) -> str:
        """Its output as under `python server.py`: no shim frames, no scratch-copy folder in paths
        (blind 20: reports and Gradescope showed the grader's /tmp/harness-run-... paths)."""
        return without_shim_frames(text).replace(f"{self.workdir}/submission/", "")

    # -- stop ----------------------------------------------------------------
    def stop(self, grace: float | None = None) -> None:
        """TERM the whole tree, wait up to `grace`, KILL what is left, reap. Without a `grace`: STOP_GRACE, or
        only LINGER_GRACE once an instance of the same server has outlived STOP_GRACE after SIGTERM (a server
        whose handler never ends it cost a second per instance; after its checks, how it ends is not judged)."""
        if self._stopped:
            return
        if self.process is None:
            self._remove_workdir()
            return
        server = (self.spec.argv, self.spec.cwd)
        if grace is None:
            grace = LINGER_GRACE if server in _OUTLIVED_SIGTERM else STOP_GRACE
        if not self.tree.end(grace, self._reap_server) and grace >= STOP_GRACE:
            _OUTLIVED_SIGTERM.add(server)
        self._finish_output()
        if self.spec.sandbox is not None:
            self.spec.sandbox.release(self.workdir)
        self._remove_workdir()
        # Only now: a stop() cut short by Ctrl+C is done again by the final cleanup.
        self._stopped = True

    def _remove_workdir(self) -> None:
        if self._owns_workdir:
            remove_tree(self.workdir)

    def _reap_server(self) -> None:
        """The server's own process (Popen's to wait for), and a sandbox's bwrap and init."""
        if self.process is not None:
            try:
                self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
            helpers = getattr(self.process, "reap_helpers", None)
            if helpers is not None:  # a sandbox's bwrap and init
                helpers()

    def _finish_output(self) -> None:
        if self.output is not None and not self.pids():
            self.output.close(timeout=0.5)


def _joined(text: str, cause: str | None) -> str:
    return f"{text}: {cause}" if cause else text


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            return f"killed by signal {-code}"
        crash = CRASHES.get(name)
        return f"killed by {name}" + (f" ({crash})" if crash else "")
    return f"exit code {code}"


#: Signals a program dies of by its own fault (a C or C++ server, an extension module): what each means.
CRASHES = {
    "SIGSEGV": "an invalid memory access: a write past a buffer's end, a NULL or freed pointer",
    "SIGBUS": "an invalid memory access",
    "SIGABRT": "the program aborted itself: a failed assert() or a corrupted heap",
    "SIGFPE": "an arithmetic error: an integer division by zero",
}
