"""Run one conversation of a protocol file against a server, with a segmentation plan.

Rules of this module:
- All clients of a conversation connect at its start, in the order of
  `clients`, before its first step (`connect`); then the steps run in file
  order (`run`). A step of another client waits until the previous step is
  done: one thread drives the whole conversation.
- Plans (SPEC §6 Details): `written` — each send one write; `coalesced` — the
  conversation is cut into stretches at its barriers (a step of another
  client, expect-nothing, close, expect-close), and within a stretch all of
  the client's sends go out first, in one segment, then its expects are
  matched in order; `bytewise` — every send one byte per segment, TCP_NODELAY
  and a short pause (length headers split too); `random` — every send cut at
  offsets drawn from `random.Random(seed:conversation)`, so `--seed` replays.
  `bytewise` and `random` never move a send ahead of an expect.
- Every wait has a deadline: an expect step's `timeout`, else the run's reply
  timeout (a TCP reply wait on the reply timeout follows harness.clients.patience:
  cut once the server was silent for a whole one in this run; see wire.py).
  UDP: a request with no reply is resent, at most 3 sends within the step's
  timeout.
- A failure (`CheckFailed`) leads with its cause, then shows the conversation
  with the failing step marked, what was sent, expected and received, the
  first differing byte and the segmentation used. Everything the server sent
  is shown escaped (repr/hex), never raw.
"""

from __future__ import annotations

import random
import re
import time
from typing import Callable

from harness.clients import reply_address
from harness.clients.connection import TcpConnection
from harness.clients.patience import PATIENCE
from harness.clients.segmentation import PAUSE
from harness.clients.udp import UdpClient, from_another_port
from harness.deadline import Deadline
from harness.errors import CheckFailed, CheckNotRun
from harness.evidence.bytesdiff import describe_mismatch, readable
from harness.protocolfile.model import (
    CLOSE,
    CLOSE_EXPECTED,
    EXPECT,
    MATCH,
    NOTHING,
    SEND,
    SOLO_LABEL,
    Conversation,
    ProtocolFile,
    Step,
    pattern_shown,
)
from harness.protocolfile.plans import COALESCED, Segmentation, stretches
from harness.protocolfile.wire import CLOSED, Received, StreamReader, Wire
from harness.protocolfile.wire_hints import expect_hint, note_answered
from harness.server.launcher import Endpoint

UDP_SENDS = 3
#: A UDP request longer than this, followed by a reply cut short, is blamed on a small recvfrom() buffer.
CUT_REQUEST_MIN = 512
#: Reference answers: (conversation name, step number) -> the message the reference server sent.
Answers = dict[tuple[str, int], bytes]


class _Client:
    """One connection of the conversation (TCP or UDP) and what it last sent."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.conn: TcpConnection | None = None
        self.reader: StreamReader | None = None
        self.udp: UdpClient | None = None
        self.closed = False
        self.last_request: bytes | None = None  # UDP: resent while unanswered
        self.unanswered = False
        self.last_sent = ""  # for the evidence: what the last send put on the wire, and how
        self.last_data: bytes | None = None  # ... and its bytes (for wire_hints)

    def close(self) -> None:
        self.closed = True
        if self.conn is not None:
            self.conn.close()
        if self.udp is not None:
            self.udp.sock.close()


#: The seeds' one-shot server: it answers one request and closes (blind 20 F12: no word on it).
ONE_REQUEST_PER_CONNECTION = (
    "\nhint: the server closed the connection after answering this client's earlier request: it serves one "
    "request per connection. Keep the connection open: loop, reading and answering each message, until the client "
    "closes it (recv() returns b'')")


class ConversationRun:
    """One run of `conversation`: connect, run its steps, close."""

    def __init__(self, protocol: ProtocolFile, conversation: Conversation, endpoint: Endpoint, *,
                 reply_timeout: float, label: str = SOLO_LABEL, segmentation: Segmentation = Segmentation(),
                 answers: Answers | None = None, record: Answers | None = None,
                 connect_timeout: float | None = None, wire_name: str = "") -> None:
        self.protocol = protocol
        self.wire_name = wire_name  # what the wire log calls this run's clients, e.g. "rerun"
        self.conversation = conversation
        self.endpoint = endpoint
        self.reply_timeout = reply_timeout
        self.connect_timeout = connect_timeout or reply_timeout
        self.label = label
        self.segmentation = segmentation
        self.answers = answers if answers is not None else {}
        self.record = record
        self.wire = Wire(protocol)
        self.rng = random.Random(f"{segmentation.seed}:{conversation.name}")
        self.clients = {name: _Client(name) for name in conversation.clients}
        self.done: set[int] = set()
        self.failed_step: Step | None = None  # the step marked >> in the last failure
        self.longest_datagram: tuple[int, Step] | None = None  # UDP: (bytes, step) of the longest request sent

    # -- lifecycle -----------------------------------------------------------
    def __enter__(self) -> ConversationRun:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connect(self, pace: Callable[[], bool] | None = None) -> None:
        """Connect every client, in the order of `clients`; `pace()` is asked
        before each TCP connect (False: the connections already made were never accepted)."""
        for client in self.clients.values():
            # In the wire log a client is named as in the file, with its copy's label in a crowd: "c04 s1", "c04"
            # ("client 1" when a one-client conversation runs alone).
            parts = ([self.wire_name] if self.wire_name else []) + ([] if self.label == SOLO_LABEL else [self.label]) \
                + ([client.name] if len(self.clients) > 1 else [])
            named = " ".join(parts) or None
            if self.protocol.transport == "udp":
                client.udp = UdpClient(self.endpoint, self.reply_timeout, tries=1, label=named)
                continue
            if pace is not None and not pace():
                raise self.failure(self.conversation.steps[0], f"client {client.name!r} could not connect in time: the "
                                   "connections before it waited in the server's accept queue, never accepted (it "
                                   "stopped accepting connections)", before=True)
            try:
                client.conn = TcpConnection(self.endpoint, Deadline(self.connect_timeout), label=named)
            except CheckFailed as failure:
                raise self.failure(self.conversation.steps[0], f"client {client.name!r} could not connect: "
                                   f"{failure.message}", before=True) from None
            client.reader = StreamReader(client.conn, self.wire)

    def close(self) -> None:
        for client in self.clients.values():
            if not client.closed:
                client.close()

    def run(self) -> None:
        """Connect (unless done already) and run every step; CheckFailed on the first broken step."""
        if not any(c.conn or c.udp for c in self.clients.values()):
            self.connect()
        if self.segmentation.plan == COALESCED:
            for stretch in stretches(self.conversation.steps):
                sends = [s for s in stretch if s.kind == SEND]
                if len(sends) > 1:
                    self.send_together(sends)
                    for step in stretch:
                        if step.kind != SEND:
                            self.step(step)
                        self.done.add(step.number)
                else:
                    for step in stretch:
                        self.step(step)
                        self.done.add(step.number)
        else:
            for step in self.conversation.steps:
                self.step(step)
                self.done.add(step.number)
        self.nothing_left_over()

    def nothing_left_over(self) -> None:
        """Rule: bytes already read past a client's last expected reply fail the run, at no extra wait (what
        arrives later is checked only by a final expect-nothing/expect-close; UDP keeps no such buffer)."""
        for client in self.clients.values():
            last = self.conversation.steps_of(client.name)[-1]
            if client.reader is not None and client.reader.pending and last.kind in (EXPECT, MATCH):
                extra = bytes(client.reader.pending)
                raise self.failure(last, f"the server sent {len(extra)} more bytes after the last expected reply: "
                                   f"{readable(extra)}", received=extra)

    def run_until(self, stop: Callable[[Step], bool]) -> Step | None:
        """Run steps as written until `stop(step)` holds; return that step (not run), or None."""
        if not any(c.conn or c.udp for c in self.clients.values()):
            self.connect()
        for step in self.conversation.steps:
            if stop(step):
                return step
            self.step(step)
            self.done.add(step.number)
        return None

    # -- steps -----------------------------------------------------------------
    def step(self, step: Step) -> None:
        client = self.clients[step.client]
        if client.closed and step.kind != CLOSE:
            raise self.failure(step, f"client {step.client!r} has already closed its connection")
        if step.kind == SEND:
            self.send(client, step, self.wire.encode(step.payload(self.label)))
        elif step.kind in (EXPECT, MATCH):
            self.expect(client, step)
        elif step.kind == NOTHING:
            self.expect_nothing(client, step)
        elif step.kind == CLOSE_EXPECTED:
            self.expect_close(client, step)
        else:
            client.close()

    def send_together(self, sends: list[Step]) -> None:
        client = self.clients[sends[0].client]
        data = b"".join(self.wire.encode(s.payload(self.label)) for s in sends)
        steps = ", ".join(str(s.number) for s in sends)
        self.send(client, sends[-1], data, note=f"steps {steps} in one segment")
        self.done.update(s.number for s in sends)

    def send(self, client: _Client, step: Step, data: bytes, note: str = "") -> None:
        if client.udp is not None:
            try:
                client.udp.drain_copies()  # what a slow server still owes for earlier tries
                client.udp.send(data)
            except CheckFailed as failure:
                raise self.failure(step, failure.message) from None
            except OSError as exc:
                raise self.failure(step, f"sending the datagram failed: {exc.strerror or exc}") from None
            client.last_request, client.unanswered = data, True
            if self.longest_datagram is None or len(data) > self.longest_datagram[0]:
                self.longest_datagram = (len(data), step)
            client.last_sent = f"step {step.number} sent the datagram {readable(data)}"
            return
        assert client.conn is not None
        plan = self.segmentation.cut(data, self.wire.header_size, self.rng)
        segments = plan.segments(data) if data else [b""]
        how = note or plan.describe()
        client.last_sent, client.last_data = f"step {step.number} sent {readable(data)} ({how})", data
        try:
            client.conn.send_segments(segments, PAUSE, Deadline(self.reply_timeout + len(segments) * PAUSE + 1))
        except CheckFailed as failure:
            raise self.failure(step, failure.message) from None

    def timeout_of(self, step: Step) -> float:
        return step.timeout or self.reply_timeout

    def expected_message(self, step: Step) -> bytes | None:
        """The exact message an expect step wants (None for expect-match and while recording @reference)."""
        if step.kind == MATCH:
            return None
        if step.reference:
            if self.record is not None:
                return None
            key = (self.conversation.name, step.number)
            if key not in self.answers:
                raise CheckNotRun(f"no reference answer recorded for conversation {self.conversation.name!r}, "
                                   f"step {step.number} (the reference server did not reach it)")
            return self.answers[key]
        return step.payload(self.label)

    def expect(self, client: _Client, step: Step) -> None:
        timeout = self.timeout_of(step)
        expected = self.expected_message(step)
        got = self.receive(client, step, timeout, expected)
        expected_wire = self.wire.encode(expected) if expected is not None else None
        hint = expect_hint(self.wire, client.last_data, expected_wire, got.raw,
                           client.reader is not None and not client.reader.ended) \
            if got.message is None or got.message != expected else ""
        if got.message is None:
            what = "nothing arrived" if not got.raw else f"an incomplete message arrived ({len(got.raw)} bytes)"
            if not got.raw and client.reader is not None and client.reader.ended == CLOSED and any(
                    s.client == client.name and s.kind in (EXPECT, MATCH) and s.number in self.done
                    for s in self.conversation.steps):
                hint += ONE_REQUEST_PER_CONNECTION
            raise self.failure(step, f"{what}: {got.why}{hint}", expected=expected_wire, received=got.raw)
        if step.kind == MATCH:
            self.match(step, got)
        elif expected is not None and got.message != expected:
            cut = self.cut_request(step, got.message, expected)
            failure = (self.failure(cut[0], cut[1], expected=expected_wire, received=got.raw, seen_at=step)
                       if cut is not None else
                       self.failure(step, f"the reply differs from what the protocol requires{hint}",
                                    expected=expected_wire, received=got.raw))
            # The message was taken from the stream; what arrived after it is not part of it (the wire log's
            # marker counts back from the stream's end).
            failure.trailing = len(client.reader.pending) if client.reader is not None else 0
            raise failure
        if self.record is None:  # (the reference's answers prove nothing about the server under test)
            note_answered(self.wire, client.last_data)
        elif step.reference:
            self.record[(self.conversation.name, step.number)] = got.message

    def cut_request(self, step: Step, message: bytes, expected: bytes) -> tuple[Step, str] | None:
        """UDP: a reply that is the start of the expected one, after a long request, points at a server that
        read the request with a too small recvfrom(bufsize) (the rest of a datagram is dropped silently)."""
        if self.longest_datagram is None or not expected.startswith(message) or len(message) >= len(expected):
            return None
        size, request = self.longest_datagram
        if size <= CUT_REQUEST_MIN:
            return None
        return request, (f"the server likely cut this {size}-byte datagram: recvfrom(bufsize) keeps only bufsize "
                         "bytes of a longer datagram and drops the rest silently (recvfrom(1024) keeps 1024) — use "
                         f"recvfrom(65535). Seen at step {step.number}: the reply is {len(message)} bytes instead "
                         f"of {len(expected)}, the start of the expected one")

    def match(self, step: Step, got: Received) -> None:
        assert got.message is not None
        pattern = step.regex(self.label)
        try:
            text = got.message.decode(self.protocol.encoding)
        except UnicodeDecodeError as exc:
            raise self.failure(step, f"the reply is not valid {self.protocol.encoding} ({exc.reason} at byte "
                               f"{exc.start}), so it cannot match {pattern_shown(pattern)}", received=got.raw) from None
        if re.fullmatch(pattern, text) is None:
            raise self.failure(step, f"the reply {readable(got.message)} does not match {pattern_shown(pattern)} "
                               f"(e.g. {pattern_shown(step.example_for(self.label))})", received=got.raw)

    def receive(self, client: _Client, step: Step, timeout: float, expected: bytes | None) -> Received:
        if client.udp is None:
            assert client.reader is not None
            # A step's own timeout is the file's word: waited in full. The run's reply timeout follows PATIENCE.
            patience = PATIENCE if step.timeout is None else None
            return client.reader.next_message(Deadline(timeout), timeout, None if expected is None else len(expected),
                                              patience)
        try:
            if client.unanswered and client.last_request is not None:
                # Its first send was the send step's; the tries and the wait count from this step.
                datagram = client.udp.await_reply(client.last_request, time.monotonic(), UDP_SENDS, timeout)
                sends, timeout = client.udp.last_sends, client.udp.last_wait
            else:
                datagram, sends = client.udp.receive(Deadline(timeout)), 1
        except CheckFailed as failure:
            return Received(None, b"", failure.message)
        if datagram is not None:
            client.unanswered = False
            return Received(datagram, datagram)
        tries = f" ({sends} sends)" if sends > 1 else ""
        finding = (None if client.last_request is None else
                   reply_address.diagnose(self.endpoint.address, client.udp.sock, client.last_request))
        elsewhere = reply_address.hint(finding) if finding is not None else ""
        source = client.udp.reply_source(client.last_request) if not elsewhere and client.last_request else None
        if source is not None:
            return Received(None, b"", "the reply " + from_another_port(source, self.endpoint.port))
        return Received(None, b"", f"no datagram arrived within {round(timeout, 2):g} s{tries}{elsewhere}")

    def expect_nothing(self, client: _Client, step: Step) -> None:
        seconds = step.seconds or 0.0
        if client.udp is not None:
            datagram = client.udp.receive(Deadline(seconds))
            if datagram is not None:
                raise self.failure(step, f"a datagram arrived during the {seconds:g} s of expected silence",
                                   expected=b"", received=datagram)
            return
        assert client.reader is not None
        reader = client.reader
        deadline = Deadline(seconds)
        while not reader.pending and reader.fill(deadline, 4096):
            pass
        if reader.pending:
            raise self.failure(step, f"{len(reader.pending)} bytes arrived during the {seconds:g} s of expected "
                               "silence", expected=b"", received=bytes(reader.pending))
        if reader.ended:
            raise self.failure(step, f"{reader.ended} during the {seconds:g} s it should have stayed open and silent")

    def expect_close(self, client: _Client, step: Step) -> None:
        assert client.reader is not None
        reader = client.reader
        timeout = self.timeout_of(step)
        # A step's own timeout is the file's word: waited in full. The run's reply timeout follows PATIENCE.
        wait = timeout if step.timeout is not None else PATIENCE.close_wait(timeout)
        deadline = Deadline(wait)
        while not reader.ended and len(reader.pending) < 65536 and reader.fill(deadline, 65536):
            pass
        if reader.pending:
            raise self.failure(step, f"the server sent {len(reader.pending)} more bytes instead of closing",
                               expected=b"", received=bytes(reader.pending))
        if not reader.ended:
            if step.timeout is None:
                PATIENCE.kept_open(wait, timeout)
            raise self.failure(step, f"the server did not close the connection within {wait:g} s"
                               + PATIENCE.why_close_short(wait, timeout))

    # -- evidence --------------------------------------------------------------
    def failure(self, step: Step, cause: str, *, expected: bytes | None = None, received: bytes | None = None,
                before: bool = False, seen_at: Step | None = None) -> CheckFailed:
        """`step` is marked >>; `seen_at` (where the evidence arrived, when the cause is an earlier step) <<."""
        self.failed_step = step
        conversation = self.conversation
        who = f" (client {step.client!r})" if len(conversation.clients) > 1 else ""
        message = f"conversation {conversation.name!r}, step {step.number}{who}: {cause}"
        lines = [f"conversation {conversation.name!r} ({self.protocol.transport}, {self.wire.describe()}; "
                 f"label {self.label}; segmentation {self.segmentation.describe()}):"]
        for each in conversation.steps:
            mark = (">>" if each.number == step.number and not before else
                    "<<" if seen_at is not None and each.number == seen_at.number else
                    "  " if each.number in self.done else " .")
            client = f"{each.client}: " if len(conversation.clients) > 1 else ""
            lines.append(f"  {mark} {each.number:>2}  {client}{each.shown(self.label)}")
        sender = self.clients[step.client]
        if sender.last_sent:
            lines.append(f"  sent:     {sender.last_sent}")
        if expected is not None:
            lines.append(f"  expected: {readable(expected)}")
        elif step.kind == MATCH:
            lines.append(f"  expected: a message matching {pattern_shown(step.regex(self.label))}")
        if received is not None:
            lines.append(f"  received: {readable(received)}")
        if expected is not None and received:
            lines.append(describe_mismatch(expected, received))
        failure = CheckFailed(message, expected=expected, received=received, detail="\n".join(lines))
        carrier = sender.conn or sender.udp
        failure.connection = getattr(getattr(carrier, "wire", None), "id", None)
        return failure
