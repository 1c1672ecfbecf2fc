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

from harness.deadline import Deadline
from harness.launcher import Endpoint

EXTRA_CAP = 4096
#: How many bytes of a misdelivery are used to find who sent them.
TRACE_WINDOW = 24
#: However the crowd progresses, a run ends after this long.
RUN_LIMIT = 60.0


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

    def describe(self, receiver: int) -> str:
        owner = "its own" if self.client == receiver else f"client {self.client}'s"
        return f"{owner} message {self.message} (from its byte {self.offset})"


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

    def describe(self) -> str:
        if self.datagram is not None:
            if self.origin is None:
                source = "a datagram that no client sent"
            elif self.origin.client == self.client:
                source = f"its own datagram {self.origin.message} again"
            else:
                source = f"client {self.origin.client}'s datagram {self.origin.message}"
            return f"client {self.client} received {source} in reply to its datagram {self.datagram}"
        if self.origin is None:
            source = "bytes that no client sent"
        elif self.origin.client == self.client:
            source = f"{self.origin.describe(self.client)} out of place"
        else:
            source = f"bytes of {self.origin.describe(self.client)}"
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
            window = bytes(received[offset : offset + TRACE_WINDOW])
            origin = attribute(window, result.conversations, prefer=client)
            result.misdeliveries.append(Misdelivery(client, offset, window, origin))
            return False
    return True


# -- TCP ---------------------------------------------------------------------
@dataclass
class _TcpClient:
    conversation: Conversation
    sock: socket.socket
    next_message: int = 0
    outgoing: memoryview = field(default_factory=lambda: memoryview(b""))
    awaiting: int = 0  # total echo bytes that must have arrived before the next message
    done: bool = False


def run_tcp_crowd(endpoint: Endpoint, conversations: list[Conversation], reply_timeout: float,
                  connect_timeout: float, seed: int) -> CrowdResult:
    """Connect every client first, then run all conversations interleaved."""
    result = CrowdResult(conversations, [bytearray() for _ in conversations])
    started = time.monotonic()
    clients = _connect_all(endpoint, conversations, Deadline(connect_timeout), result)
    try:
        if not result.connect_errors:
            _converse(clients, result, reply_timeout, seed)
    finally:
        for client in clients:
            client.sock.close()
        result.elapsed = time.monotonic() - started
    return result


def _connect_all(endpoint: Endpoint, conversations: list[Conversation], deadline: Deadline,
                 result: CrowdResult) -> list[_TcpClient]:
    clients = []
    pending: dict[int, _TcpClient] = {}
    with selectors.DefaultSelector() as sel:
        for conversation in conversations:
            sock = socket.socket(endpoint.family, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            client = _TcpClient(conversation, sock)
            clients.append(client)
            code = sock.connect_ex(endpoint.address)
            if code in (0, errno.EISCONN):
                result.connected += 1
            elif code in (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
                pending[sock.fileno()] = client
                sel.register(sock, selectors.EVENT_WRITE, client)
            else:
                result.connect_errors[conversation.client] = errno.errorcode.get(code, str(code))
        while pending:
            events = sel.select(deadline.remaining())
            if not events:
                for client in pending.values():
                    result.connect_errors[client.conversation.client] = f"not connected within {deadline.seconds:g} s"
                break
            for key, _ in events:
                client = key.data
                sel.unregister(client.sock)
                del pending[client.sock.fileno()]
                code = client.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    result.connect_errors[client.conversation.client] = errno.errorcode.get(code, str(code))
                else:
                    result.connected += 1
    return clients


def _converse(clients: list[_TcpClient], result: CrowdResult, reply_timeout: float, seed: int) -> None:
    limit = Deadline(RUN_LIMIT)
    with selectors.DefaultSelector() as sel:
        order = list(clients)
        random.Random(seed).shuffle(order)
        for client in order:
            sel.register(client.sock, selectors.EVENT_READ, client)
            _next_message(client, sel)
        active = len(clients)
        while active and not result.misdeliveries:
            events = sel.select(min(reply_timeout, limit.remaining()))
            if not events:
                waiting = [c.conversation.client for c in clients if not c.done]
                result.stall = (f"no byte moved for {reply_timeout:g} s" if not limit.expired()
                                else f"the crowd was still not done after {RUN_LIMIT:g} s")
                result.stall += f"; {len(waiting)} client(s) still waiting"
                break
            for key, mask in events:
                client = key.data
                if mask & selectors.EVENT_WRITE and client.outgoing:
                    _send_some(client, sel, result)
                if mask & selectors.EVENT_READ and not client.done:
                    _receive_some(client, sel, result)
                if client.done:
                    active -= 1
                    sel.unregister(client.sock)
                    # Nothing is left unread, so this is a clean FIN, never an RST.
                    client.sock.close()


def _next_message(client: _TcpClient, sel: selectors.BaseSelector) -> None:
    messages = client.conversation.messages
    message = messages[client.next_message]
    client.next_message += 1
    client.awaiting += len(message)
    client.outgoing = memoryview(message)
    sel.modify(client.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)


def _send_some(client: _TcpClient, sel: selectors.BaseSelector, result: CrowdResult) -> None:
    try:
        sent = client.sock.send(client.outgoing)
    except BlockingIOError:
        return
    except OSError as exc:
        _end(client, result, f"sending failed: {exc.strerror or exc}")
        return
    client.outgoing = client.outgoing[sent:]
    if not client.outgoing:
        sel.modify(client.sock, selectors.EVENT_READ, client)


def _receive_some(client: _TcpClient, sel: selectors.BaseSelector, result: CrowdResult) -> None:
    number = client.conversation.client
    received = result.received[number]
    expected = len(client.conversation.stream)
    try:
        chunk = client.sock.recv(expected + EXTRA_CAP - len(received))
    except BlockingIOError:
        return
    except OSError as exc:
        _end(client, result, "the server reset the connection" if isinstance(exc, ConnectionResetError)
             else f"receiving failed: {exc.strerror or exc}")
        return
    if not chunk:
        _end(client, result, "the server closed the connection")
        return
    start = len(received)
    received += chunk
    if not _check_prefix(result, number, start):
        client.done = True
        return
    if len(received) >= expected:
        client.done = True
    elif len(received) >= client.awaiting and not client.outgoing:
        _next_message(client, sel)


def _end(client: _TcpClient, result: CrowdResult, reason: str) -> None:
    result.ended[client.conversation.client] = reason
    client.done = True


# -- UDP ---------------------------------------------------------------------
@dataclass
class _UdpClient:
    conversation: Conversation
    sock: socket.socket
    next_message: int = 0
    tries: int = 0
    try_deadline: Deadline | None = None
    answered: set[int] = field(default_factory=set)
    done: bool = False


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
                clients.append(_UdpClient(conversation, sock))
                # Connected: only the server's address can reach this socket.
                sock.connect(endpoint.address)
                sock.setblocking(False)
                sel.register(sock, selectors.EVENT_READ, clients[-1])
            result.connected = len(clients)
            order = list(clients)
            random.Random(seed).shuffle(order)
            for client in order:
                _udp_send(client, reply_timeout, result)
            while not result.misdeliveries and not limit.expired():
                waiting = [c for c in clients if not c.done]
                if not waiting:
                    break
                soonest = min((c.try_deadline.remaining() for c in waiting if c.try_deadline), default=0.0)
                for key, _ in sel.select(soonest):
                    _udp_receive(key.data, conversations, reply_timeout, result)
                for client in waiting:
                    if not client.done and client.try_deadline and client.try_deadline.expired():
                        if client.tries >= tries:
                            result.ended[client.conversation.client] = (
                                f"no reply to its datagram {client.next_message} after {tries} tries "
                                f"({reply_timeout:g} s each)")
                            client.done = True
                        else:
                            _udp_send(client, reply_timeout, result)
            else:
                if limit.expired():
                    result.stall = f"the crowd was still not done after {RUN_LIMIT:g} s"
    finally:
        for client in clients:
            client.sock.close()
        result.elapsed = time.monotonic() - started
    return result


def _udp_send(client: _UdpClient, reply_timeout: float, result: CrowdResult) -> None:
    client.tries += 1
    client.try_deadline = Deadline(reply_timeout)
    try:
        client.sock.send(client.conversation.messages[client.next_message])
    except BlockingIOError:
        pass  # counts as a lost try
    except OSError as exc:
        result.ended[client.conversation.client] = f"sending failed: {exc.strerror or exc} (the server stopped?)"
        client.done = True


def _udp_receive(client: _UdpClient, conversations: list[Conversation], reply_timeout: float,
                 result: CrowdResult) -> None:
    messages = client.conversation.messages
    for _ in range(64):  # drain what is queued, boundedly
        try:
            reply = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as exc:
            result.ended[client.conversation.client] = f"receiving failed: {exc.strerror or exc} (the server stopped?)"
            client.done = True
            return
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
                _udp_send(client, reply_timeout, result)
            continue
        if reply in (messages[i] for i in client.answered):
            continue  # a late answer to our own retry
        offset = len(result.received[number])
        origin = next(
            (Origin(c.client, i, 0) for c in conversations for i, m in enumerate(c.messages) if m == reply), None
        ) or attribute(reply[:TRACE_WINDOW], conversations, prefer=number)
        result.misdeliveries.append(Misdelivery(number, offset, reply, origin, datagram=client.next_message))
        client.done = True
        return
