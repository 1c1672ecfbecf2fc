"""Where a UDP server's replies go: the diagnosis of "replies to a remembered address".

A classic UDP bug keeps the address of the first client (`client = addr` once)
and answers every later datagram there. The client that is not the first sees
plain silence; the evidence is elsewhere: at the first client's address.

Rules:
- The local address of the first client that got a reply is remembered per
  run and server port (`answered`).
- When a later client gets no reply, `diagnose` binds a socket to that
  remembered address again (loopback only, and only if it is free: the first
  client has closed), resends the unanswered datagram from the silent client
  and listens briefly. A datagram from the server arriving there is the
  evidence; nothing else names the bug.
- Cost: at most `PROBES` probes per run, each at most `PROBE_SECONDS`; a
  positive finding is kept, and later silences refer to it without probing.
"""

from __future__ import annotations

import selectors
import socket
from dataclasses import dataclass

from harness.deadline import Deadline

#: Probes per run (each costs at most PROBE_SECONDS; a server that answered once and then fell silent).
PROBES = 1
PROBE_SECONDS = 0.6
#: When the silent client resends its datagram during a probe (s after the probe starts).
PROBE_SENDS = (0.0, 0.2)
LOOPBACK = ("127.0.0.1", "::1")


@dataclass
class Finding:
    """The server's reply to `silent` (the client that got nothing) went to `first`."""

    first: tuple[str, int]
    silent: tuple[str, int]


_first_answered: dict[tuple[str, int], tuple[str, int]] = {}
_findings: dict[tuple[str, int], Finding] = {}
_probes_left = PROBES


def answered(server: tuple, client: tuple) -> None:
    """A reply from `server` reached the client socket bound at `client`: remember the first such client."""
    key = (str(server[0]), int(server[1]))
    if key not in _first_answered:
        _first_answered[key] = (str(client[0]), int(client[1]))


def hint(finding: Finding) -> str:
    host, port = finding.first
    return (f"\nhint: the reply went to {host}:{port}, the first client's address, not to this client's "
            f"({finding.silent[0]}:{finding.silent[1]}): the server answers a remembered address. Answer each "
            "datagram with sendto(data, addr), the address recvfrom() returned with that same datagram")


def known(server: tuple) -> Finding | None:
    """The finding of an earlier probe against `server`, if one found the bug."""
    return _findings.get((str(server[0]), int(server[1])))


def diagnose(server: tuple, silent: socket.socket, datagram: bytes) -> Finding | None:
    """Whether the server answers `datagram`, sent from the silent client, at the remembered first
    client's address (see the module's rules); None when there is no such evidence."""
    global _probes_left
    key = (str(server[0]), int(server[1]))
    if key in _findings:
        return _findings[key]
    first = _first_answered.get(key)
    try:
        here = silent.getsockname()
    except OSError:
        return None
    if first is None or _probes_left <= 0 or first[0] not in LOOPBACK or (here[0], here[1]) == first:
        return None
    try:
        listener = socket.socket(silent.family, socket.SOCK_DGRAM)
    except OSError:
        return None
    with listener:
        try:
            listener.bind(first)  # free only once the first client has closed
        except OSError:
            return None
        _probes_left -= 1
        listener.setblocking(False)
        if _heard_there(listener, silent, key, datagram):
            _findings[key] = Finding(first, (str(here[0]), int(here[1])))
            return _findings[key]
    return None


def _heard_there(listener: socket.socket, silent: socket.socket, server: tuple[str, int], datagram: bytes) -> bool:
    """Resend from `silent` (at PROBE_SENDS) and listen on `listener` for a datagram from the server."""
    deadline = Deadline(PROBE_SECONDS)
    with selectors.DefaultSelector() as sel:
        sel.register(listener, selectors.EVENT_READ)
        for index, at in enumerate(PROBE_SENDS):
            try:
                silent.send(datagram)
            except OSError:
                return False
            until = PROBE_SENDS[index + 1] if index + 1 < len(PROBE_SENDS) else PROBE_SECONDS
            step = Deadline(max(0.0, until - at), deadline.start + at)
            while sel.select(step.remaining()):
                try:
                    _, source = listener.recvfrom(65536 + 1)
                except BlockingIOError:
                    continue
                except OSError:
                    return False
                if (str(source[0]), int(source[1])) == server:
                    return True
    return False
