"""The server's accept queue, as the kernel reports it, to pace a crowd's connects.

Rule: a crowd never has more connections waiting in the server's accept queue
than the queue holds. Linux queues `backlog + 1` connections on a listening
socket (`listen(1)` holds 2, `listen(5)` 6) and silently drops SYNs past
that; the client retries after 1 s, 3 s, 7 s, which reads as a slow or dead
server, not as the correct server it is. sock_diag gives, for each LISTEN
socket, the connections waiting (`rqueue`) and the backlog (`wqueue`), so the
crowd admits at most `min(WINDOW, backlog + 1)` at a time — students do write
`listen(1)`, and `busybox nc -ll` listens with a backlog of 2.

Where the kernel cannot be asked (psutil platforms), callers get None and
connect in small batches instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from harness.deadline import Deadline, poll_until
from harness.system import sockdiag

#: At most this many connections waiting in the accept queue at once, whatever the backlog.
WINDOW = 4


@dataclass(frozen=True)
class QueueState:
    """One look at the listening socket(s) of a port."""

    waiting: int  # connections accepted by the kernel, not yet by the server
    holds: int = WINDOW  # how many the kernel queues before it drops SYNs (backlog + 1)

    @property
    def room(self) -> int:
        """Connects that may start now without overflowing the queue."""
        return min(WINDOW, self.holds) - self.waiting


AcceptQueue = Callable[[], QueueState]


def state_of(sockets: list[sockdiag.SocketInfo], port: int) -> QueueState:
    """The queue of `port` from a dump of LISTEN sockets: every listening socket
    of the port counted (IPv4 and IPv6, SO_REUSEPORT), the smallest backlog ruling."""
    mine = [s for s in sockets if s.local_port == port]
    if not mine:
        return QueueState(waiting=0)
    return QueueState(waiting=sum(s.rqueue for s in mine), holds=min(s.wqueue for s in mine) + 1)


def accept_queue_at(port: int) -> AcceptQueue | None:
    """A reader of `port`'s accept queue (a dump of LISTEN sockets, a few
    microseconds a look); None where sock_diag cannot be used."""
    if not sockdiag.available():
        return None
    return lambda: state_of(sockdiag.listening_tcp(), port)


def wait_for_accept_room(unaccepted: AcceptQueue | None, deadline: Deadline) -> bool:
    """Before one more connect: wait until the server's accept queue has room.
    False if it stayed full until the deadline (the server stopped accepting);
    True at once where the queue cannot be seen."""
    if unaccepted is None:
        return True
    return poll_until(lambda: unaccepted().room > 0, deadline, interval=0.0005, max_interval=0.005)
