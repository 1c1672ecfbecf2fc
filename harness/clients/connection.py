"""Client sockets with deadlines and controlled segmentation.

Rules:
- Every operation takes a `Deadline`; nothing blocks forever.
- Reads are capped: a server that sends endless data cannot exhaust memory
  (we read at most what we expect plus `EXTRA_CAP`).
- Large payloads are written while reading (never write-all-then-read, which
  deadlocks against a correct echo server once both socket buffers fill).
- Segments really arrive apart: `TCP_NODELAY` plus a pause between sends.
- What arrives is ACKed at once (`TCP_QUICKACK`, Linux): a server that
  writes a reply in two pieces (header, then body, as the seeds' struct code
  does) has the second held back by Nagle until the first is ACKed, and a
  delayed ACK (40 ms) per reply made 200 frames take 8 s. A real client
  might wait that long too, but nothing is wrong with the server.
- Failures raise `CheckFailed` with what was expected and what arrived.
"""

from __future__ import annotations

import selectors
import socket
import struct
import time

from harness.clients import contact
from harness.evidence import wirelog
from harness.evidence.bytesdiff import describe_mismatch, readable
from harness.deadline import Deadline
from harness.errors import CheckFailed
from harness.server.launcher import Endpoint
from harness.clients.patience import PATIENCE

EXTRA_CAP = 64 * 1024
CHUNK = 64 * 1024
#: socketserver.UDPServer.max_packet_size: a UDP reply cut to exactly this is that default.
SOCKETSERVER_MAX_PACKET = 8192
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def recv_and_ack(sock: socket.socket, size: int) -> bytes:
    """`sock.recv(size)`, then ACK at once what arrived (see the module rules)."""
    chunk = sock.recv(size)
    if chunk and _QUICKACK is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        except OSError:
            pass
    return chunk


class TcpConnection:
    """One TCP client connection to the server under test."""

    def __init__(self, endpoint: Endpoint, deadline: Deadline) -> None:
        self.endpoint = endpoint
        self.sock = socket.socket(endpoint.family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(max(deadline.remaining(), 0.001))
        self.wire = wirelog.connection("tcp")
        try:
            self.sock.connect(endpoint.address)
        except OSError as exc:
            self.sock.close()
            self.wire.refused(exc.strerror or str(exc))
            raise CheckFailed(
                f"could not connect to {endpoint.host}:{endpoint.port}: {exc.strerror or exc}"
                " (is the server still accepting connections?)"
            ) from exc
        contact.reached()
        self.sock.setblocking(False)
        self.local_port = self.sock.getsockname()[1]
        self.wire.connected(self.local_port)

    def __enter__(self) -> TcpConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self.sock.fileno() != -1:
            self.wire.event(*closing(self.sock))
        self.sock.close()

    def abort(self) -> None:
        """Close with an RST (SO_LINGER 0), as a crashed client would."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.wire.event(wirelog.CLIENT_RST, "abort")
        self.sock.close()

    def shutdown_write(self) -> None:
        """Half-close: tell the server we will send nothing more."""
        self.sock.shutdown(socket.SHUT_WR)
        self.wire.event(wirelog.CLIENT_FIN, "half-close")

    # -- sending -------------------------------------------------------------
    def send_all(self, data: bytes, deadline: Deadline, segment: str | None = None) -> None:
        view = memoryview(data)
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_WRITE)
            while view:
                if not sel.select(deadline.remaining()):
                    raise CheckFailed(
                        f"the server stopped reading: {len(data) - len(view)} of {len(data)} bytes "
                        f"could be sent within {deadline.seconds:g} s"
                    )
                try:
                    sent = self.sock.send(view[:CHUNK])
                except BlockingIOError:
                    continue
                except OSError as exc:
                    self.wire.event(wirelog.SEND_FAILED, exc.strerror or str(exc))
                    raise CheckFailed(f"sending failed: {exc.strerror or exc} (the server closed the connection?)") from exc
                self.wire.sent(view[:sent], segment)
                view = view[sent:]

    def send_segments(self, segments: list[bytes], pause: float, deadline: Deadline) -> None:
        """Send each segment on its own, pausing so they arrive apart."""
        for index, segment in enumerate(segments):
            if index:
                time.sleep(pause)
            self.send_all(segment, deadline, f"{index + 1}/{len(segments)}")

    # -- receiving -----------------------------------------------------------
    def recv_exactly(self, size: int, deadline: Deadline, what: str = "the echo") -> bytes:
        """Read exactly `size` bytes by the deadline, or fail saying what arrived."""
        received = bytearray()
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_READ)
            while len(received) < size:
                wait = min(deadline.remaining(), PATIENCE.wait(deadline.seconds))
                started = time.monotonic()
                if not sel.select(wait):
                    PATIENCE.silence(wait, deadline.seconds)
                    self.wire.silence()
                    shown = deadline.seconds if wait >= deadline.remaining() else wait
                    raise self._short(size, received, f"no more bytes arrived within {shown:g} s"
                                      + PATIENCE.why_short(shown, deadline.seconds), what)
                PATIENCE.heard(time.monotonic() - started)
                try:
                    chunk = recv_and_ack(self.sock, min(CHUNK, size - len(received)))
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    self.wire.event(wirelog.SERVER_RST)
                    raise self._short(size, received, "the server reset the connection", what) from None
                if not chunk:
                    self.wire.event(wirelog.SERVER_FIN)
                    raise self._short(size, received, "the server closed the connection", what)
                self.wire.got(chunk)
                contact.replied()
                received += chunk
        return bytes(received)

    def _short(self, size: int, received: bytearray, reason: str, what: str) -> CheckFailed:
        return CheckFailed(f"{reason} after {len(received)} of the {size} bytes of {what}", received=bytes(received))

    def exchange(self, payload: bytes, idle_timeout: float) -> tuple[bytes, str]:
        """Send `payload` while reading the reply; return (up to len(payload) bytes, why it ended early).

        The server is "prompt" if some progress (bytes sent or received) is
        made every `idle_timeout` seconds, however large the payload. Stops
        early, returning what arrived, on EOF or a stall, so the caller can
        compare and explain.
        """
        received = bytearray()
        view = memoryview(payload)
        end_reason = ""
        wait = PATIENCE.wait(idle_timeout)
        quiet_since = time.monotonic()
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if view else 0))
            while len(received) < len(payload):
                events = sel.select(wait)
                if not events:
                    PATIENCE.silence(wait, idle_timeout)
                    self.wire.silence()
                    end_reason = f"no more bytes arrived within {wait:g} s" + PATIENCE.why_short(wait, idle_timeout)
                    break
                mask = events[0][1]
                if mask & selectors.EVENT_WRITE and view:
                    quiet_since = time.monotonic()
                    try:
                        sent = self.sock.send(view[:CHUNK])
                        self.wire.sent(view[:sent])
                        view = view[sent:]
                    except BlockingIOError:
                        pass
                    except OSError as exc:
                        self.wire.event(wirelog.SEND_FAILED, exc.strerror or str(exc))
                        end_reason = f"sending failed: {exc.strerror or exc}"
                        break
                    if not view:
                        sel.modify(self.sock, selectors.EVENT_READ)
                if mask & selectors.EVENT_READ:
                    try:
                        chunk = recv_and_ack(self.sock, CHUNK)
                    except BlockingIOError:
                        continue
                    except ConnectionResetError:
                        self.wire.event(wirelog.SERVER_RST)
                        end_reason = "the server reset the connection"
                        break
                    if not chunk:
                        self.wire.event(wirelog.SERVER_FIN)
                        end_reason = "the server closed the connection"
                        break
                    PATIENCE.heard(time.monotonic() - quiet_since)
                    quiet_since = time.monotonic()
                    self.wire.got(chunk)
                    contact.replied()
                    received += chunk
        return bytes(received), end_reason

    def expect_echo(self, payload: bytes, idle_timeout: float, context: str = "") -> None:
        """Send `payload` and require the identical bytes back, with no stall over `idle_timeout`."""
        received, end_reason = self.exchange(payload, idle_timeout)
        if received != payload:
            raise echo_mismatch(payload, received, end_reason, context)

    def read_available(self, wait: float, cap: int = EXTRA_CAP) -> bytes:
        """Whatever arrives within `wait` seconds (at most `cap` bytes)."""
        deadline = Deadline(wait)
        received = bytearray()
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_READ)
            while len(received) < cap:
                if not sel.select(deadline.remaining()):
                    self.wire.silence()
                    break
                try:
                    chunk = recv_and_ack(self.sock, cap - len(received))
                except BlockingIOError:
                    continue
                except OSError:
                    self.wire.event(wirelog.SERVER_RST)
                    break
                if not chunk:
                    self.wire.event(wirelog.SERVER_FIN)
                    break
                self.wire.got(chunk)
                received += chunk
        return bytes(received)

    def expect_eof(self, deadline: Deadline) -> None:
        """The server must close its side (after sending nothing more) by the deadline."""
        extra = bytearray()
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_READ)
            while True:
                if not sel.select(deadline.remaining()):
                    self.wire.silence()
                    raise CheckFailed(
                        f"the server did not close the connection within {deadline.seconds:g} s "
                        "after the client half-closed (shutdown of its write side)",
                        received=bytes(extra) or None,
                    )
                try:
                    chunk = recv_and_ack(self.sock, CHUNK)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    self.wire.event(wirelog.SERVER_RST)
                    return
                if not chunk:
                    self.wire.event(wirelog.SERVER_FIN)
                    if extra:
                        raise CheckFailed(
                            f"the server sent {len(extra)} unexpected bytes before closing",
                            expected=b"",
                            received=bytes(extra),
                        )
                    return
                self.wire.got(chunk)
                if len(extra) < EXTRA_CAP:
                    extra += chunk


def closing(sock: socket.socket) -> tuple[str, str]:
    """Prepare `sock` to be closed; what closing it will send: a FIN, or an RST.

    An RST when received bytes are left unread (the kernel's choice), and
    when the server has closed its side first (its FIN is waiting): then the
    client answers with a reset (SO_LINGER 0) so that the server's side of the
    connection ends at once instead of lingering in TIME_WAIT for a minute,
    which would keep a server without SO_REUSEADDR on a fixed port from
    starting again — failing every later check for a connection the harness
    closed. (shutdown::port_reusable keeps its clients open through the
    restart: there the server's own closed connections are the point.)
    """
    try:
        unread = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except OSError:  # nothing pending (EAGAIN), or reset: a close sends a FIN, or nothing
        return wirelog.CLIENT_FIN, "close"
    if unread:
        return wirelog.CLIENT_RST, "closed with unread bytes"
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        return wirelog.CLIENT_FIN, "close"
    return wirelog.CLIENT_RST, "reset after the server closed first (no TIME_WAIT left on its side)"


def echo_mismatch(payload: bytes, received: bytes, end_reason: str, context: str) -> CheckFailed:
    """Explain how an echo differs from what was sent."""
    prefix = f"{context}: " if context else ""
    if received and payload.startswith(received):
        summary = f"only {len(received)} of {len(payload)} bytes came back"
    elif not received:
        summary = f"nothing came back for {len(payload)} bytes sent"
    else:
        summary = f"the echo differs from what was sent ({readable(payload, 40)} sent)"
    if end_reason:
        summary += f" ({end_reason})"
    return CheckFailed(
        prefix + summary,
        expected=payload,
        received=received,
        detail=describe_mismatch(payload, received) if received else "",
    )


#: When a UDP datagram with no reply yet is sent again (seconds after the first
#: send): early, then later, all within the reply timeout — a lost datagram
#: costs one reply timeout, not one per try.
RETRY_AT = (0.2, 0.6)


def retry_offsets(reply_timeout: float, tries: int) -> list[float]:
    """The moments (s after the first send) of each of `tries` sends of a
    datagram, all inside `reply_timeout`: 0, 0.2, 0.6 for the default 2 s;
    scaled down for a short timeout so the last try still gets half of it."""
    offsets = [0.0]
    for index in range(1, tries):
        planned = RETRY_AT[index - 1] if index <= len(RETRY_AT) else RETRY_AT[-1] * (index - len(RETRY_AT) + 1)
        offsets.append(min(planned, reply_timeout * index / (2 * (tries - 1))))
    return offsets


class UdpClient:
    """A connected UDP socket: the kernel drops datagrams from any other address,
    and an ICMP "port unreachable" (the server is gone) is seen at once as
    ConnectionRefusedError instead of as three silent timeouts."""

    def __init__(self, endpoint: Endpoint, reply_timeout: float, tries: int = 3) -> None:
        self.endpoint = endpoint
        self.reply_timeout = reply_timeout
        self.tries = tries
        self.sock = socket.socket(endpoint.family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.connect(endpoint.address)
        self.sock.setblocking(False)
        #: Replies the server may send again, once per extra send of their datagram.
        self.late_copies: dict[bytes, int] = {}
        #: How long the last unanswered exchange waited (cut short after an earlier silence).
        self.last_wait = reply_timeout
        self.wire = wirelog.connection("udp")
        self.wire.connected(self.sock.getsockname()[1])

    def __enter__(self) -> UdpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.sock.close()

    def send(self, datagram: bytes) -> None:
        try:
            self.sock.send(datagram)
        except ConnectionRefusedError:
            self.wire.refused("ICMP port unreachable")
            raise self._gone() from None
        contact.reached()
        self.wire.sent(datagram)

    def _gone(self) -> CheckFailed:
        return CheckFailed(
            f"the server's UDP port {self.endpoint.port} is closed (ICMP port unreachable): the server stopped"
        )

    def receive(self, deadline: Deadline, size: int = 65536 + 1) -> bytes | None:
        """The next datagram from the server by the deadline, or None; a late
        copy of an earlier reply (answering one of our retries) is skipped."""
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
                return reply
        self.wire.silence()
        return None

    def exchange(self, datagram: bytes) -> bytes | None:
        """Send and wait for one reply; a datagram counts as lost only after
        `tries` sends, all within the reply timeout (see `retry_offsets`)."""
        timeout = PATIENCE.wait(self.reply_timeout)
        deadline = Deadline(timeout)
        offsets = retry_offsets(timeout, self.tries)
        for sent, offset in enumerate(offsets, start=1):
            self.send(datagram)
            until = offsets[sent] if sent < len(offsets) else timeout
            reply = self.receive(Deadline(max(0.0, until - offset), deadline.start + offset))
            if reply is not None:
                PATIENCE.heard(deadline.elapsed())
                if sent > 1:  # the server may still answer the other sends
                    self.late_copies[reply] = self.late_copies.get(reply, 0) + sent - 1
                return reply
        PATIENCE.silence(timeout, self.reply_timeout)
        self.last_wait = timeout
        return None

    def no_reply(self, datagram: bytes, expected: bytes, context: str = "") -> CheckFailed:
        """The failure for a datagram never answered — saying so if the server
        answers from another port, which a connected socket never sees."""
        prefix = f"{context}: " if context else ""
        source = self.reply_source(datagram)
        if source is not None:
            return CheckFailed(
                f"{prefix}the reply to a {len(datagram)}-byte datagram came from {source[0]}:{source[1]}, not from "
                f"the server's port {self.endpoint.port}: answer with the socket that received the datagram "
                "(sock.sendto(reply, addr) on the bound socket); a client that connect()s its UDP socket, and "
                "any firewall or NAT, drops a reply from another port",
                expected=expected,
            )
        return CheckFailed(
            f"{prefix}no reply to a {len(datagram)}-byte datagram after {self.tries} tries "
            f"within {self.last_wait:g} s" + PATIENCE.why_short(self.last_wait, self.reply_timeout),
            expected=expected,
        )

    def reply_source(self, datagram: bytes, wait: float = 0.3) -> tuple[str, int] | None:
        """Send `datagram` once from an unconnected socket; the reply's source
        address if it is not the server's, else None."""
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
        return None

    def expect_echo(self, datagram: bytes, context: str = "") -> None:
        reply = self.exchange(datagram)
        prefix = f"{context}: " if context else ""
        if reply is None:
            raise self.no_reply(datagram, datagram, context)
        if reply != datagram:
            if datagram.startswith(reply):
                summary = (
                    f"the reply was cut to {len(reply)} of {len(datagram)} bytes: is the server's receive buffer "
                    f"only {len(reply)} bytes? recvfrom(n) silently drops the rest of a longer datagram "
                    "(the largest datagram tested is set by --max-datagram)"
                )
                if len(reply) == SOCKETSERVER_MAX_PACKET:
                    summary += (f"; socketserver.UDPServer reads {SOCKETSERVER_MAX_PACKET} bytes by default: set "
                                "max_packet_size = 65535 on the server class (socat: add -b 65536)")
            else:
                summary = f"the reply differs from the {len(datagram)}-byte datagram sent"
            raise CheckFailed(prefix + summary, expected=datagram, received=reply, detail=describe_mismatch(datagram, reply))
