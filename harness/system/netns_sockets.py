"""Sockets of this private network namespace that no process holds a descriptor of: in flight.

Rule (blind 16): a descriptor sent over a UNIX socket and never received is in
no process's descriptor table, yet its socket lives on. A server that first
shut each connection down (shutdown(SHUT_RDWR)) leaves no CLOSE_WAIT socket
on its port to show it. The kernel counts the namespace's sockets
(/proc/net/sockstat, "sockets: used"); the processes in the namespace (the
harness's test process, its servers) hold descriptors of some of them; the
rest are held by no one we can see. Told only in a private namespace (the
machine's own holds every other program's sockets).
"""

from __future__ import annotations

import os

from harness.system import isolation
from harness.system.probe import socket_inodes


def unheld_sockets() -> int | None:
    """How many sockets of this process's private network namespace no process in it holds, or None where
    that cannot be told (not a private namespace, not Linux)."""
    if not isolation.inside():
        return None
    try:
        namespace = os.readlink("/proc/self/ns/net")
        with open("/proc/self/net/sockstat") as f:
            used = int(f.readline().split()[2])  # "sockets: used N"
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except (OSError, ValueError, IndexError):
        return None
    members = []
    for pid in pids:
        try:
            if os.readlink(f"/proc/{pid}/ns/net") == namespace:
                members.append(pid)
        except OSError:
            continue
    return max(0, used - len(socket_inodes(members)))
