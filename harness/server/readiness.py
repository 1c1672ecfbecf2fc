"""When a starting server is ready, and on which port: read from the kernel, never by connecting.

Rules (no pytest, no processes started here; `harness.server.launcher` is the caller):
- The assigned port is drawn at random outside the kernel's ephemeral range,
  clear of every socket in use: binding port 0 and closing would race against
  clients' ephemeral ports.
- Port, in order: the fixed `--port`; the assigned port if the server listens
  on it; else the port the server (or a child) really listens on — "discovered".
  A listener on another port does not end the wait at once: the server was
  given its port (`{port}`, `$PORT`), and may open a status port first, or a
  decoy to be graded on. The assigned port is waited for `ASSIGNED_PORT_GRACE`
  more (never past the startup timeout); only then is the other port taken.
- A server holding its assigned port with the other transport (a UDP server
  run as a TCP one) is told so after `OTHER_TRANSPORT_GRACE`, not at the timeout.
- The server is gone (exited before it listened) only when its first process
  has exited and two scans in a row find no process of its tree.
- The harness only talks to loopback: a listener elsewhere is the server's error.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import NamedTuple

from harness.deadline import Deadline, poll_until
from harness.system.probe import SystemProbe
from harness.system.sockdiag import SocketInfo

ASSIGNED_PORT_RANGE = (20000, 32000)  # below Linux's ephemeral range (32768-60999)
#: How long a server may hold its assigned port with the other transport (a
#: UDP socket for a TCP run) before it is taken as a server of that transport.
OTHER_TRANSPORT_GRACE = 0.3
#: How long, once the server listens on another port, it may still take to
#: listen on its assigned port (a status port opened before a slow start).
ASSIGNED_PORT_GRACE = 2.0


class Listening(NamedTuple):
    """Where the server listens: the sockets to use, the port's source
    ("fixed", "assigned" or "discovered"), and since when (time.monotonic()):
    a discovered port was ready before the grace for the assigned one ran out."""

    sockets: list[SocketInfo]
    source: str
    since: float


class ExitedEarly(Exception):
    """The server's whole tree is gone, and it never listened."""


class WrongTransport(Exception):
    """The server holds its assigned port with the other transport."""

    def __init__(self, sockets: list[SocketInfo]) -> None:
        super().__init__(sockets)
        self.sockets = sockets


class NotListening(Exception):
    """The startup timeout passed; `seen_other`: what the server listened on instead."""

    def __init__(self, seen_other: list[SocketInfo]) -> None:
        super().__init__(seen_other)
        self.seen_other = seen_other


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


def wait_until_listening(probe: SystemProbe, transport: str, port: int, fixed: bool,
                         pids: Callable[[bool], list[int]], exited: Callable[[], bool],
                         deadline: Deadline,
                         assigned_port_grace: float = ASSIGNED_PORT_GRACE) -> Listening:
    """Poll the server's tree until it listens.

    `pids(with_token)` lists the server's live tree, `exited()` says whether
    its first process has exited. A port other than `port` is taken only once
    the server has listened there `assigned_port_grace` s without listening on
    `port`, or at the deadline. Raises `ExitedEarly`, `WrongTransport` or, at
    the deadline, `NotListening`.
    """
    seen_other: list[SocketInfo] = []
    empty_scans = 0
    other_since = 0.0
    elsewhere: list[SocketInfo] = []  # listening on another port, waited out below
    elsewhere_since = 0.0

    def ready() -> Listening | None:
        nonlocal seen_other, empty_scans, other_since, elsewhere, elsewhere_since
        has_exited = exited()
        found = pids(has_exited) or pids(True)
        if not found:
            # Gone only when its first process is reaped and two scans in a
            # row find nothing: a daemon mid-double-fork can slip through
            # one scan (its parent exits between the process listing and the
            # read of its child), and a zombie first process is not gone yet.
            empty_scans = empty_scans + 1 if has_exited else 0
            if empty_scans >= 2:
                raise ExitedEarly()
            return None
        empty_scans = 0
        sockets = probe.bound_sockets(found, transport)
        wanted = [s for s in sockets if s.local_port == port]
        if wanted:
            return Listening(wanted, "fixed" if fixed else "assigned", time.monotonic())
        if sockets and not fixed:
            elsewhere, elsewhere_since = sockets, elsewhere_since or time.monotonic()
            if time.monotonic() - elsewhere_since >= assigned_port_grace:
                return Listening(sockets, "discovered", elsewhere_since)
            return None  # it may still take its assigned port: a status port came first
        elsewhere, elsewhere_since = [], 0.0
        seen_other = sockets + probe.bound_sockets(found, "udp" if transport == "tcp" else "tcp")
        if any(s.local_port == port and s.transport != transport for s in seen_other):
            other_since = other_since or time.monotonic()
            if time.monotonic() - other_since >= OTHER_TRANSPORT_GRACE:
                raise WrongTransport(seen_other)  # it will not change its mind: say so now
        return None

    # ~0.1 ms a poll: poll often at first (most servers listen within
    # 100 ms), then back off gently for slow starters.
    result = poll_until(ready, deadline, interval=0.002, max_interval=0.02)
    if result:
        return result
    if elsewhere:  # the startup timeout cut the grace short
        return Listening(elsewhere, "discovered", elsewhere_since)
    raise NotListening(seen_other)


def not_listening_message(transport: str, port: int, timeout: float, seen_other: list[SocketInfo],
                          port_assigned: bool, exit_description: str | None) -> str:
    """Why startup timed out; `exit_description`: how its first process ended, if it did."""
    kind = transport.upper()
    message = f"the server did not listen on {kind} port {port} within {timeout:g} s"
    if seen_other:
        message += "; it listens on " + ", ".join(sorted({s.describe() for s in seen_other})) + " instead"
    else:
        message += "; it listens on no port at all"
    if port_assigned:
        message += " (the port is given as {port} in its arguments and as $PORT in its environment)"
    if exit_description is not None:  # its children linger, e.g. after a fork bomb
        message += f"; its first process exited ({exit_description})"
    return message


def wrong_transport_message(transport: str, port: int, sockets: list[SocketInfo]) -> str:
    """The server took its assigned port with the other transport: a UDP
    server run as tcp-echo (the default), or a TCP one run as udp-echo."""
    kind, other = transport.upper(), ("UDP" if transport == "tcp" else "TCP")
    protocols = "--protocol udp-echo (udp-hello for the greeting server)" if other == "UDP" else \
        "--protocol tcp-echo (or tcp-framed, tcp-hello, tcp-file)"
    where = ", ".join(sorted({s.describe() for s in sockets}))
    return (f"the server did not listen on {kind} port {port}: it listens on {where} "
            f"instead, as a {other} server does; check it with {protocols}")


def not_loopback_message(sockets: list[SocketInfo]) -> str:
    described = ", ".join(s.describe() for s in sockets)
    return (f"the server listens on {described}, which is not a loopback address; "
            "the harness only talks to loopback (bind 127.0.0.1, ::1, 0.0.0.0 or ::)")
