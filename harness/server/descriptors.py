"""What a server holds open: its processes' descriptors, and its clients' connections that no process of it
has open any more but that it never closed.

Rule (blind 16, S4): a descriptor sent over a UNIX socket and never received is "in flight": it is in no
process's descriptor table, yet the socket stays open. A server that parked every accepted connection that
way held 2,040 sockets while the leak check counted none. A TCP connection the client closed and the server
did not stays in CLOSE_WAIT on the server's port: each such socket that none of the server's descriptors
refers to is counted too (one held open by a descriptor is counted once, as that descriptor). In a private
network namespace, every socket no process holds is counted instead (`harness.system.netns_sockets`): it
also sees a connection shut down before it was parked, which leaves no CLOSE_WAIT socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.system import sockdiag
from harness.system.netns_sockets import unheld_sockets
from harness.system.probe import socket_inodes

if TYPE_CHECKING:
    from harness.server.launcher import ServerProcess

CLOSE_WAIT = 1 << 8


def held_descriptors(instance: ServerProcess, in_flight: bool = True) -> int:
    """The server's open descriptors plus the sockets held where no descriptor shows: its closed clients'
    connections, and in a private network namespace every socket no process holds (in flight). Without
    `in_flight`, the namespace's count is left out: it may be off by a socket being made or closed that
    moment, which a wait for an exact figure (the server closed one connection) cannot afford."""
    pids = instance.pids()
    count = instance.probe.open_fds(pids)
    unheld = unheld_sockets() if in_flight else None
    if unheld is not None:  # (this counts the CLOSE_WAIT ones below too, and those a shutdown() left none of)
        return count + unheld
    if instance.endpoint is None or instance.spec.transport != "tcp":
        return count
    try:
        waiting = [s.inode for s in sockdiag.dump("tcp", CLOSE_WAIT) if s.local_port == instance.endpoint.port]
    except (OSError, AttributeError):
        return count
    if not waiting:
        return count
    return count + len(set(waiting) - socket_inodes(pids))

