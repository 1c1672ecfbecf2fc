"""A crowd of TCP clients talking to the server at the same time, driven from
one thread with `selectors`, so that 50+ clients stay deterministic and cheap
on a 2-core machine (the server, not the harness, must be the bottleneck).

Rules:
- Every client has a `Conversation` (`harness.evidence.crosstalk`): messages
  it sends one after another, each only once the reply to the previous one has
  fully arrived. Messages of different clients interleave on the wire; the
  order of the first messages is shuffled with a seeded `random.Random`, so a
  run replays identically.
- Every message is tagged, so that misdelivered bytes are traced back to the
  client that sent them (`harness.evidence.crosstalk.check_prefix`).
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

The UDP crowd is `harness.clients.udp_crowd`.
"""

from __future__ import annotations

import errno
import random
import selectors
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from harness.clients.connection import TcpConnection, closing, recv_and_ack
from harness.clients.patience import PATIENCE
from harness.deadline import Deadline, poll_until
from harness.errors import CheckFailed
from harness.evidence import wirelog
from harness.evidence.crosstalk import OVERDUE, Conversation, CrowdResult, check_prefix
from harness.server.launcher import Endpoint, ServerProcess
from harness.system.acceptqueue import WINDOW as ACCEPT_WINDOW
from harness.system.acceptqueue import AcceptQueue, accept_queue_at, wait_for_accept_room

T = TypeVar("T")
EXTRA_CAP = 4096
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
    waiting_since: float | None = None  # its message is sent whole and no reply byte has come since
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
        self.idle_limit = reply_timeout
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
        # A server already silent for a whole reply timeout earlier in the run is not waited for
        # a whole one again (harness.clients.patience); a correct server always gets the whole timeout.
        self.idle_limit = PATIENCE.wait(self.reply_timeout)
        while not self.result.misdeliveries:
            active = [c for c in self.clients if not c.done]
            if not active:
                return
            if deferred and self.has_room():
                client = deferred.pop(0)
                self.open(client)
                self.last_progress = time.monotonic()
            idle_for = time.monotonic() - self.last_progress
            if idle_for >= self.idle_limit or limit.expired():
                self.stalled(active, limit)
                return
            wait = self.idle_limit - idle_for
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
            if self.overdue():
                return

    def overdue(self) -> bool:
        """Whether a client has waited OVERDUE reply timeouts for a reply while others were answered (a
        server answering one message at a time, slowly: blind 19); then the run ends, with the evidence."""
        now = time.monotonic()
        for client in self.clients:
            since = client.waiting_since
            if since is not None and not client.done and now - since > OVERDUE * self.reply_timeout:
                self.result.waited(client.conversation.client, client.next_message - 1, now - since)
                client.wire.silence()
                return True
        return False

    def stalled(self, active: list[_TcpClient], limit: Deadline) -> None:
        result = self.result
        if limit.expired():
            result.stall = f"the crowd was still not done after {RUN_LIMIT:g} s"
        else:
            result.stall = (f"no byte moved for {self.idle_limit:g} s"
                            + PATIENCE.why_short(self.idle_limit, self.reply_timeout))
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
            client.waiting_since = self.last_progress

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
        if client.waiting_since is not None:
            self.result.waited(number, client.next_message - 1, self.last_progress - client.waiting_since)
            client.waiting_since = None
        start = len(received)
        received += chunk
        if not check_prefix(self.result, number, start):
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


def read_by_server(instance: ServerProcess, client: TcpConnection) -> bool:
    """Whether the server has read every byte `client` sent (its side of the connection has none waiting).

    Rule: the idle and stalled checks wait (at most a reply timeout) until the server has accepted the
    blocking client and read what it sent, then send. (Comparing the accept queue's QueueState with 0 was
    never true: every server, a correct one too, waited the whole reply timeout here, twice per run.)"""
    port = client.sock.getsockname()[1]
    for sock in instance.probe.tcp_sockets_on_port(instance.endpoint.port):
        if sock.remote_port == port:
            return sock.rqueue == 0
    return True  # no such socket: the server has closed it (whatever it read)
