"""A private network namespace for a test process, its clients and its servers.

Rules:
- Whoever talks to the server (clients, the sock_diag/`/proc` probe) must be
  in the server's network namespace, so the *test process* enters a fresh one
  before it starts any server, and its servers inherit it. With xdist each
  worker enters its own (`python -m harness.system.isolation` wraps the worker's
  interpreter), so servers hard-coding the same port never meet.
- Only loopback exists there; it starts down and is brought up here. Nothing
  can leave the machine, and the harness never tries to prove it by sending.
- Root unshares the network alone (the servers then run as unprivileged uids,
  `harness.system.sandbox`); anybody else unshares a user namespace too, mapping their
  own uid and gid to themselves (no new rights survive exec into the server).
- `unshare(CLONE_NEWUSER)` needs a single-threaded process: enter before any
  thread starts. Unavailable (no user namespaces, seccomp) means: a note, and
  the run goes on in the host's namespace.
- Ports below 1024 are opened to unprivileged servers inside the namespace.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import shlex
import socket
import struct
import sys
import threading

from harness.system.python_path import harness_python

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
#: Holds the pid of the process that entered a private namespace (children re-enter their own).
MARK = "HARNESS_NETNS_PID"


def max_user_namespaces() -> str:
    """The kernel's limit on user namespaces (0: none may be created), as it
    says it; "unknown" where it does not (not Linux)."""
    try:
        with open("/proc/sys/user/max_user_namespaces") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


class IsolationUnavailable(OSError):
    """The system does not let this user create a network namespace."""


def inside() -> bool:
    """Did this very process (not a parent) enter a private namespace?"""
    return os.environ.get(MARK) == str(os.getpid())


def enter() -> None:
    """Move this process into a fresh network namespace with loopback up."""
    if inside():
        return
    uid, gid = os.getuid(), os.getgid()
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "unshare"):
        raise IsolationUnavailable("this system has no unshare(2)")
    attempts = [CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET] if uid == 0 else [CLONE_NEWUSER | CLONE_NEWNET]
    error = 0
    for flags in attempts:
        if flags & CLONE_NEWUSER and threading.active_count() > 1:
            raise IsolationUnavailable("a user namespace needs a single-threaded process")
        if libc.unshare(flags) == 0:
            if flags & CLONE_NEWUSER:
                _map_self(uid, gid)
            break
        error = ctypes.get_errno()
    else:
        raise IsolationUnavailable(f"unshare: {os.strerror(error)}")
    bring_up_loopback()
    _open_low_ports()
    os.environ[MARK] = str(os.getpid())


_WORKS: list[str | None] = []


def unavailable_reason() -> str | None:
    """Why a fresh process could not enter a namespace here, or None if it can.

    Tried once, in a forked child that exits at once (the caller's namespaces
    are untouched); the answer is cached for the process.
    """
    if not _WORKS:
        _WORKS.append(_try_in_child())
    return _WORKS[0]


def _try_in_child() -> str | None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: try, report one line, leave without cleanup handlers
        code = 0
        try:
            os.close(read_end)
            enter()
        except BaseException as error:  # noqa: BLE001 - any failure means "unavailable"
            os.write(write_end, str(error).encode()[:500])
            code = 1
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        message = f.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    return None if os.waitstatus_to_exitcode(status) == 0 else (message or "unshare failed")


def _map_self(uid: int, gid: int) -> None:
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1\n")
    try:
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
    except OSError:
        pass
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1\n")


def bring_up_loopback() -> None:
    """`ip link set lo up`, without needing ip(8)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, SIOCGIFFLAGS, request)[:18])[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


def _open_low_ports() -> None:
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start", "w") as f:
            f.write("0")
    except OSError:
        pass


def interfaces() -> list[str]:
    """The network interfaces this process sees (from /proc/net/dev)."""
    with open("/proc/net/dev") as f:
        return [line.split(":", 1)[0].strip() for line in f.read().splitlines()[2:] if ":" in line]


def worker_python() -> str:
    """The `python=` of an xdist popen spec that starts the worker in its own namespace."""
    return shlex.join([*harness_python(), "-m", "harness.system.isolation"])


def main() -> None:
    """`python -m harness.system.isolation PYTHON_ARGS...`: enter, then become `python PYTHON_ARGS...`."""
    try:
        enter()
    except OSError as error:
        print(f"note: network isolation unavailable ({error}); this worker shares the host's network", file=sys.stderr)
    os.execv(sys.executable, [*harness_python(), *sys.argv[1:]])


if __name__ == "__main__":
    main()
