"""The UDP client: one connected socket, datagrams with retries inside one reply timeout.

Rules:
- The socket is connected: the kernel drops datagrams from any other address,
  and an ICMP "port unreachable" (the server is gone) is seen at once.
- A datagram counts as lost only after `tries` sends, all within one reply
  timeout (`retry_offsets`): a lost datagram costs one reply timeout, not one
  per try. A try is never sent sooner than 1.5 times the slowest reply the
  run has seen: a slow server that answers every datagram in turn would
  answer each extra copy too, and the queue of copies would delay every later
  reply past its timeout (a false failure). The late copies of an answered
  datagram's reply are skipped, and waited for (bounded) before the next
  datagram and before the socket closes, for the same reason.
- Every wait is bounded by a `Deadline`; what moved is recorded in the
  check's wire log (`harness.evidence.wirelog`).
- Failures raise `CheckFailed` with what was expected and what arrived.
- An unanswered datagram is sent once more from an unconnected socket, to
  see whether the reply comes from another port (`reply_source`); once such a
  probe got no reply at all, later failures in the run skip it: the server is
  silent, and each probe would only wait out the same silence.
"""

from __future__ import annotations

import selectors
import socket
import time

from harness.clients import contact, reply_address
from harness.clients.patience import LATE_WINDOW, PATIENCE
from harness.deadline import Deadline
from harness.errors import CheckFailed
from harness.evidence import wirelog
from harness.evidence.bytesdiff import GAP_HINT, classic_mistake, describe_mismatch
from harness.server.launcher import Endpoint

#: socketserver.UDPServer.max_packet_size: a UDP reply cut to exactly this is that default.
SOCKETSERVER_MAX_PACKET = 8192
#: Who reads SOCKETSERVER_MAX_PACKET bytes of a datagram unless told otherwise (blind 19: Twisted and gevent too).
EIGHT_KIB_READERS = ("socketserver.UDPServer, Twisted's listenUDP and gevent's DatagramServer read 8192 bytes of a "
                     "datagram by default: set max_packet_size = 65535 on a socketserver class, pass "
                     "maxPacketSize=65535 to listenUDP; gevent's DatagramServer cannot read more (receive with "
                     "recvfrom(65535) on a socket of your own); socat: add -b 65536")


#: When a UDP datagram with no reply yet is sent again (seconds after the first
#: send): early, then later, all within the reply timeout — a lost datagram
#: costs one reply timeout, not one per try.
RETRY_AT = (0.2, 0.6)


class _SourceProbeMemory:
    """One per process (a run, or one -n worker), like harness.clients.patience."""
    unanswered = False


_SOURCE_PROBE = _SourceProbeMemory()


#: A try waits at least this many times the slowest reply seen before it is sent.
SLOW_SERVER_MARGIN = 1.5


def retry_offsets(reply_timeout: float, tries: int, slowest: float = 0.0) -> tuple[list[float], float]:
    """The moments (s after the first send) of each of `tries` sends of a datagram,
    and how long to wait in all: 0, 0.2, 0.6 within the default 2 s, scaled down for a
    short timeout so the last try still gets half of it. A server whose replies took
    up to `slowest` s gets its tries no sooner than SLOW_SERVER_MARGIN times that
    apart, and the last one that long to be answered, past the timeout if need be."""
    offsets = [0.0]
    for index in range(1, tries):
        planned = RETRY_AT[index - 1] if index <= len(RETRY_AT) else RETRY_AT[-1] * (index - len(RETRY_AT) + 1)
        offsets.append(max(min(planned, reply_timeout * index / (2 * (tries - 1))),
                           index * SLOW_SERVER_MARGIN * slowest))
    return offsets, max(reply_timeout, offsets[-1] + SLOW_SERVER_MARGIN * slowest)


def from_another_port(source: tuple[str, int], port: int) -> str:
    """How a reply that came from `source`, not from the server's `port`, is told (it follows "the reply ...")."""
    return (f"came from {source[0]}:{source[1]}, not from the server's port {port}: answer with the socket that "
            "received the datagram (sock.sendto(reply, addr) on the bound socket); a client that connect()s its UDP "
            "socket, and any firewall or NAT, drops a reply from another port")


class UdpClient:
    """A connected UDP socket: the kernel drops datagrams from any other address,
    and an ICMP "port unreachable" (the server is gone) is seen at once as
    ConnectionRefusedError instead of as three silent timeouts."""

    def __init__(self, endpoint: Endpoint, reply_timeout: float, tries: int = 3, label: str | None = None) -> None:
        self.endpoint = endpoint
        self.reply_timeout = reply_timeout
        self.tries = tries
        self.sock = socket.socket(endpoint.family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.connect(endpoint.address)
        self.sock.setblocking(False)
        #: Replies the server may send again, once per extra send of their datagram, and by when.
        self.late_copies: dict[bytes, int] = {}
        self.copies_due = Deadline(0)
        #: A datagram that arrived while late copies were drained: the next receive returns it.
        self.early: list[bytes] = []
        #: How many sends the last awaited datagram took.
        self.last_sends = 1
        #: How long the last unanswered exchange waited (cut short after an earlier silence).
        self.last_wait = reply_timeout
        self.last_first_sent: float | None = None  # when the last unanswered datagram was first sent
        self.wire = wirelog.connection("udp", label)  # None: "client N"
        #: The server's port answered with ICMP port unreachable: nothing is bound there any more.
        self.port_closed = False
        #: The last datagram echoed right, sent once: a reply equal to it later is a second answer to it.
        self.echoed_once: bytes | None = None
        self.wire.connected(self.sock.getsockname()[1])

    def __enter__(self) -> UdpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.drain_copies()  # else the server's queue of copies delays the next client's replies
        except CheckFailed:
            pass
        self.sock.close()

    def may_come_late(self, reply: bytes) -> None:
        """`reply` may still come (a slow answer to something sent without waiting for it):
        skipped when it does, not waited for."""
        self.late_copies[reply] = self.late_copies.get(reply, 0) + 1

    def drain_copies(self) -> None:
        """Wait (until `copies_due`) for the late copies a slow server still owes, skipping them;
        a copy that comes later still is skipped by `receive`."""
        if not any(count > 0 for count in self.late_copies.values()):
            return
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_READ)
            while any(count > 0 for count in self.late_copies.values()) and sel.select(self.copies_due.remaining()):
                try:
                    reply = self.sock.recv(65536 + 1)
                except BlockingIOError:
                    continue
                except OSError:
                    return  # the server is gone: the next send says so
                if self.late_copies.get(reply, 0) > 0:
                    self.late_copies[reply] -= 1
                    continue
                self.early.append(reply)  # not a copy: the server sent it on its own
                return

    def send(self, datagram: bytes) -> None:
        try:
            self.sock.send(datagram)
        except ConnectionRefusedError:
            self.wire.refused("ICMP port unreachable")
            raise self._gone() from None
        contact.reached()
        self.wire.sent(datagram)

    def _gone(self) -> CheckFailed:
        self.port_closed = True
        return CheckFailed(
            f"the server's UDP port {self.endpoint.port} is closed (ICMP port unreachable): the server stopped"
        )

    def receive(self, deadline: Deadline, size: int = 65536 + 1) -> bytes | None:
        """The next datagram from the server by the deadline, or None; a late
        copy of an earlier reply (answering one of our retries) is skipped."""
        if self.early:
            reply = self.early.pop(0)
            contact.replied()
            self.wire.got(reply)
            return reply
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_READ)
            while sel.select(deadline.remaining()):
                try:
                    reply = self.sock.recv(size)
                except BlockingIOError:
                    continue
                except ConnectionRefusedError:
                    self.wire.refused("ICMP port unreachable")
                    raise self._gone() from None
                if self.late_copies.get(reply, 0) > 0:
                    self.late_copies[reply] -= 1
                    continue
                contact.replied()
                self.wire.got(reply)
                reply_address.answered(self.endpoint.address, self.sock.getsockname())
                return reply
        self.wire.silence()
        return None

    def exchange(self, datagram: bytes) -> bytes | None:
        """Send and wait for one reply; a datagram counts as lost only after
        `tries` sends, all within the reply timeout (see `retry_offsets`)."""
        self.drain_copies()
        self.send(datagram)
        reply = self.await_reply(datagram, time.monotonic(), self.tries)
        self.echoed_once = datagram if reply == datagram and self.last_sends == 1 else None
        return reply

    def await_reply(self, datagram: bytes, first_sent: float, tries: int, timeout: float | None = None) -> bytes | None:
        """The reply to `datagram`, sent once at `first_sent` (time.monotonic()) and again
        on the `retry_offsets` schedule up to `tries` sends; None if none came."""
        timeout = PATIENCE.wait(self.reply_timeout) if timeout is None else timeout
        offsets, total = retry_offsets(timeout, tries, PATIENCE.slowest)
        deadline = Deadline(total, first_sent)
        for sent, offset in enumerate(offsets, start=1):
            if sent > 1:
                self.send(datagram)
            until = offsets[sent] if sent < len(offsets) else total
            reply = self.receive(Deadline(max(0.0, until - offset), first_sent + offset))
            if reply is not None:
                latency = deadline.elapsed()
                PATIENCE.heard(latency)
                self.last_sends = sent
                if sent > 1:  # the server may still answer the other sends, one by one
                    self.late_copies[reply] = self.late_copies.get(reply, 0) + sent - 1
                    self.copies_due = Deadline(min(2 * total, SLOW_SERVER_MARGIN * latency * (sent - 1) + 0.05))
                return reply
        self.last_sends = len(offsets)
        PATIENCE.silence(timeout, self.reply_timeout)
        self.last_wait = total
        self.last_first_sent = first_sent
        return None

    def no_reply(self, datagram: bytes, expected: bytes, context: str = "") -> CheckFailed:
        """The failure for a datagram never answered — saying so if the server
        answers from another port, which a connected socket never sees."""
        prefix = f"{context}: " if context else ""
        source = self.reply_source(datagram)
        if source is not None:
            return CheckFailed(f"{prefix}the reply to a {len(datagram)}-byte datagram "
                               + from_another_port(source, self.endpoint.port), expected=expected)
        elsewhere = self.replies_elsewhere(datagram)
        if elsewhere:
            return CheckFailed(f"{prefix}no reply to a {len(datagram)}-byte datagram on this client's socket: the "
                               f"server answered, but not to this client{elsewhere}", expected=expected)
        said = (f"{prefix}no reply to a {len(datagram)}-byte datagram after {self.tries} tries "
                f"within {round(self.last_wait, 2):g} s" + PATIENCE.why_short(self.last_wait, self.reply_timeout))
        late = self.late_reply(expected)
        if late is not None:
            said += (f"; its reply came {late:.1f} s after the first try: the server answers, but was not ready "
                     "yet. The harness starts as soon as the port is bound: bind() once the server can answer "
                     "(slow set-up first), or allow more with --reply-timeout")
        return CheckFailed(said, expected=expected)

    def late_reply(self, expected: bytes) -> float | None:
        """Seconds from the first try to a reply that came after the wait, if it comes within LATE_WINDOW
        more (at most a reply timeout). Waited for once per run, and only while the server has never been heard: a server that answers
        late at first (it bound its port before it was ready) is told so, not left silent — and its later
        checks get whole waits again (harness.clients.patience.answered_late)."""
        if PATIENCE.late_probed or PATIENCE.answered_before or self.last_first_sent is None:
            return None
        PATIENCE.late_probed = True
        deadline = Deadline(min(self.reply_timeout, LATE_WINDOW))
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_READ)
            while sel.select(deadline.remaining()):
                try:
                    reply = self.sock.recv(65536 + 1)
                except OSError:
                    return None
                self.wire.got(reply)
                if reply == expected:
                    late = time.monotonic() - self.last_first_sent
                    PATIENCE.answered_late(late)
                    self.late_copies[reply] = self.late_copies.get(reply, 0) + self.last_sends - 1
                    self.copies_due = Deadline(self.reply_timeout)
                    return late
        return None

    def replies_elsewhere(self, datagram: bytes) -> str:
        """The hint when the server's replies go to the run's first client's address
        (harness.clients.reply_address), or ""."""
        finding = reply_address.diagnose(self.endpoint.address, self.sock, datagram)
        return reply_address.hint(finding) if finding is not None else ""

    def reply_source(self, datagram: bytes, wait: float = 0.3) -> tuple[str, int] | None:
        """Send `datagram` once from an unconnected socket; the reply's source
        address if it is not the server's, else None."""
        if _SOURCE_PROBE.unanswered:
            return None
        with socket.socket(self.endpoint.family, socket.SOCK_DGRAM) as probe:
            probe.setblocking(False)
            try:
                probe.sendto(datagram, self.endpoint.address)
            except OSError:
                return None
            deadline = Deadline(min(wait, self.reply_timeout))
            with selectors.DefaultSelector() as sel:
                sel.register(probe, selectors.EVENT_READ)
                while sel.select(deadline.remaining()):
                    try:
                        _, source = probe.recvfrom(65536 + 1)
                    except BlockingIOError:
                        continue
                    except OSError:
                        return None
                    if (source[0], source[1]) != (self.endpoint.host, self.endpoint.port):
                        return source[0], source[1]
                    return None
        _SOURCE_PROBE.unanswered = True
        return None

    def expect_echo(self, datagram: bytes, context: str = "") -> None:
        previous = self.echoed_once
        reply = self.exchange(datagram)
        prefix = f"{context}: " if context else ""
        if reply is None:
            raise self.no_reply(datagram, datagram, context)
        if reply != datagram:
            mistake = classic_mistake(datagram, reply)
            if mistake.startswith(GAP_HINT):  # a datagram is sent whole or not at all: no partial send()
                mistake = ""
            if reply == previous:  # blind 13: two sendto() per datagram shifted every later reply
                summary = (f"the reply is the previous datagram's echo ({len(reply)} bytes) once more: the server "
                           "answers a datagram more than once (a second sendto()?), so every later reply is one "
                           "behind; send exactly one reply per datagram received")
            elif mistake:  # strip(), strlen() or an added newline cut or grew it, not a small receive buffer (blind 13)
                summary = f"the reply differs from the {len(datagram)}-byte datagram sent{mistake}"
            elif datagram.startswith(reply):
                summary = (
                    f"the reply was cut to {len(reply)} of {len(datagram)} bytes: is the server's receive buffer "
                    f"only {len(reply)} bytes? recvfrom(n) silently drops the rest of a longer datagram: receive "
                    "with recvfrom(65535), as large as any datagram (the largest tested is set by --max-datagram)"
                )
                if len(reply) == SOCKETSERVER_MAX_PACKET:
                    summary += f"; {EIGHT_KIB_READERS}"
            else:
                summary = f"the reply differs from the {len(datagram)}-byte datagram sent"
            raise CheckFailed(prefix + summary, expected=datagram, received=reply, detail=describe_mismatch(datagram, reply))
