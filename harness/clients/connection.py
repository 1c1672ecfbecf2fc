"""TCP client connections with deadlines and controlled segmentation (the UDP
client is `harness.clients.udp`).

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

import errno
import selectors
import socket
import struct
import time

from harness.clients import contact
from harness.clients.patience import PATIENCE
from harness.deadline import Deadline
from harness.errors import CheckFailed
from harness.evidence import wirelog
from harness.evidence.bytesdiff import echo_mismatch, echo_only_at_eof
from harness.server.launcher import Endpoint
from harness.system import sockdiag

EXTRA_CAP = 64 * 1024
#: `TcpConnection.exchange`'s end reason when its `until` deadline passed before the reply was whole.
OUT_OF_TIME = "out of time"
CHUNK = 64 * 1024
#: How many silences one exchange forgives a server that is still reading what was sent, after a payload
#: of more than BIG_PAYLOAD bytes (a smaller one the server reads at once or not at all).
MAX_READING_LOOKS = 20
BIG_PAYLOAD = 256 * 1024
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

    def __init__(self, endpoint: Endpoint, deadline: Deadline, label: str | None = None) -> None:
        self.endpoint = endpoint
        self.sock = socket.socket(endpoint.family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(max(deadline.remaining(), 0.001))
        self.wire = wirelog.connection("tcp", label)  # None: "client N"
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
        #: The last `exchange` sent everything, then waited in vain for the rest of the reply.
        self.silent_after_sending = False
        #: Messages echoed whole on this connection so far (`expect_echo`).
        self.echoed = 0

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
        """Half-close: tell the server we will send nothing more. A connection the server has already reset
        cannot be half-closed (ENOTCONN): that is the server's doing, and the next read reports the reset."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as error:
            if error.errno != errno.ENOTCONN:
                raise
            self.wire.event(wirelog.NOTE, "no half-close: the server had already reset the connection")
            return
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
        last_heard = deadline.start
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_READ)
            while len(received) < size:
                wait = min(deadline.remaining(), PATIENCE.wait(deadline.seconds))
                started = time.monotonic()
                if not sel.select(wait):
                    PATIENCE.silence(time.monotonic() - last_heard, deadline.seconds)  # silent since it began, or since the last bytes
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
                last_heard = time.monotonic()
                received += chunk
        return bytes(received)

    def _short(self, size: int, received: bytearray, reason: str, what: str) -> CheckFailed:
        return CheckFailed(f"{reason} after {len(received)} of the {size} bytes of {what}", received=bytes(received))

    def send_until_blocked(self, payload: bytes, stall: float, deadline: Deadline) -> int:
        """Send `payload` without reading, until the connection takes no more for `stall` s (every buffer
        between the client and the server is full: the server's sends wait for this client), or all is
        sent, or the deadline passes; how many bytes were sent."""
        sent = 0
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_WRITE)
            while sent < len(payload) and not deadline.expired():
                if not sel.select(min(stall, deadline.remaining())):
                    break
                try:
                    count = self.sock.send(payload[sent : sent + CHUNK])
                except BlockingIOError:
                    continue
                except OSError as exc:
                    self.wire.event(wirelog.SEND_FAILED, exc.strerror or str(exc))
                    break
                self.wire.sent(payload[sent : sent + count])
                sent += count
        return sent

    def exchange(self, payload: bytes, idle_timeout: float, owed: int | None = None, expected: bytes | None = None,
                 until: Deadline | None = None) -> tuple[bytes, str]:
        """Send `payload` while reading the reply; return (up to `owed` bytes, by default len(payload),
        why it ended early).

        The server is "prompt" if some progress (bytes sent or received, or
        the server reading the last of a big payload) is made every
        `idle_timeout` seconds, however large the payload. Stops
        early, returning what arrived, on EOF or a stall, so the caller can
        compare and explain; with `expected`, also at the first chunk that
        differs from it (a wrong echo of 16 MiB is wrong in its first bytes);
        with `until`, once that deadline passes (end reason OUT_OF_TIME).
        """
        owed = len(payload) if owed is None else owed
        wanted = memoryview(expected) if expected is not None else None
        received = bytearray()
        view = memoryview(payload)
        end_reason = ""
        wait = PATIENCE.wait(idle_timeout)
        quiet_since = time.monotonic()
        self.silent_after_sending = False
        reading: list[int] = []  # the server's unread bytes, as seen at each silence after everything was sent
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if view else 0))
            while len(received) < owed:
                if until is not None and until.expired():
                    end_reason = OUT_OF_TIME
                    break
                events = sel.select(wait if until is None else min(wait, until.remaining()))
                if not events and until is not None and until.expired():
                    end_reason = OUT_OF_TIME
                    break
                if not events and not view and self._server_still_reading(reading):
                    continue  # the server is still reading what was sent: progress, not silence
                if not events:
                    PATIENCE.silence(wait, idle_timeout)
                    self.wire.silence()
                    self.silent_after_sending = not view
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
                        if len(payload) > BIG_PAYLOAD:
                            self._server_still_reading(reading)  # where the server's reading stands now
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
                    if wanted is not None and chunk != wanted[len(received) - len(chunk): len(received)]:
                        break  # wrong already: the caller shows where
        return bytes(received), end_reason

    def _server_still_reading(self, seen: list[int]) -> bool:
        """Whether the server has read some of what was sent since the last look (`seen`, updated): the
        server's end of this connection holds fewer unread bytes. A server that copies a 16 MiB frame
        slowly (`data += chunk`) is busy, not silent, while it reads the last megabytes (a cut wait after an
        earlier silence failed such a server's max_size_frame). Only after a payload too big for the socket
        buffers (the first look is when the last byte was sent); bounded: it must read on at every look."""
        unread = sockdiag.unread(self.endpoint.port, self.local_port)
        if unread is None or len(seen) >= MAX_READING_LOOKS or (seen and seen[-1] == 0):
            return False
        seen.append(unread)
        return len(seen) > 1 and unread < seen[-2]  # (once all is read: one more wait, for the reply)

    def expect_echo(self, payload: bytes, idle_timeout: float, context: str = "") -> None:
        """Send `payload` and require the identical bytes back, with no stall over `idle_timeout`."""
        received, end_reason = self.exchange(payload, idle_timeout)
        if received == payload:
            self.echoed += 1
            return
        if self.echoed and not received and end_reason.startswith(("the server closed", "the server reset")):
            raise echo_mismatch(payload, received, end_reason, context).with_hint(
                f"\nhint: the server echoed {self.echoed} earlier message{'s' if self.echoed > 1 else ''} on this "
                "connection, then closed it: it answers one recv() per connection. Read in a loop until recv() "
                "returns b'' (the client is done), and close the connection only then")
        if self.silent_after_sending and payload.startswith(received) and PATIENCE.may_probe_eof():
            late = self.read_after_half_close(len(payload) - len(received), idle_timeout)
            if late and payload.startswith(received + late):
                answered_before = PATIENCE.answered_before
                if not answered_before:
                    PATIENCE.answered_at_eof()
                raise echo_only_at_eof(payload, received, late, context, answered_before)
            PATIENCE.eof_probe_failed()
        raise echo_mismatch(payload, received, end_reason, context)

    def read_after_half_close(self, owed: int, idle_timeout: float) -> bytes:
        """Half-close, then read what the server still sends (at most `owed` bytes): a
        server that reads until recv() returns b'' answers only now."""
        try:
            self.shutdown_write()
        except OSError:
            return b""
        return self.read_available(PATIENCE.after_half_close_wait(idle_timeout), cap=owed)

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
        cut = PATIENCE.close_wait(deadline.seconds)  # the whole deadline unless this server kept one open before
        wait = Deadline(min(deadline.remaining(), cut))
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_READ)
            while True:
                if not sel.select(wait.remaining()):
                    self.wire.silence()
                    PATIENCE.kept_open(cut, deadline.seconds)
                    raise CheckFailed(
                        f"the server did not close the connection within {cut:g} s "
                        "after the client half-closed (shutdown of its write side)"
                        + PATIENCE.why_close_short(cut, deadline.seconds),
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
