"""A crowd of clients talking to the server at the same time, driven from one
thread with `selectors`, so that 50+ clients stay deterministic and cheap on a
2-core machine (the server, not the harness, must be the bottleneck).

Rules:
- Every client has a `Conversation`: messages it sends one after another, each
  only once the reply to the previous one has fully arrived. Messages of
  different clients interleave on the wire; the order of the first messages is
  shuffled with a seeded `random.Random`, so a run replays identically.
- Every message starts with a readable tag (`<client 07 message 2>`) followed
  by seeded random bytes, so any window of received bytes can be traced back to
  the client and message that sent it (`attribute`): "client 7 received client
  3's bytes" is the evidence of cross-talk.
- TCP clients connect before anyone talks, paced by the server's accept queue
  (read from the kernel by the caller) so that a correct server's small
  `listen()` backlog never overflows; if the server stops accepting, the rest
  are admitted as its queue drains.
- A TCP client closes its connection as soon as its whole echo has arrived
  (a one-client-at-a-time server then still serves everyone, one by one; that
  bug is the idle-client check's business, not this one's).
- Progress is judged crowd-wide: the run stalls only if *no* byte moves for the
  reply timeout. It stops at the first misdelivered byte (the evidence is in).
- Reads are capped at what a client expects plus `EXTRA_CAP`.
"""

from __future__ import annotations

import errno
import random
import selectors
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from harness.evidence import wirelog
from harness.system.acceptqueue import WINDOW as ACCEPT_WINDOW
from harness.system.acceptqueue import AcceptQueue, accept_queue_at, wait_for_accept_room
from harness.clients.connection import closing, recv_and_ack, retry_offsets
from harness.deadline import Deadline, poll_until
from harness.errors import CheckFailed
from harness.server.launcher import Endpoint, ServerProcess
from harness.clients.patience import PATIENCE

T = TypeVar("T")
EXTRA_CAP = 4096
#: How many bytes of a misdelivery are used to find who sent them.
TRACE_WINDOW = 24
#: However the crowd progresses, a run ends after this long.
RUN_LIMIT = 60.0
#: Without a view of the accept queue (psutil platforms): the pause between batches of connects.
BLIND_PACE = 0.005


def accept_queue_of(instance: ServerProcess) -> AcceptQueue | None:
    """The server's accept queue as the kernel reports it (see harness.system.acceptqueue);
    None where the probe cannot tell (psutil)."""
    if not instance.probe.reads_accept_queue or instance.endpoint is None:
        return None
    return accept_queue_at(instance.endpoint.port)


def connect_while_accepting(connect: Callable[[], T], count: int, unaccepted: AcceptQueue | None,
                            wait: float, into: list[T]) -> None:
    """Append up to `count` clients from `connect()` to `into`, each once the
    accept queue has room; stop early if it stays full for `wait` seconds
    (then `fewer_connected` says so, unless the clients' replies show more).
    `into` is the caller's, so whatever was connected is closed by its caller."""
    for _ in range(count):
        if not wait_for_accept_room(unaccepted, Deadline(wait)):
            PATIENCE.silence(wait, wait)  # it left its accept queue full for a whole timeout
            return
        into.append(connect())


def fewer_connected(connected: int, wanted: int, wait: float) -> CheckFailed:
    return CheckFailed(f"only {connected} of {wanted} clients could connect: the server's accept queue stayed "
                       f"full for {wait:g} s (it stopped accepting connections)")


@dataclass(frozen=True)
class Conversation:
    """What one client of the crowd sends, in order."""

    client: int
    messages: tuple[bytes, ...]

    @property
    def stream(self) -> bytes:
        """Everything the client sends (and, from an echo server, gets back)."""
        return b"".join(self.messages)

    def message_at(self, offset: int) -> tuple[int, int]:
        """(message index, offset inside it) of byte `offset` of the stream."""
        for index, message in enumerate(self.messages):
            if offset < len(message):
                return index, offset
            offset -= len(message)
        return len(self.messages), offset


def message_tag(client: int, index: int) -> bytes:
    return f"<client {client:02d} message {index}>".encode()


def tagged_conversations(
    clients: int, seed: int, messages: int = 4, max_filler: int = 1200, encode=None
) -> list[Conversation]:
    """Distinct conversations: tag + seeded random filler of varied length + b"\\n".

    Each message ends with a newline so that a server which (wrongly) waits for
    one fails `echo::prompt_reply`, not this crowd. `encode` wraps each payload
    for the wire (e.g. a tcp-framed frame header).
    """
    rng = random.Random(seed)
    result = []
    for client in range(clients):
        payloads = [message_tag(client, index) + rng.randbytes(rng.randrange(8, max_filler)) + b"\n"
                    for index in range(messages)]
        result.append(Conversation(client, tuple(encode(p) if encode else p for p in payloads)))
    return result


@dataclass(frozen=True)
class Origin:
    """Where a window of bytes was first sent: which client, which message, which byte."""

    client: int
    message: int
    offset: int

    def describe(self, receiver: int, unit: str = "message") -> str:
        owner = "its own" if self.client == receiver else f"client {self.client}'s"
        return f"{owner} {unit} {self.message} (from its byte {self.offset})"


def attribute(window: bytes, conversations: list[Conversation], prefer: int | None = None) -> Origin | None:
    """Which client sent `window`? None if no client's stream contains it.

    `prefer` is searched first (the receiver: its own bytes again, duplicated
    or out of place). Windows shorter than 8 bytes are too ambiguous to trace.
    """
    if len(window) < 8:
        return None
    ordered = sorted(conversations, key=lambda c: c.client != prefer)
    for conversation in ordered:
        at = conversation.stream.find(window)
        if at >= 0:
            message, offset = conversation.message_at(at)
            return Origin(conversation.client, message, offset)
    return None


@dataclass(frozen=True)
class Misdelivery:
    """Client `client` received, at `offset` of its echo, bytes that are not its own there."""

    client: int
    offset: int
    received: bytes
    origin: Origin | None
    #: UDP: the index of the datagram awaiting its reply (`received` is the whole wrong reply).
    datagram: int | None = None
    #: UDP: what the wrong reply was, when it is not simply some client's datagram.
    source: str | None = None
    #: UDP: "merged" (the reply held several datagrams' bytes: a stream in between lost their
    #: boundaries) or "cut" (the reply is the start of the sender's own datagram); "" otherwise.
    shape: str = ""

    def describe(self, unit: str = "message") -> str:
        if self.datagram is not None:
            if self.source is not None:
                source = self.source
            elif self.origin is None:
                source = "a datagram that no client sent"
            elif self.origin.client == self.client:
                source = f"its own datagram {self.origin.message} again"
            else:
                source = f"client {self.origin.client}'s datagram {self.origin.message}"
            return f"client {self.client} received, in reply to its datagram {self.datagram}, {source}"
        if self.origin is None:
            source = "bytes that no client sent"
        elif self.origin.client == self.client:
            source = f"{self.origin.describe(self.client, unit)} out of place"
        else:
            source = f"bytes of {self.origin.describe(self.client, unit)}"
        return f"client {self.client} received {source} at byte {self.offset} of its echo"


@dataclass
class CrowdResult:
    conversations: list[Conversation]
    received: list[bytearray]
    connected: int = 0
    connect_errors: dict[int, str] = field(default_factory=dict)
    misdeliveries: list[Misdelivery] = field(default_factory=list)
    #: Client -> why it ended early (closed, reset, lost datagram...).
    ended: dict[int, str] = field(default_factory=dict)
    stall: str = ""
    elapsed: float = 0.0
    #: The first client that had to wait to connect until the server accepted earlier ones.
    deferred_from: int | None = None

    def complete(self, client: int) -> bool:
        return bytes(self.received[client]) == self.conversations[client].stream

    def incomplete(self) -> list[int]:
        return [c.client for c in self.conversations if not self.complete(c.client)]

    @property
    def ok(self) -> bool:
        return not self.misdeliveries and not self.connect_errors and not self.incomplete()


def _check_prefix(result: CrowdResult, client: int, start: int) -> bool:
    """Record a misdelivery if the bytes from `start` on differ from the expected ones."""
    expected = result.conversations[client].stream
    received = result.received[client]
    if received[start:] == expected[start : len(received)]:
        return True
    for offset in range(start, len(received)):
        if offset >= len(expected) or received[offset] != expected[offset]:
            # Foreign messages often begin like ours (a tag "<client 0", a frame header 00 00): trace
            # from the start of the message the difference falls in, then from the difference itself.
            _, inner = result.conversations[client].message_at(offset)
            starts = (offset - inner, offset) if 0 < inner < TRACE_WINDOW else (offset,)
            for at in starts:
                window = bytes(received[at : at + TRACE_WINDOW])
                origin = attribute(window, result.conversations, prefer=client)
                if origin is not None:
                    break
            result.misdeliveries.append(Misdelivery(client, offset, window, origin))
            return False
    return True


# -- TCP ---------------------------------------------------------------------
@dataclass
class _TcpClient:
    conversation: Conversation
    sock: socket.socket | None = None
    connect_deadline: Deadline | None = None
    connected: bool = False
    next_message: int = 0
    outgoing: memoryview = field(default_factory=lambda: memoryview(b""))
    awaiting: int = 0  # total echo bytes that must have arrived before the next message
    done: bool = False
    wire: Any = wirelog.NO_WIRE


class _TcpCrowd:
    """One run: admission (connects), then conversations, in one selector loop."""

    def __init__(self, endpoint: Endpoint, conversations: list[Conversation], reply_timeout: float,
                 connect_timeout: float, unaccepted: AcceptQueue | None) -> None:
        self.endpoint = endpoint
        self.reply_timeout = reply_timeout
        self.connect_timeout = connect_timeout
        self.unaccepted = unaccepted
        self.result = CrowdResult(conversations, [bytearray() for _ in conversations])
        self.clients = [_TcpClient(c) for c in conversations]
        self.sel = selectors.DefaultSelector()
        self.last_progress = time.monotonic()
        self.room = 0
        self.batch_started = 0.0

    # -- admission -----------------------------------------------------------
    def has_room(self) -> bool:
        """May one more client connect without overflowing the accept queue?
        After a look at the queue, the room it showed is used up before looking again."""
        if self.unaccepted is None:
            # Blind (no kernel view): a batch of ACCEPT_WINDOW connects every BLIND_PACE seconds.
            if self.room <= 0 and time.monotonic() - self.batch_started >= BLIND_PACE:
                self.room, self.batch_started = ACCEPT_WINDOW, time.monotonic()
            if self.room > 0:
                self.room -= 1
                return True
            return False
        if self.room <= 0:
            self.room = self.unaccepted().room
        if self.room > 0:
            self.room -= 1
            return True
        return False

    def open(self, client: _TcpClient) -> None:
        """Start a non-blocking connect; its completion shows as 'writable'."""
        sock = socket.socket(self.endpoint.family, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        client.sock = sock
        client.wire = wirelog.connection("tcp", f"client {client.conversation.client}")
        client.connect_deadline = Deadline(self.connect_timeout)
        code = sock.connect_ex(self.endpoint.address)
        if code not in (0, errno.EISCONN, errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
            self.connect_failed(client, errno.errorcode.get(code, str(code)))
            return
        self.sel.register(sock, selectors.EVENT_WRITE, client)

    def connect_failed(self, client: _TcpClient, reason: str) -> None:
        client.wire.refused(reason)
        self.result.connect_errors[client.conversation.client] = reason
        client.done = True
        if client.sock is not None:
            self.forget(client)

    def forget(self, client: _TcpClient) -> None:
        try:
            self.sel.unregister(client.sock)
        except (KeyError, ValueError):
            pass
        if client.connected and client.sock.fileno() != -1:
            client.wire.event(*closing(client.sock))
        client.sock.close()

    def finish_connect(self, client: _TcpClient) -> bool:
        code = client.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self.connect_failed(client, errno.errorcode.get(code, str(code)))
            return False
        client.connected = True
        client.wire.connected(client.sock.getsockname()[1])
        self.result.connected += 1
        self.last_progress = time.monotonic()
        self.sel.modify(client.sock, selectors.EVENT_READ, client)
        return True

    def admit_all(self, pace_wait: float) -> list[_TcpClient]:
        """Connect every client while the server keeps accepting; return the
        ones deferred because it stopped (one client at a time)."""
        for index, client in enumerate(self.clients):
            if not poll_until(self.has_room, Deadline(pace_wait), interval=0.0005, max_interval=0.005):
                self.result.deferred_from = client.conversation.client
                return self.clients[index:]
            self.open(client)
        return []

    def wait_connected(self) -> None:
        """Let the admitted clients' connects complete (bounded), so that every
        connected client starts talking at once."""
        connecting = [c for c in self.clients if c.sock is not None and not c.connected and not c.done]
        deadline = Deadline(self.connect_timeout)
        while connecting and not deadline.expired():
            for key, _ in self.sel.select(deadline.remaining()):
                self.finish_connect(key.data)
            connecting = [c for c in connecting if not c.connected and not c.done]
        for client in connecting:
            self.connect_failed(client, f"not connected within {self.connect_timeout:g} s")

    # -- conversation ----------------------------------------------------------
    def converse(self, deferred: list[_TcpClient], seed: int) -> None:
        limit = Deadline(RUN_LIMIT)
        order = [c for c in self.clients if c.connected]
        random.Random(seed).shuffle(order)
        for client in order:
            self.next_message(client)
        self.last_progress = time.monotonic()
        while not self.result.misdeliveries:
            active = [c for c in self.clients if not c.done]
            if not active:
                return
            if deferred and self.has_room():
                client = deferred.pop(0)
                self.open(client)
                self.last_progress = time.monotonic()
            idle_for = time.monotonic() - self.last_progress
            if idle_for >= self.reply_timeout or limit.expired():
                self.stalled(active, limit)
                return
            wait = self.reply_timeout - idle_for
            events = self.sel.select(min(wait, 0.005) if deferred else wait)
            for key, mask in events:
                client = key.data
                if not client.connected:
                    if self.finish_connect(client):
                        self.next_message(client)
                    continue
                if mask & selectors.EVENT_WRITE and client.outgoing:
                    self.send_some(client)
                if mask & selectors.EVENT_READ and not client.done:
                    self.receive_some(client)
                if client.done:
                    # Nothing is left unread, so this is a clean FIN, never an RST.
                    self.forget(client)
            for client in self.clients:
                if client.sock is not None and not client.connected and not client.done \
                        and client.connect_deadline.expired():
                    self.connect_failed(client, f"not connected within {self.connect_timeout:g} s")

    def stalled(self, active: list[_TcpClient], limit: Deadline) -> None:
        result = self.result
        if limit.expired():
            result.stall = f"the crowd was still not done after {RUN_LIMIT:g} s"
        else:
            result.stall = f"no byte moved for {self.reply_timeout:g} s"
        never = [c for c in active if c.sock is None or not c.connected]
        result.stall += f"; {len(active)} client(s) still waiting"
        for client in active:
            if client.connected:
                client.wire.silence()
        if never:
            result.stall += (f", {len(never)} of them not even connected (the server left its accept queue "
                             "full: it stopped accepting connections)")

    def next_message(self, client: _TcpClient) -> None:
        message = client.conversation.messages[client.next_message]
        client.next_message += 1
        client.awaiting += len(message)
        client.outgoing = memoryview(message)
        self.sel.modify(client.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)

    def send_some(self, client: _TcpClient) -> None:
        try:
            sent = client.sock.send(client.outgoing)
        except BlockingIOError:
            return
        except OSError as exc:
            client.wire.event(wirelog.SEND_FAILED, exc.strerror or str(exc))
            self.end(client, f"sending failed: {exc.strerror or exc}")
            return
        self.last_progress = time.monotonic()
        client.wire.sent(client.outgoing[:sent])
        client.outgoing = client.outgoing[sent:]
        if not client.outgoing:
            self.sel.modify(client.sock, selectors.EVENT_READ, client)

    def receive_some(self, client: _TcpClient) -> None:
        number = client.conversation.client
        received = self.result.received[number]
        expected = len(client.conversation.stream)
        try:
            chunk = recv_and_ack(client.sock, expected + EXTRA_CAP - len(received))
        except BlockingIOError:
            return
        except OSError as exc:
            client.wire.event(wirelog.SERVER_RST)
            self.end(client, "the server reset the connection" if isinstance(exc, ConnectionResetError)
                     else f"receiving failed: {exc.strerror or exc}")
            return
        if not chunk:
            client.wire.event(wirelog.SERVER_FIN)
            self.end(client, "the server closed the connection")
            return
        client.wire.got(chunk)
        self.last_progress = time.monotonic()
        start = len(received)
        received += chunk
        if not _check_prefix(self.result, number, start):
            self.traced(client)
            client.done = True
            return
        if len(received) >= expected:
            client.done = True
        elif len(received) >= client.awaiting and not client.outgoing:
            self.next_message(client)

    def traced(self, client: _TcpClient) -> None:
        """The wire log: the chunk just received was another client's."""
        origin = self.result.misdeliveries[-1].origin
        client.wire.misdelivered(self.clients[origin.client].wire if origin is not None else None)

    def end(self, client: _TcpClient, reason: str) -> None:
        self.result.ended[client.conversation.client] = reason
        client.done = True


def run_tcp_crowd(endpoint: Endpoint, conversations: list[Conversation], reply_timeout: float,
                  connect_timeout: float, seed: int, unaccepted: AcceptQueue | None = None) -> CrowdResult:
    """Connect every client, then run all conversations interleaved.

    `unaccepted` (how many connections wait in the server's accept queue, read
    from the kernel, with its backlog) paces the connects: a burst of 50 would
    overflow a correct server's `listen(5)` (or `listen(1)`) backlog, and the kernel would then hold the overflow
    back for seconds (SYN-ACK retransmissions) — slow, not wrong. If the
    server stops accepting (one client at a time), the remaining clients are
    admitted as its queue drains, while the connected ones talk. Without
    `unaccepted` the clients connect in batches of ACCEPT_WINDOW, BLIND_PACE
    apart.
    """
    crowd = _TcpCrowd(endpoint, conversations, reply_timeout, connect_timeout, unaccepted)
    started = time.monotonic()
    try:
        deferred = crowd.admit_all(pace_wait=reply_timeout)
        crowd.wait_connected()
        if not crowd.result.connect_errors:
            crowd.converse(deferred, seed)
    finally:
        for client in crowd.clients:
            if client.sock is not None:
                if client.connected and client.sock.fileno() != -1:
                    client.wire.event(*closing(client.sock))
                client.sock.close()
        crowd.sel.close()
        crowd.result.elapsed = time.monotonic() - started
    return crowd.result


# -- UDP ---------------------------------------------------------------------
@dataclass
class _UdpClient:
    conversation: Conversation
    sock: socket.socket
    next_message: int = 0
    tries: int = 0
    first_sent: float = 0.0
    try_deadline: Deadline | None = None
    answered: set[int] = field(default_factory=set)
    done: bool = False
    wire: Any = wirelog.NO_WIRE


def run_udp_crowd(endpoint: Endpoint, conversations: list[Conversation], reply_timeout: float,
                  seed: int, tries: int = 3) -> CrowdResult:
    """Every client sends its datagrams one at a time from its own socket; each
    reply must be the datagram that client sent. A datagram counts as lost
    only after `tries` tries. A repeated reply to an already answered datagram
    of the same client (our own retry) is not an error."""
    result = CrowdResult(conversations, [bytearray() for _ in conversations])
    started = time.monotonic()
    clients: list[_UdpClient] = []
    limit = Deadline(RUN_LIMIT)
    try:
        with selectors.DefaultSelector() as sel:
            for conversation in conversations:
                sock = socket.socket(endpoint.family, socket.SOCK_DGRAM)
                clients.append(_UdpClient(conversation, sock, wire=wirelog.connection(
                    "udp", f"client {conversation.client}")))
                # Connected: only the server's address can reach this socket.
                sock.connect(endpoint.address)
                clients[-1].wire.connected(sock.getsockname()[1])
                sock.setblocking(False)
                sel.register(sock, selectors.EVENT_READ, clients[-1])
            result.connected = len(clients)
            order = list(clients)
            random.Random(seed).shuffle(order)
            for client in order:
                _udp_send(client, reply_timeout, tries, result)
            while not result.misdeliveries and not limit.expired():
                waiting = [c for c in clients if not c.done]
                if not waiting:
                    break
                soonest = min((c.try_deadline.remaining() for c in waiting if c.try_deadline), default=0.0)
                for key, _ in sel.select(soonest):
                    _udp_receive(key.data, conversations, reply_timeout, tries, result, clients)
                for client in waiting:
                    if not client.done and client.try_deadline and client.try_deadline.expired():
                        client.wire.silence()
                        if client.tries >= tries:
                            result.ended[client.conversation.client] = (
                                f"no reply to its datagram {client.next_message} after {tries} tries "
                                f"within {reply_timeout:g} s")
                            client.done = True
                        else:
                            _udp_send(client, reply_timeout, tries, result)
            else:
                if limit.expired():
                    result.stall = f"the crowd was still not done after {RUN_LIMIT:g} s"
    finally:
        for client in clients:
            client.sock.close()
        result.elapsed = time.monotonic() - started
    return result


def _udp_send(client: _UdpClient, reply_timeout: float, tries: int, result: CrowdResult) -> None:
    """One send of the client's current datagram; its tries fit in one reply timeout (`retry_offsets`)."""
    if client.tries == 0:
        client.first_sent = time.monotonic()
    client.tries += 1
    offsets = retry_offsets(reply_timeout, tries)
    until = offsets[client.tries] if client.tries < len(offsets) else reply_timeout
    client.try_deadline = Deadline(until, client.first_sent)
    try:
        client.sock.send(client.conversation.messages[client.next_message])
        client.wire.sent(client.conversation.messages[client.next_message])
    except BlockingIOError:
        pass  # counts as a lost try
    except OSError as exc:
        result.ended[client.conversation.client] = f"sending failed: {exc.strerror or exc} (the server stopped?)"
        client.done = True


def _udp_receive(client: _UdpClient, conversations: list[Conversation], reply_timeout: float, tries: int,
                 result: CrowdResult, clients: list[_UdpClient] = ()) -> None:
    messages = client.conversation.messages
    for _ in range(64):  # drain what is queued, boundedly
        try:
            reply = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as exc:
            client.wire.refused(exc.strerror or str(exc))
            result.ended[client.conversation.client] = f"receiving failed: {exc.strerror or exc} (the server stopped?)"
            client.done = True
            return
        client.wire.got(reply)
        number = client.conversation.client
        if client.done:
            continue
        if client.next_message < len(messages) and reply == messages[client.next_message]:
            result.received[number] += reply
            client.answered.add(client.next_message)
            client.next_message += 1
            client.tries = 0
            if client.next_message == len(messages):
                client.done = True
                client.try_deadline = None
            else:
                _udp_send(client, reply_timeout, tries, result)
            continue
        if reply in (messages[i] for i in client.answered):
            continue  # a late answer to our own retry
        offset = len(result.received[number])
        exact = next(
            (Origin(c.client, i, 0) for c in conversations for i, m in enumerate(c.messages) if m == reply), None
        )
        origin = exact or attribute(reply[:TRACE_WINDOW], conversations, prefer=number)
        expected = messages[client.next_message]
        shape = "" if exact else _odd_shape(reply, expected)
        source = None if exact else _describe_odd_reply(reply, expected, origin, conversations, number)
        result.misdeliveries.append(Misdelivery(number, offset, reply, origin, datagram=client.next_message,
                                                source=source, shape=shape))
        client.wire.misdelivered(next((c.wire for c in clients if origin and c.conversation.client == origin.client),
                                      None))
        client.done = True
        return


def _describe_odd_reply(reply: bytes, expected: bytes, origin: Origin | None, conversations: list[Conversation],
                        receiver: int) -> str:
    """A reply that is no client's datagram: merged datagrams, or a piece of one."""
    size, shape = f"a {len(reply)}-byte datagram", _odd_shape(reply, expected)
    if shape == "cut":
        return f"its own datagram cut to {len(reply)} of {len(expected)} bytes"
    if shape == "merged":
        rest = attribute(reply[len(expected) : len(expected) + TRACE_WINDOW], conversations, prefer=receiver)
        after = f" ({_datagram_origin(rest, receiver)})" if rest else ""
        return f"{size}: its own datagram followed by {len(reply) - len(expected)} more bytes{after}"
    if origin is None:
        return f"{size} that no client sent"
    return f"{size} beginning with {_datagram_origin(origin, receiver)}"


def _datagram_origin(origin: Origin, receiver: int) -> str:
    owner = "its own" if origin.client == receiver else f"client {origin.client}'s"
    return f"{owner} datagram {origin.message}" + (f" from its byte {origin.offset}" if origin.offset else "")


def _odd_shape(reply: bytes, expected: bytes) -> str:
    if reply.startswith(expected) and len(reply) > len(expected):
        return "merged"
    if expected.startswith(reply) and len(reply) < len(expected):
        return "cut"
    return ""
