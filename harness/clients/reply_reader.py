"""Read a server's replies when the harness knows what they should be.

Rules:
- Stop at the first byte that differs from the expected reply: a wrong reply
  fails at once, not after waiting for bytes that will never come (a server
  that cut a long line at recv(1024) answers a prefix, then garbage).
- Keep what arrived beyond the current reply for the next one (a stream has
  no message boundaries; two replies may come in one recv()).
- Every read is bounded by a deadline and capped in size.
- A mismatch shows what was expected and received, with the first difference.
"""

from __future__ import annotations

import selectors
import time

from harness.clients import contact
from harness.clients.connection import EXTRA_CAP, TcpConnection, recv_and_ack
from harness.clients.patience import LATE_WINDOW, PATIENCE
from harness.deadline import Deadline
from harness.errors import CheckFailed
from harness.evidence import wirelog
from harness.evidence.bytesdiff import describe_mismatch

CHUNK = 64 * 1024
#: After a mismatch, how long to keep reading so the report shows more of the reply.
EVIDENCE_WAIT = 0.05


class ReplyReader:
    """Buffered, deadline-bounded reading of expected replies on one TcpConnection."""

    def __init__(self, conn: TcpConnection) -> None:
        self.conn = conn
        self.pending = bytearray()
        self.closed = ""  # why the stream ended ("" while open)
        self.cut = ""  # why the last wait was shorter than its timeout ("" if it was not)
        self.read_call = "recv()"  # what the server reads with, in its own terms (a Node server: a 'data' event)
        self._last_heard = 0.0  # when bytes last arrived (time.monotonic())

    def _fill(self, deadline: Deadline, cap: int, learn: bool = True) -> bool:
        """Read one chunk into `pending`; False on deadline or end of stream.

        `learn=False` for a short look that waits for no reply (the quiet that ends a greeting, more
        bytes to show after a mismatch): its silence says nothing about the server's patience."""
        if self.closed:
            return False
        with selectors.DefaultSelector() as sel:
            sel.register(self.conn.sock, selectors.EVENT_READ)
            while True:
                wait = min(deadline.remaining(), PATIENCE.wait(deadline.seconds))
                started = time.monotonic()
                if not sel.select(wait):
                    if learn:  # silent since the wait began, or since the last bytes if they came during it
                        PATIENCE.silence(time.monotonic() - max(deadline.start, self._last_heard), deadline.seconds)
                    self.conn.wire.silence()
                    if wait < deadline.remaining():
                        self.cut = f"no more bytes arrived within {wait:g} s" + PATIENCE.why_short(wait, deadline.seconds)
                    return False
                PATIENCE.heard(time.monotonic() - started)
                try:
                    chunk = recv_and_ack(self.conn.sock, min(CHUNK, max(1, cap - len(self.pending))))
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    self.conn.wire.event(wirelog.SERVER_RST)
                    self.closed = "the server reset the connection"
                    return False
                if not chunk:
                    self.conn.wire.event(wirelog.SERVER_FIN)
                    self.closed = "the server closed the connection"
                    return False
                self.conn.wire.got(chunk)
                contact.replied()
                self._last_heard = time.monotonic()
                self.pending += chunk
                return True

    def expect(self, expected: bytes, timeout: float, context: str, lines_hinted: bool = True) -> None:
        """Require `expected` to be the next bytes from the server within `timeout` seconds (`lines_hinted`
        False: a reply that differs is not blamed on the server's line reader, the caller knows better)."""
        deadline = Deadline(timeout)
        cap = len(expected) + EXTRA_CAP
        while len(self.pending) < len(expected) and expected.startswith(bytes(self.pending)):
            if not self._fill(deadline, cap):
                break
        if self.pending[: len(expected)] == expected:
            del self.pending[: len(expected)]
            return
        got = bytes(self.pending)
        if expected.startswith(got):
            reason = self.closed or self.cut or f"no more bytes arrived within {timeout:g} s"
            late = None if self.closed or self.cut else self._late_reply(deadline, len(expected))
            if late is not None:
                reason += (f"; its reply came {late:.1f} s after it was asked for, past the {timeout:g} s reply "
                           "timeout: the server answers, but slowly (a sleep, or slow work before each reply?). "
                           "Answer sooner, or allow more with --reply-timeout")
            summary = f"nothing arrived ({reason})" if not got else f"only {len(got)} of {len(expected)} bytes arrived ({reason})"
        else:
            evidence = Deadline(EVIDENCE_WAIT)
            while len(self.pending) < len(expected) + 64 and self._fill(evidence, cap, learn=False):
                pass
            got = bytes(self.pending)
            summary = "the reply differs from what the protocol requires" + (
                lines_hint(expected, got, self.read_call) if lines_hinted else "")
        raise CheckFailed(f"{context}: {summary}", expected=expected, received=got,
                          detail=describe_mismatch(expected, got) if got else "")

    def _late_reply(self, deadline: Deadline, size: int) -> float | None:
        """Seconds from the request to more of its reply, if some comes within LATE_WINDOW after a whole wait;
        looked for once per run (a silent server costs it once). The bytes are kept out of `pending`: the
        failure shows what came in time. A server seen answering late gets whole waits again
        (harness.clients.patience.answered_late)."""
        if PATIENCE.late_probed:
            return None
        PATIENCE.late_probed = True
        before = len(self.pending)
        if not self._fill(Deadline(LATE_WINDOW), before + size + EXTRA_CAP, learn=False):
            return None
        late = self._last_heard - deadline.start
        PATIENCE.answered_late(late, warm_up=False)
        del self.pending[before:]
        return late

    def read_line(self, timeout: float, limit: int = 4096) -> bytes | None:
        """The next line (with its b"\\n"), or None if none completes in time."""
        deadline = Deadline(timeout)
        while b"\n" not in self.pending and len(self.pending) < limit:
            if not self._fill(deadline, limit):
                return None
        end = self.pending.find(b"\n")
        if end < 0:
            return None
        line = bytes(self.pending[: end + 1])
        del self.pending[: end + 1]
        return line

    def read_until(self, done, seconds: float, settle: float = 0.1, cap: int = EXTRA_CAP, learn: bool = True) -> bytes:
        """What arrives until `done(bytes_so_far)` holds and then `settle` s pass
        quietly (or `seconds` in all): a demonstration need not wait out the timeout.
        `learn=False` where no reply is owed (a demonstration): its silence does not cut later waits."""
        deadline = Deadline(seconds)
        while len(self.pending) < cap and not deadline.expired():
            window = Deadline(min(settle, deadline.remaining())) if done(bytes(self.pending)) else deadline
            filled = self._fill(window, cap, learn=learn and window is deadline)
            if not filled and (window is deadline or self.closed or done(bytes(self.pending))):
                break
        got = bytes(self.pending)
        self.pending.clear()
        return got

    def expect_close(self, timeout: float, context: str) -> None:
        """The server must close the connection, sending nothing more, within `timeout` (cut, as
        `TcpConnection.expect_eof` is, for a server already seen to keep a connection open)."""
        wait = PATIENCE.close_wait(timeout)
        deadline = Deadline(wait)
        while not self.closed and len(self.pending) < EXTRA_CAP and self._fill(deadline, EXTRA_CAP, learn=False):
            pass
        if self.pending:
            raise CheckFailed(f"{context}: the server sent {len(self.pending)} unexpected bytes",
                              expected=b"", received=bytes(self.pending))
        if not self.closed:
            PATIENCE.kept_open(wait, timeout)
            raise CheckFailed(f"{context}: the server did not close the connection within {wait:g} s"
                              + PATIENCE.why_close_short(wait, timeout))


def lines_hint(expected: bytes, got: bytes, read_call: str = "recv()") -> str:
    """The hint when one expected reply line came back as several, the first ending early: the
    server answered each recv() (`read_call`) as if it were one line (a line in pieces, or lines run together)."""
    if not expected.endswith(b"\n") or expected.count(b"\n") != 1:
        return ""
    first_end = got.find(b"\n")
    if not 0 <= first_end < len(expected) - 1 or got.count(b"\n") < 2:
        return ""
    lines = got.count(b"\n")
    return (f"\nhint: {lines} reply lines came where one was expected, the first ending after "
            f"{first_end + 1} bytes: the server answers each {read_call} as if it were one line, but TCP may "
            f"deliver part of a line, or several lines, in one {read_call}. Keep what arrives in a buffer and answer "
            f"each complete line (up to its newline); keep the rest for the next {read_call}")
