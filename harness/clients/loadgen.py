"""The speed suite's load generator: throughput, round-trip latency and UDP
datagram rate, measured from one thread with `selectors`.

Rules (no pytest here):
- The generator must never be the bottleneck: one thread, non-blocking
  sockets, pre-built buffers, `recv_into` a reused buffer, no per-byte work.
  Every result carries the generator's own CPU time, so a report can show
  how much headroom it had (`cpu_share` well below 1 means it outran the
  server).
- Every run is bounded in time: a warm-up, a measured window, a bounded
  drain. A server that stops answering ends the run after `idle_timeout`
  with `Stalled` (the caller explains it); nothing blocks forever.
- Figures are plain numbers; judging them (ratios to the reference server,
  thresholds) is the suite's business.
- Only the echo counts (blind 16: a server that sent junk, or more than it
  was sent, looked fast). TCP: no more bytes may come back than were sent,
  and the first and last EDGE bytes of every read must be the stream's bytes
  at that place (cheap, and a reply out of step is caught at once; a full
  compare would make the generator the bottleneck). Round trips: the whole
  reply. UDP: every datagram carries its number; a reply counts once, and
  only if it is a datagram that was sent.
"""

from __future__ import annotations

import selectors
import socket
import time
from dataclasses import dataclass, field

from harness.deadline import Deadline
from harness.server.launcher import Endpoint
from harness.system.acceptqueue import accept_queue_at, wait_for_accept_room

RECV_BUFFER = 256 * 1024
#: After a throughput run, how long to wait for the echo still in flight.
DRAIN_LIMIT = 1.0
#: How long a closing client reads what is still coming (s); only a moment when the echo in
#: flight could not be drained in DRAIN_LIMIT anyway.
CLOSE_WAIT = 0.5
HOPELESS_DRAIN = 0.05
#: Bytes compared at each end of every read of the throughput echo.
EDGE = 64


class Stalled(Exception):
    """The server stopped making progress (nothing moved for `idle_timeout`)."""


class Garbled(Exception):
    """What came back is not the echo of what was sent: no figure is measured on it."""


class StreamEcho:
    """The echo of `unit` sent over and over: where each read must fall in it (see the module's rule)."""

    def __init__(self, unit: bytes) -> None:
        self.period = len(unit)
        self.pattern = unit * (EDGE // len(unit) + 2)  # any EDGE bytes from any place, unwrapped
        self.received = 0

    def take(self, data: bytearray, count: int, sent: int) -> None:
        if self.received + count > sent:
            raise Garbled(f"{self.received + count:,} bytes came back, but only {sent:,} were sent: the server "
                          "sends more than the echo")
        for start in {0, max(0, count - EDGE)}:
            size = min(EDGE, count - start)
            at = (self.received + start) % self.period
            if data[start:start + size] != self.pattern[at:at + size]:
                where = self.received + start
                raise Garbled(f"the echo differs from what was sent within stream bytes {where:,}–{where + size:,} "
                              f"(received {bytes(data[start:start + min(size, 16)])!r}…, expected "
                              f"{self.pattern[at:at + min(size, 16)]!r}…)")
        self.received += count


@dataclass
class Throughput:
    bytes: int
    seconds: float
    cpu_seconds: float

    @property
    def mb_s(self) -> float:
        return self.bytes / self.seconds / 1e6 if self.seconds > 0 else 0.0

    @property
    def cpu_share(self) -> float:
        return self.cpu_seconds / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Latency:
    samples: list[float]  # round-trip times in seconds, measured window only
    seconds: float
    cpu_seconds: float
    clients: int

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile, in milliseconds (0 if nothing was measured)."""
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        rank = min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))
        return ordered[rank] * 1000

    @property
    def round_trips_s(self) -> float:
        return len(self.samples) / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_share(self) -> float:
        return self.cpu_seconds / self.seconds if self.seconds > 0 else 0.0


@dataclass
class UdpStep:
    offered: int  # datagrams per second asked for
    sent: int
    received: int
    seconds: float
    cpu_seconds: float

    @property
    def reply_rate(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0

    @property
    def send_rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    @property
    def loss(self) -> float:
        return 1 - self.received / self.sent if self.sent else 0.0


def _connect(endpoint: Endpoint, timeout: float) -> socket.socket:
    sock = socket.socket(endpoint.family, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(timeout)
    sock.connect(endpoint.address)
    sock.setblocking(False)
    return sock


def _drain(sock: socket.socket, pending: int, limit: float) -> None:
    """Read (and discard) up to `pending` echoed bytes, for at most `limit` seconds."""
    buffer = bytearray(RECV_BUFFER)
    deadline = time.monotonic() + limit
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_READ)
        while pending > 0 and (left := deadline - time.monotonic()) > 0 and sel.select(left):
            try:
                count = sock.recv_into(buffer)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not count:
                return
            pending -= count


def _close_gently(sock: socket.socket, wait: float = CLOSE_WAIT) -> None:
    """Half-close and drain briefly, so the server sees an ordinary EOF, not an RST."""
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + wait
        buffer = bytearray(RECV_BUFFER)
        with selectors.DefaultSelector() as sel:
            sel.register(sock, selectors.EVENT_READ)
            while (left := deadline - time.monotonic()) > 0 and sel.select(left):
                if not sock.recv_into(buffer):
                    break
    except OSError:
        pass
    finally:
        sock.close()


def tcp_throughput(endpoint: Endpoint, stream_unit: bytes, duration: float, warmup: float,
                   idle_timeout: float) -> Throughput:
    """Send `stream_unit` over and over on one connection while reading the echo;
    bytes echoed per second over the `duration` after `warmup`.

    `stream_unit` must be a whole number of messages (for tcp-framed: frames),
    so the stream stays well-formed wherever the run stops.
    """
    sock = _connect(endpoint, idle_timeout)
    unit = memoryview(stream_unit)
    echo = StreamEcho(stream_unit)
    offset = 0
    buffer = bytearray(RECV_BUFFER)
    received = 0
    start = time.monotonic()
    window_start = start + warmup
    end = window_start + duration
    base: int | None = None
    cpu_base = 0.0
    last_progress = start
    sent_total = 0
    gentle = CLOSE_WAIT
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
            while True:
                now = time.monotonic()
                if base is None and now >= window_start:
                    base, cpu_base, window_start = received, time.process_time(), now
                if now >= end:
                    break
                if now - last_progress > idle_timeout:
                    raise Stalled(f"no byte moved for {idle_timeout:g} s ({received:,} bytes echoed)")
                for _, mask in sel.select(min(0.05, end - now)):
                    if mask & selectors.EVENT_WRITE:
                        try:
                            sent = sock.send(unit[offset:])
                        except BlockingIOError:
                            sent = 0
                        if sent:
                            offset = (offset + sent) % len(unit)
                            sent_total += sent
                            last_progress = now
                    if mask & selectors.EVENT_READ:
                        try:
                            count = sock.recv_into(buffer)
                        except BlockingIOError:
                            continue
                        if not count:
                            raise Stalled(f"the server closed the connection after {received:,} bytes")
                        echo.take(buffer, count, sent_total)
                        received += count
                        last_progress = now
        seconds = time.monotonic() - window_start
        result = Throughput(received - (base or 0), seconds, time.process_time() - cpu_base)
        # Drain so the server sees EOF, not a reset mid-echo — when it can finish in DRAIN_LIMIT at the
        # rate just measured; a slow server's megabytes in flight would only be waited out in vain.
        pending = sent_total - received
        rate = result.bytes / result.seconds if result.seconds > 0 else 0.0
        if rate > 0 and pending / rate <= DRAIN_LIMIT:
            _drain(sock, pending, DRAIN_LIMIT)
        else:
            gentle = HOPELESS_DRAIN
        return result
    finally:
        _close_gently(sock, gentle)


@dataclass
class _Client:
    sock: socket.socket
    pending: int = 0  # reply bytes still expected
    sent_at: float = 0.0
    samples: list[float] = field(default_factory=list)


class ClosedLoopClients:
    """`clients` open connections for closed-loop round trips, kept open across
    several measured windows (`measure`), so connection setup and the server's
    per-connection start-up (a thread per client, in the references) stay out
    of every window, and two servers can be measured in many short, alternating
    windows at little cost. Use as a context manager, or `close()`."""

    def __init__(self, endpoint: Endpoint, message: bytes, clients: int, idle_timeout: float):
        self.message = message
        self.idle_timeout = idle_timeout
        self.crowd: list[_Client] = []
        self.selector = selectors.DefaultSelector()
        self.buffer = bytearray(RECV_BUFFER)
        queue = accept_queue_at(endpoint.port)  # connects paced to the server's backlog (listen(1) included)
        try:
            for _ in range(clients):
                wait_for_accept_room(queue, Deadline(idle_timeout))
                client = _Client(_connect(endpoint, idle_timeout))
                self.crowd.append(client)
                self.selector.register(client.sock, selectors.EVENT_READ, client)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "ClosedLoopClients":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.selector.close()
        for client in self.crowd:
            client.sock.close()
        self.crowd = []

    def measure(self, duration: float, warmup: float = 0.0) -> Latency:
        """Every client sends, waits for the whole echo, sends again, until
        `warmup + duration` has passed; round-trip times of the messages sent
        inside the measured window (those still in flight at its end are
        waited for, so slow round trips are not cut off)."""
        message, size, crowd = self.message, len(self.message), self.crowd
        start = time.monotonic()
        window_start = start + warmup
        end = window_start + duration
        cpu_base: float | None = None
        last_progress = start
        for client in crowd:
            client.samples = []
            client.sock.send(message)
            client.pending, client.sent_at = size, start
        busy = len(crowd)
        while busy:
            now = time.monotonic()
            if cpu_base is None and now >= window_start:
                cpu_base = time.process_time()
            if now - last_progress > self.idle_timeout:
                raise Stalled(f"no reply for {self.idle_timeout:g} s")
            for key, _ in self.selector.select(min(0.05, max(0.001, end - now)) if now < end else 0.05):
                client = key.data
                if not client.pending:
                    continue
                try:
                    count = client.sock.recv_into(self.buffer, client.pending)
                except BlockingIOError:
                    continue
                if not count:
                    raise Stalled("the server closed a connection")
                at = size - client.pending
                if self.buffer[:count] != message[at:at + count]:
                    raise Garbled(f"a reply differs from the message sent: received {bytes(self.buffer[:count])!r} "
                                  f"at its byte {at}, expected {message[at:at + count]!r}")
                client.pending -= count
                if client.pending:
                    continue
                now = time.monotonic()
                last_progress = now
                if client.sent_at >= window_start:
                    client.samples.append(now - client.sent_at)
                if now < end:
                    client.sock.send(message)  # small: always fits the socket buffer
                    client.pending, client.sent_at = size, now
                else:
                    busy -= 1
        seconds = max(end, time.monotonic()) - window_start
        samples = [s for client in crowd for s in client.samples]
        return Latency(samples, seconds, time.process_time() - (cpu_base or time.process_time()), len(crowd))


def tcp_latency(endpoint: Endpoint, message: bytes, clients: int, duration: float, warmup: float,
                idle_timeout: float) -> Latency:
    """`clients` connections, each in a closed loop: send `message`, wait for its
    whole echo, send again. Round-trip times inside the measured window."""
    with ClosedLoopClients(endpoint, message, clients, idle_timeout) as crowd:
        return crowd.measure(duration, warmup)


#: Bytes of a speed datagram's number (big-endian), then padding.
NUMBER = 8


def udp_rate(endpoint: Endpoint, offered: int, duration: float, size: int = 64, drain: float = 0.2) -> UdpStep:
    """Offer `offered` datagrams/s of `size` bytes for `duration` s, paced in 1 ms
    slots; count the replies (until `drain` s after the last send), each datagram's once."""
    sock = socket.socket(endpoint.family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.connect(endpoint.address)
    sock.setblocking(False)
    padding = b"s" * (size - NUMBER)
    buffer = bytearray(65536)
    sent = received = 0
    answered = bytearray(int(duration * offered) + 1)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(sock, selectors.EVENT_READ)
            start = time.monotonic()
            cpu_start = time.process_time()
            end = start + duration
            while (now := time.monotonic()) < end + drain:
                if now < end:
                    due = min(int((now - start) * offered) + 1, int(duration * offered))
                    burst = 0
                    while sent < due and burst < 512:
                        try:
                            sock.send(sent.to_bytes(NUMBER, "big") + padding)
                        except (BlockingIOError, ConnectionRefusedError):
                            break
                        sent += 1
                        burst += 1
                while True:
                    try:
                        count = sock.recv_into(buffer)
                        number = int.from_bytes(buffer[:NUMBER], "big")
                        if count != size or number >= sent or buffer[NUMBER:count] != padding:
                            raise Garbled(f"a reply is not a datagram that was sent: {bytes(buffer[:min(count, 24)])!r}"
                                          f" ({count} bytes)")
                        received += not answered[number]
                        answered[number] = 1
                    except (BlockingIOError, ConnectionRefusedError):
                        break
                wait = 0.001 if now < end else end + drain - now
                sel.select(max(0.0, wait))
            return UdpStep(offered, sent, received, duration, time.process_time() - cpu_start)
    finally:
        sock.close()
