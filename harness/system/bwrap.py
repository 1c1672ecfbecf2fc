"""The bubblewrap sandbox: one per server instance (SPEC §5 "How").

Rules:
- What the server sees: its own mount, PID, IPC and UTS namespaces; the
  harness's private loopback-only network namespace (shared, not a new one, so
  the harness's probe and clients reach it); the system read-only (`/usr`,
  `/etc`, `/opt`, the links `/bin`, `/lib`...), the interpreter's own folders
  read-only, its instance folder read-only with its scratch copy as the only
  writable folder; private, size-capped `/tmp`, `/var/tmp` and `/dev/shm`
  (their size is the memory limit: tmpfs files are memory); a fresh `/proc`
  that shows only its own processes; no capabilities; no new privileges.
- Who runs it: as root, bwrap itself runs privileged (no user namespace, so
  the server's uid is a real unprivileged uid of the host: the process limit
  counts it, nothing root-owned is its own); its PID 1 is a tiny init of ours
  that stays root (so bwrap's death may still signal it) and starts the
  server as the instance's uid, with no new privileges. As a normal user,
  bwrap makes a user namespace and the server keeps the user's uid.
- The init (`INIT`, PID 1 of the namespace) starts the server in a session of
  its own, reaps every orphan, tells the harness the server's exact wait
  status through a pipe, and stays while any process of the namespace lives —
  so a server's leftover children stay visible to the shutdown checks. When
  the init dies (the harness killed it, or bwrap died with the harness —
  `--die-with-parent`) the kernel kills everything in the namespace.
- What the server can read of its sandbox says nothing of the check under
  way (SPEC §5.1): the init's command line (`/proc/1/cmdline`) holds the
  uid, the scratch copy's path (a random name) and the server's own command;
  the status pipe is always its fd 3; the environment comes in an unnamed
  file it reads and closes before the server starts (see `INIT`).
- `SandboxedProcess` stands for the server's process in the launcher: its
  pid is the server's own (host view), so signals reach the server exactly as
  without the sandbox, and its return code is the server's, not bwrap's.
"""

from __future__ import annotations

import functools
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness.system import processes

#: PID 1 of the sandbox: argv = UID CWD -- COMMAND...; stdlib only, no site. It inherits two
#: descriptors beyond 0-2: the server's environment (a file, NAME=VALUE\0..., read and closed)
#: and the status pipe (moved to fd 3). Neither is in its argv (/proc/1/cmdline): the fd number
#: would say how many instances the harness had running, the environment the instance folder;
#: nor in its own environment, so the sweeps by marker never take the init for a server process.
INIT = r"""
import os, signal, stat, sys
uid, cwd = int(sys.argv[1]), sys.argv[2]
argv = sys.argv[4:]
status_fd = env_fd = -1
for fd in range(3, 65536):
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        continue
    if stat.S_ISFIFO(mode):
        status_fd = fd
    elif stat.S_ISREG(mode):
        env_fd = fd
    if status_fd >= 0 and env_fd >= 0:
        break
chunks = []
while chunk := os.read(env_fd, 65536):
    chunks.append(chunk)
os.close(env_fd)
env = dict(item.split("=", 1) for item in b"".join(chunks).decode("utf-8", "surrogateescape").split("\0") if item)
if status_fd != 3:
    os.dup2(status_fd, 3)
    os.close(status_fd)
    status_fd = 3
import ctypes
prctl = ctypes.CDLL(None, use_errno=True).prctl
pid = os.fork()
if pid == 0:
    os.close(status_fd)
    if uid >= 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    prctl(38, 1, 0, 0, 0)
    os.setsid()
    for name in ("SIGPIPE", "SIGXFSZ"):  # Python ignores them, and exec keeps an ignored signal ignored
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        if cwd:
            os.chdir(cwd)
        os.execvpe(argv[0], argv, env)
    except OSError as error:
        os.write(2, ("could not execute %r: %s\n" % (argv[0], error.strerror)).encode())
        os._exit(127)
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    try:
        child, status = os.waitpid(-1, 0)
    except ChildProcessError:
        break
    except InterruptedError:
        continue
    if child == pid:
        os.write(status_fd, b"%d\n" % status)
"""

#: Top-level system folders shown read-only (links such as /bin -> usr/bin are copied as links).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")


@functools.lru_cache(maxsize=None)
def executable() -> str | None:
    """bwrap on PATH, or `HARNESS_BWRAP` (a path; one that does not exist stands for "not installed")."""
    chosen = os.environ.get("HARNESS_BWRAP")
    if chosen is not None:
        return chosen if os.access(chosen, os.X_OK) else None
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=None)
def unavailable_reason() -> str | None:
    """Why no sandbox can run here (None: it works). Tried once per process, with `true`."""
    found = executable()
    if found is None:
        return "bwrap (bubblewrap) is not installed"
    if not sys.platform.startswith("linux"):
        return "bubblewrap needs Linux"
    read_end, write_end = os.pipe()
    env_fd = unnamed_file()
    write_environment(env_fd, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    try:
        argv = command(found, Path("/"), None, [shutil.which("true") or "/bin/true"], None, 16)
        completed = subprocess.run(argv, pass_fds=(write_end, env_fd), stdin=subprocess.DEVNULL,
                                   capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as error:
        return f"bwrap could not run: {error}"
    finally:
        for fd in (write_end, read_end, env_fd):
            os.close(fd)
    if completed.returncode != 0:
        text = (completed.stderr or b"").decode(errors="replace").strip().splitlines()
        return f"bwrap does not work here: {text[-1] if text else f'exit {completed.returncode}'}"
    return None


def unnamed_file() -> int:
    """A descriptor of a new file without a name (gone with its last descriptor)."""
    try:
        return os.memfd_create("environment")
    except (AttributeError, OSError):
        import tempfile

        with tempfile.TemporaryFile() as file:
            return os.dup(file.fileno())


def write_environment(fd: int, env: dict[str, str]) -> None:
    """Put `env` in the file `fd` for the init (NAME=VALUE\\0...), to be read from its start."""
    data = b"".join(f"{name}={value}".encode("utf-8", "surrogateescape") + b"\0" for name, value in env.items())
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)


def _own_folders(program: str) -> list[str]:
    """Folders outside the system that `program` needs: this Python's prefixes, else the program's tree."""
    found = program if os.sep in program else (shutil.which(program) or program)
    real = os.path.realpath(found)
    folders = []
    if real == os.path.realpath(sys.executable):
        folders += [sys.base_prefix, sys.prefix, os.path.dirname(os.path.abspath(sys.executable))]
    folders.append(os.path.dirname(os.path.dirname(real)))
    # A virtualenv's python is a link to the system's: the environment is the folder of the path as named
    # (blind 19: Twisted, gevent, trio servers run by /path/venv/bin/python could not start).
    named_root = os.path.dirname(os.path.dirname(os.path.abspath(found)))
    if os.path.isfile(os.path.join(named_root, "pyvenv.cfg")):
        folders.append(named_root)
    kept: list[str] = []
    for folder in sorted({os.path.realpath(f) for f in folders} | {os.path.abspath(f) for f in folders}):
        if folder in ("/", "") or any(folder == s or folder.startswith(s + "/") for s in SYSTEM):
            continue
        if os.path.isdir(folder) and not any(folder.startswith(k + "/") for k in kept):
            kept.append(folder)
    return kept


def interpreter_folders() -> list[str]:
    """The folders every sandboxed server sees for the harness's own interpreter (read-only)."""
    return _own_folders(sys.executable)


def _parents(folder: str) -> list[str]:
    parts = Path(folder).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def command(bwrap: str, workdir: Path, copy: Path | None, argv: list[str], uid: int | None,
            tmpfs_mib: int | None) -> list[str]:
    """The bwrap command line that runs `argv` as described in the rules above; bwrap is
    started with two extra descriptors: the `write_environment()` file and the status pipe's write end."""
    as_root = os.geteuid() == 0
    args = [bwrap, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--as-pid-1"]
    if not as_root:
        args.append("--unshare-user")
    for folder in SYSTEM:
        if os.path.islink(folder):
            args += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            args += ["--ro-bind", folder, folder]
    size = ["--size", str(tmpfs_mib * 1024 * 1024)] if tmpfs_mib else []
    args += ["--proc", "/proc", "--dev", "/dev"]
    for temporary in ("/tmp", "/var/tmp", "/dev/shm"):  # sticky and writable by all, as on any system
        args += [*size, "--perms", "1777", "--tmpfs", temporary]
    own = interpreter_folders()  # the init's interpreter
    binds = own + [f for f in _own_folders(argv[0]) if f not in own] + ([str(workdir)] if str(workdir) != "/" else [])
    made: set[str] = set()
    for folder in binds:
        for parent in _parents(folder):
            if parent not in made and not any(parent == s or parent.startswith(s + "/") for s in SYSTEM):
                made.add(parent)
                args += ["--perms", "0755", "--dir", parent]
        args += ["--ro-bind", folder, folder]
    if copy is not None:
        args += ["--bind", str(copy), str(copy)]  # the init enters it, as the server's uid
    args += ["--cap-drop", "ALL"]
    if as_root and uid is not None:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]  # the init's, gone with its uid switch
    init = os.path.realpath(sys.executable)
    args += ["--", init, "-I", "-S", "-c", INIT, str(uid if as_root and uid is not None else -1),
             str(copy or ""), "--", *argv]
    return args


class SandboxedProcess:
    """The server's own process inside its sandbox, in the shape of `subprocess.Popen` the launcher uses."""

    def __init__(self, outer: subprocess.Popen, status_fd: int, find_within: float = 10.0) -> None:
        self.outer = outer
        self.returncode: int | None = None
        self._status_fd = status_fd
        self._init_pid: int | None = None
        self.pid = self._find_server(find_within)

    def _find_server(self, within: float) -> int:
        """The server's host pid: the child of the sandbox's init (itself the child of bwrap)."""
        deadline = time.monotonic() + within
        delay = 0.0005
        while time.monotonic() < deadline and self.outer.poll() is None:
            children = processes.children_by_parent()
            inits = children.get(self.outer.pid, [])
            if inits:
                self._init_pid = inits[0]
                servers = sorted(children.get(inits[0], []))
                if servers:
                    return servers[0]
            time.sleep(delay)
            delay = min(delay * 2, 0.01)
        return self.outer.pid  # bwrap failed (or nothing started): its own exit tells

    @property
    def init_pid(self) -> int | None:
        """The sandbox's init (host view): every process of the instance descends from it."""
        return self._init_pid

    def poll(self) -> int | None:
        if self.returncode is None:
            self._read_status(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.outer.args, timeout or 0)
            self._read_status(0.05 if left is None else min(left, 0.05))
        self.reap_helpers()
        return self.returncode  # type: ignore[return-value]

    def _read_status(self, timeout: float) -> None:
        if self._status_fd < 0:
            return
        try:
            ready, _, _ = select.select([self._status_fd], [], [], timeout)
        except (OSError, ValueError):
            ready = [self._status_fd]
        if not ready:
            if self.pid == self.outer.pid and self.outer.poll() is not None:
                self.returncode = self.outer.returncode
            return
        data = os.read(self._status_fd, 64)
        if data.strip():
            self.returncode = os.waitstatus_to_exitcode(int(data.split()[0]))
        else:  # the init is gone without a word: the namespace was killed, the server with it
            self.outer.poll()
            self.returncode = -9 if self.pid != self.outer.pid else (self.outer.returncode or -9)
        os.close(self._status_fd)
        self._status_fd = -1

    def reap_helpers(self) -> None:
        """Collect bwrap, and the init if it became our child (we are a subreaper)."""
        self.outer.poll()
        if self._init_pid is not None:
            try:
                os.waitpid(self._init_pid, os.WNOHANG)
            except ChildProcessError:
                pass

    def send_signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def kill(self) -> None:
        os.kill(self.pid, 9)

    def __del__(self) -> None:
        if getattr(self, "_status_fd", -1) >= 0:
            try:
                os.close(self._status_fd)
            except OSError:
                pass
