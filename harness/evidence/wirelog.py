"""The wire log: what moved on each client socket during one check, and when.

Rules:
- One log per check, on one clock (`time.monotonic()`, shown as seconds since
  the check began). The plugin starts it before a check runs and turns it into
  report data only when the check did not pass; a passing check's log is
  dropped, so reports of passing runs do not grow.
- The clients (harness.clients: connection, udp, crowd, udp_crowd,
  reply_reader) record through one `Wire` per connection or UDP socket: each
  event appends one tuple, nothing more on the hot path. Without a log (outside a check: benchmarks, unit
  tests) they get `NO_WIRE`, whose methods do nothing.
- What is recorded: connect (or refused), each write the harness made (size,
  first bytes, its place in a segmentation plan), each chunk received (size,
  first bytes, where it starts in that connection's received stream), a read
  that waited in vain (silence), FIN and RST both ways, the server's exit when
  seen, and the harness's notes (e.g. how a stream was cut).
- Bounded: the first `HEAD_EVENTS` and the last `TAIL_EVENTS` events are
  kept (the rest counted), at most `HEAD_BYTES` bytes of data each. The report
  keeps less (`snapshot`): the connections that matter (`MAX_LANES`) and at
  most `MAX_REPORTED` of their events.
- The verdict point ("the first differing byte is here") is derived from the
  evidence a check already gives — the expected and received bytes of its
  `CheckFailed` — so no check has to know about this log (`locate_verdict`).

The JSON shape is documented in docs/report.md ("wire").
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from harness.evidence.bytesdiff import first_difference

#: Bytes of data kept per event.
HEAD_BYTES = 16
#: Events kept from the start of a check, and from its end.
HEAD_EVENTS = 512
TAIL_EVENTS = 3584
#: In the report: connections (lanes) and events kept for a failing check.
MAX_LANES = 4
MAX_REPORTED = 400
REPORTED_HEAD = 60

# Event kinds (the JSON's "kind").
CONNECT = "connect"          # the client's connection is established (TCP) / its socket exists (UDP)
REFUSED = "refused"          # connect refused, or ICMP port unreachable (UDP)
SEND = "send"                # one write by the client
SEND_FAILED = "send-failed"  # a write the kernel refused (EPIPE, ECONNRESET: the server is gone)
RECV = "recv"                # one chunk (TCP) or datagram (UDP) read by the client
SILENCE = "silence"          # a read waited until its deadline and nothing came
CLIENT_FIN = "client-fin"    # the client closed or half-closed (FIN)
CLIENT_RST = "client-rst"    # the client aborted (RST: SO_LINGER 0, or closed with unread data)
SERVER_FIN = "server-fin"    # the server closed its side (recv() returned b"")
SERVER_RST = "server-rst"    # the server reset the connection
SERVER_EXIT = "server-exit"  # the server process was seen to have exited
NOTE = "note"                # the harness's own annotation (how a stream was cut)
GAP = "gap"                  # in a report only: events left out here

INBOUND = frozenset({RECV, SILENCE, SERVER_FIN, SERVER_RST, REFUSED, SEND_FAILED})
#: What can end a wait for a reply: where a missing byte is "seen".
ENDINGS = frozenset({SILENCE, SERVER_FIN, SERVER_RST, REFUSED, SEND_FAILED})

# One event: (time, connection id or None, kind, size, first bytes, extra).
# extra: SEND -> segment "i/n" or None; RECV -> offset of the chunk in the
# connection's received stream; NOTE / SERVER_EXIT / CLIENT_FIN -> text.
Event = tuple[float, "int | None", str, int, bytes, Any]


class Wire:
    """The recorder of one connection (or UDP socket)."""

    __slots__ = ("log", "id", "received")

    def __init__(self, log: WireLog, conn_id: int) -> None:
        self.log = log
        self.id = conn_id
        self.received = 0  # bytes received so far: where the next chunk starts

    def connected(self, port: int | None) -> None:
        self.log.connections[self.id - 1]["port"] = port
        self.log.add((time.monotonic(), self.id, CONNECT, 0, b"", port))

    def refused(self, why: str = "") -> None:
        self.log.add((time.monotonic(), self.id, REFUSED, 0, b"", why or None))

    def sent(self, data: bytes | memoryview, segment: str | None = None) -> None:
        self.log.add((time.monotonic(), self.id, SEND, len(data), bytes(data[:HEAD_BYTES]), segment))

    def got(self, data: bytes) -> None:
        self.log.add((time.monotonic(), self.id, RECV, len(data), data[:HEAD_BYTES], self.received))
        self.received += len(data)

    def silence(self) -> None:
        self.log.add((time.monotonic(), self.id, SILENCE, 0, b"", None))

    def event(self, kind: str, text: str | None = None) -> None:
        """FIN/RST either way, with an optional word (e.g. "half-close")."""
        self.log.add((time.monotonic(), self.id, kind, 0, b"", text))

    def misdelivered(self, origin: Wire | None) -> None:
        """The chunk just received belongs to another client (`origin`'s bytes)."""
        self.log.misdeliveries.append((self.log.total - 1, self.id, origin.id if origin is not None else None))


class _NoWire:
    """What the helpers record into outside a check: nothing."""

    id = None
    received = 0

    def connected(self, port: int | None) -> None: ...
    def refused(self, why: str = "") -> None: ...
    def sent(self, data: bytes | memoryview, segment: str | None = None) -> None: ...
    def got(self, data: bytes) -> None: ...
    def silence(self) -> None: ...
    def event(self, kind: str, text: str | None = None) -> None: ...
    def misdelivered(self, origin: object) -> None: ...


NO_WIRE = _NoWire()


@dataclass
class WireLog:
    """Every event of one check, bounded."""

    started: float = field(default_factory=time.monotonic)
    connections: list[dict[str, Any]] = field(default_factory=list)
    head: list[Event] = field(default_factory=list)
    tail: deque[Event] = field(default_factory=lambda: deque(maxlen=TAIL_EVENTS))
    total: int = 0
    #: Connections labelled by the log ("client 1", "client 2", ...) so far.
    unnamed: int = 0
    #: (event number, receiving connection, origin connection) of each misdelivered chunk, first first.
    misdeliveries: list[tuple[int, int, int | None]] = field(default_factory=list)

    def add(self, event: Event) -> None:
        if self.total < HEAD_EVENTS:
            self.head.append(event)
        else:
            self.tail.append(event)
        self.total += 1

    def connection(self, transport: str, label: str | None = None) -> Wire:
        conn_id = len(self.connections) + 1
        if label is None:
            self.unnamed += 1
            label = f"client {self.unnamed}"
        self.connections.append({"id": conn_id, "transport": transport, "label": label, "port": None})
        return Wire(self, conn_id)

    def numbered(self) -> list[tuple[int, Event]]:
        """The kept events with their numbers in the whole log (a gap where events were dropped)."""
        tail_start = self.total - len(self.tail)
        return list(enumerate(self.head)) + [(tail_start + i, e) for i, e in enumerate(self.tail)]


# -- the current check's log ---------------------------------------------------------
_current: WireLog | None = None


def start() -> WireLog:
    """A fresh log for the check about to run."""
    global _current
    _current = WireLog()
    return _current


def stop() -> WireLog | None:
    """The log of the check that just ran (and no current log any more)."""
    global _current
    log, _current = _current, None
    return log


def connection(transport: str, label: str | None = None) -> Wire | _NoWire:
    """The recorder for a new connection of the current check (NO_WIRE outside a check)."""
    return _current.connection(transport, label) if _current is not None else NO_WIRE


def note(text: str) -> None:
    """Annotate the current check's log (e.g. how the next sends are cut)."""
    if _current is not None:
        _current.add((time.monotonic(), None, NOTE, 0, b"", text))


def server_exited(log: WireLog, description: str) -> None:
    """The server was seen to have exited (recorded when the plugin notices it)."""
    log.add((time.monotonic(), None, SERVER_EXIT, 0, b"", description))


# -- the verdict point -------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """Where the check's evidence points in the log."""

    event: int | None            # the event's number in the log, if it was kept
    conn: int | None
    reply_offset: int | None     # first differing byte, counted in the check's received bytes
    chunk_offset: int | None     # ...and inside the chunk that carried it (None: the byte never came)
    expected: int | None         # the byte values there (None: past an end)
    received: int | None


def locate_verdict(log: WireLog, expected: bytes | None, received: bytes | None,
                   connection: int | None = None, trailing: int = 0) -> Verdict | None:
    """The first differing byte of a failed check, found in the log.

    Which connection: `connection` when the failure names it (a crowd's failing copy); else the one
    the first misdelivery was recorded on; else the latest
    one that sent bytes `expected` starts with (an echo's, a crowd client's);
    else the latest with something inbound. Which event: the bytes `received`
    are the end of that connection's received stream but for `trailing` bytes (None: nothing came), so
    the first difference at offset d of `received` is byte (stream length - trailing - len(received) + d)
    of it — a received chunk. When `received` stops short of `expected`, the
    missing byte is "seen" at the first silence, FIN or RST after that
    connection's last write (or, with none, at its last chunk: a datagram cut short).
    """
    events = log.numbered()
    if not events:
        return None
    named = connection is not None and any(e[1] == connection for _, e in events)
    conn = connection if named else _blamed_connection(log, events, expected)
    if conn is None or expected is None:
        return Verdict(None, conn, None, None, None, None)
    if received is None:  # nothing at all came (a datagram never answered)
        received = b""
    offset = first_difference(expected, received)
    if offset is None:
        return None
    wire_total = _received_total(events, conn)
    expected_byte = expected[offset] if offset < len(expected) else None
    if offset < len(received):
        position = wire_total - trailing - len(received) + offset
        for number, (_, c, kind, size, _, start) in events:
            if c == conn and kind == RECV and start <= position < start + size:
                return Verdict(number, conn, offset, position - start, expected_byte, received[offset])
        return Verdict(None, conn, offset, None, expected_byte, received[offset])
    last_send = max((n for n, e in events if e[1] == conn and e[2] == SEND), default=-1)
    after = [(n, e[2]) for n, e in events if n > last_send and e[1] == conn]
    ending = next((n for n, kind in after if kind in ENDINGS), None)
    if ending is None:  # the check stopped at the short reply itself (a datagram cut short)
        ending = next((n for n, kind in reversed(after) if kind == RECV), None)
    return Verdict(ending, conn, offset, None, expected_byte, None)


def _blamed_connection(log: WireLog, events: list[tuple[int, Event]], expected: bytes | None) -> int | None:
    if log.misdeliveries:
        return log.misdeliveries[0][1]
    if expected:
        for _, (_, conn, kind, size, head, _) in reversed(events):
            if kind == SEND and conn is not None and head and expected.startswith(head[: min(size, len(expected))]):
                return conn
    for _, (_, conn, kind, *_rest) in reversed(events):
        if conn is not None and kind in INBOUND:
            return conn
    return next((e[1] for _, e in reversed(events) if e[1] is not None), None)


def _received_total(events: list[tuple[int, Event]], conn: int) -> int:
    """How many bytes `conn` received in all (from its last kept chunk)."""
    for _, (_, c, kind, size, _, start) in reversed(events):
        if c == conn and kind == RECV:
            return start + size
    return 0


# -- report data -----------------------------------------------------------------------
def snapshot(log: WireLog, expected: bytes | None = None, received: bytes | None = None,
             connection: int | None = None, trailing: int = 0) -> dict[str, Any]:
    """The report's `wire` object: the connections that matter, their events, the verdict point
    (on `connection` when the failure names it; `trailing` bytes came after `received`)."""
    verdict = locate_verdict(log, expected, received, connection, trailing)
    events = log.numbered()
    last_seen: dict[int, int] = {}
    for number, event in events:
        if event[1] is not None:
            last_seen[event[1]] = number
    lanes: list[int] = []
    for conn in (verdict.conn if verdict else None, log.misdeliveries[0][2] if log.misdeliveries else None):
        if conn is not None and conn not in lanes:
            lanes.append(conn)
    for conn in sorted(last_seen, key=last_seen.__getitem__, reverse=True):
        if len(lanes) >= MAX_LANES:
            break
        if conn not in lanes:
            lanes.append(conn)
    scope = [(n, e) for n, e in events if e[1] is None or e[1] in lanes]
    positions = list(range(len(scope)))
    if len(scope) > MAX_REPORTED:
        positions = positions[:REPORTED_HEAD] + positions[-(MAX_REPORTED - REPORTED_HEAD):]
    hole = (len(log.head), log.total - len(log.tail))  # event numbers [from, to) dropped from memory
    out: list[dict[str, Any]] = []
    index_of: dict[int, int] = {}
    previous_position, previous_number = -1, -1
    for position in positions:
        number, event = scope[position]
        skipped = position - previous_position - 1
        if previous_number < hole[0] and number >= hole[1] > hole[0]:
            skipped += hole[1] - hole[0]
        if skipped:
            out.append({"t": _t(log, event[0]), "kind": GAP, "count": skipped})
        index_of[number] = len(out)
        out.append(_event_json(log, event))
        previous_position, previous_number = position, number
    for number, _, origin in log.misdeliveries:
        if number in index_of and origin is not None:
            out[index_of[number]]["from"] = origin
    connections = [c for c in log.connections if c["id"] in lanes]
    data: dict[str, Any] = {
        "connections": connections,
        "events": out,
        "end": _t(log, time.monotonic()),
    }
    hidden = len(log.connections) - len(connections)
    if hidden:
        data["connections_not_shown"] = hidden
    dropped = log.total - len(log.head) - len(log.tail)
    if dropped:
        data["events_not_kept"] = dropped
    if verdict is not None:
        data["verdict"] = {
            "event": index_of.get(verdict.event) if verdict.event is not None else None,
            "conn": verdict.conn,
            "reply_offset": verdict.reply_offset,
            "chunk_offset": verdict.chunk_offset,
            "expected": verdict.expected,
            "received": verdict.received,
        }
    return data


def _t(log: WireLog, at: float) -> float:
    return round(at - log.started, 4)


def _event_json(log: WireLog, event: Event) -> dict[str, Any]:
    at, conn, kind, size, head, extra = event
    data: dict[str, Any] = {"t": _t(log, at), "kind": kind}
    if conn is not None:
        data["conn"] = conn
    if kind in (SEND, RECV):
        data["size"] = size
        data["head"] = head.hex()
        if kind == SEND and extra:
            data["segment"] = extra
        if kind == RECV:
            data["offset"] = extra
    elif extra and kind != CONNECT:  # a connect's extra is its port, in the connections table
        data["text"] = str(extra)
    return data
