"""How one message of a protocol file becomes bytes, and is read back (per framing).

- line:     the message, then the line ending (both ways).
- length:   a `length-format` header announcing the payload size, then the payload
            (the harness's FrameCodec).
- none:     the bytes as they are; an expect reads exactly as many bytes as expected.
- datagram: one datagram per message.

`StreamReader` reads the next message from a TCP connection by a deadline,
buffering what arrives beyond it; it never reads more than a cap, so a server
that floods cannot exhaust memory. Sans-policy: it says what arrived and why
it stopped; the engine decides what that means.

Rule: a reply wait given a `PatienceMemory` (the engine gives one to an expect
step without a timeout of its own) follows harness.clients.patience, as the
built-in suites' readers do: after the server was once silent for a whole
reply timeout in this run (a reply wait given the whole timeout ended
without its message), a wait for its next bytes is cut (a server that
never completes its greeting line costs one reply timeout, then a fraction of
one per conversation). A correct server is never silent for a whole timeout,
so it always gets the full timeout. Expect-nothing and expect-close waits are
never cut and never count as silence.
"""

from __future__ import annotations

import selectors
import time
from dataclasses import dataclass

from harness.clients import contact
from harness.clients.connection import TcpConnection, recv_and_ack
from harness.clients.patience import PatienceMemory
from harness.deadline import Deadline
from harness.evidence import wirelog
from harness.protocolfile.model import ProtocolFile
from harness.protocols.framing import DEFAULT_MAX_FRAME, FrameCodec, FrameError

#: The largest message read when its size is not known in advance (expect-match, @reference).
UNKNOWN_SIZE_CAP = 1024 * 1024
#: Beyond the expected size, how much more a reader takes in (evidence, not memory exhaustion).
EXTRA = 64 * 1024
CHUNK = 64 * 1024


#: Why a stream ended when the server closed it (also matched on: harness.protocolfile.engine).
CLOSED = "the server closed the connection"


class Wire:
    """The framing of one protocol file."""

    def __init__(self, protocol: ProtocolFile) -> None:
        self.framing = protocol.framing
        self.ending = protocol.line_ending.encode(protocol.encoding)
        self.codec = FrameCodec(protocol.length_format, DEFAULT_MAX_FRAME)

    @property
    def header_size(self) -> int:
        return self.codec.header_size if self.framing == "length" else 0

    def encode(self, message: bytes) -> bytes:
        if self.framing == "line":
            return message + self.ending
        if self.framing == "length":
            return self.codec.encode(message)
        return message

    def describe(self) -> str:
        return {"line": f"lines ending in {self.ending!r}",
                "length": f"frames with a {self.codec.length_format!r} length header",
                "none": "unframed bytes", "datagram": "datagrams"}[self.framing]


@dataclass
class Received:
    """The outcome of reading one message: `message` (None if none completed),
    `raw` the bytes it took on the wire (or what arrived, if incomplete), `why`
    it stopped early ("" when a message arrived)."""

    message: bytes | None
    raw: bytes
    why: str = ""


class StreamReader:
    """Messages from one TCP connection, by deadline and capped in size."""

    def __init__(self, conn: TcpConnection, wire: Wire) -> None:
        self.conn = conn
        self.wire = wire
        self.pending = bytearray()
        self.ended = ""  # why the stream ended ("" while open)
        self.cut = ""  # why the last reply wait ended early (its patience was cut), "" if it was not

    def fill(self, deadline: Deadline, cap: int, patience: PatienceMemory | None = None) -> bool:
        """Read one chunk into `pending`; False at the deadline or the end of the stream.
        With `patience`, the wait for the chunk follows it (see the module's rule)."""
        if self.ended:
            return False
        with selectors.DefaultSelector() as sel:
            sel.register(self.conn.sock, selectors.EVENT_READ)
            while True:
                remaining = max(0.0, deadline.remaining())
                wait = remaining if patience is None else min(remaining, patience.wait(deadline.seconds))
                started = time.monotonic()
                if not sel.select(wait):
                    self.conn.wire.silence()
                    if patience is not None:
                        # Waited to the end of an uncut deadline: the reply did not come in a whole timeout.
                        patience.silence(deadline.seconds if wait >= remaining else wait, deadline.seconds)
                        if wait < remaining:
                            self.cut = (f"no more bytes arrived within {wait:g} s"
                                        + patience.why_short(wait, deadline.seconds))
                    return False
                if patience is not None:
                    patience.heard(time.monotonic() - started)
                try:
                    chunk = recv_and_ack(self.conn.sock, min(CHUNK, max(1, cap - len(self.pending))))
                except BlockingIOError:
                    continue
                except OSError as exc:
                    if isinstance(exc, ConnectionResetError):
                        self.conn.wire.event(wirelog.SERVER_RST)
                    self.ended = "the server reset the connection" if isinstance(exc, ConnectionResetError) \
                        else f"reading failed: {exc.strerror or exc}"
                    return False
                if not chunk:
                    self.conn.wire.event(wirelog.SERVER_FIN)
                    self.ended = CLOSED
                    return False
                self.conn.wire.got(chunk)
                contact.replied()
                self.pending += chunk
                return True

    def take(self, size: int) -> bytes:
        data = bytes(self.pending[:size])
        del self.pending[:size]
        return data

    def stopped(self, timeout: float) -> str:
        return self.ended or self.cut or f"no complete message arrived within {timeout:g} s"

    def next_message(self, deadline: Deadline, timeout: float, expected_size: int | None,
                     patience: PatienceMemory | None = None) -> Received:
        """The next message; `expected_size` is the expected message's size (for
        `none` framing, how many bytes make the message; elsewhere, a cap hint)."""
        self.cut = ""
        framing = self.wire.framing
        if framing == "none":
            size = expected_size or 0
            while len(self.pending) < size and self.fill(deadline, size, patience):
                pass
            if len(self.pending) >= size:
                message = self.take(size)
                return Received(message, message)
            return Received(None, bytes(self.pending), self.stopped(timeout))
        cap = UNKNOWN_SIZE_CAP if expected_size is None else expected_size + EXTRA
        if framing == "line":
            ending = self.wire.ending
            while True:
                end = self.pending.find(ending)
                if end >= 0:
                    raw = self.take(end + len(ending))
                    return Received(raw[: -len(ending)], raw)
                if len(self.pending) >= cap:
                    return Received(None, bytes(self.pending),
                                    f"{len(self.pending)} bytes arrived without the line ending {ending!r}")
                if not self.fill(deadline, cap, patience):
                    return Received(None, bytes(self.pending), self.stopped(timeout))
        # length framing
        codec = self.wire.codec
        header_size = codec.header_size
        while len(self.pending) < header_size:
            if not self.fill(deadline, header_size + cap, patience):
                return Received(None, bytes(self.pending), self.stopped(timeout))
        try:
            length = codec.read_length(bytes(self.pending[:header_size]))
        except FrameError as error:
            return Received(None, bytes(self.pending), str(error))
        if length > cap + EXTRA:
            return Received(None, bytes(self.pending[: header_size + 64]),
                            f"the header announces {length} bytes, far more than expected")
        while len(self.pending) < header_size + length:
            if not self.fill(deadline, header_size + length, patience):
                return Received(None, bytes(self.pending), self.stopped(timeout))
        raw = self.take(header_size + length)
        return Received(raw[header_size:], raw)
