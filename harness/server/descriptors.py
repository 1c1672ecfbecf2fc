"""What a server holds open: its processes' descriptors, and its clients' connections that no process of it
has open any more but that it never closed.

Rule (blind 16, S4): a descriptor sent over a UNIX socket and never received is "in flight": it is in no
process's descriptor table, yet the socket stays open. A server that parked every accepted connection that
way held 2,040 sockets while the leak check counted none. A TCP connection the client closed and the server
did not stays in CLOSE_WAIT on the server's port: each such socket that none of the server's descriptors
refers to is counted too (one held open by a descriptor is counted once, as that descriptor).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.system import sockdiag
from harness.system.probe import socket_inodes

if TYPE_CHECKING:
    from harness.server.launcher import ServerProcess

CLOSE_WAIT = 1 << 8


def held_descriptors(instance: ServerProcess) -> int:
    """The server's open descriptors plus its closed clients' connections held where no descriptor shows."""
    pids = instance.pids()
    count = instance.probe.open_fds(pids)
    if instance.endpoint is None or instance.spec.transport != "tcp":
        return count
    try:
        waiting = [s.inode for s in sockdiag.dump("tcp", CLOSE_WAIT) if s.local_port == instance.endpoint.port]
    except (OSError, AttributeError):
        return count
    if not waiting:
        return count
    return count + len(set(waiting) - socket_inodes(pids))

