"""Cross-talk: tracing misdelivered bytes back to the client that sent them,
and telling a crowd run that went wrong.

Rules:
- Every message of a crowd starts with a readable tag (`<client 07 message 2>`)
  followed by seeded random bytes (`tagged_conversations`), so any window of
  received bytes can be traced back to the client and message that sent it
  (`attribute`): "client 7 received client 3's bytes" is the evidence of
  cross-talk.
- Pure functions of what was sent and what came back: no sockets, no clock.
  The engines that run a crowd (`harness.clients.crowd`, `.udp_crowd`) record
  into a `CrowdResult`; everything here reads it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from harness.errors import CheckFailed
from harness.evidence.bytesdiff import describe_mismatch

#: How many bytes of a misdelivery are used to find who sent them.
TRACE_WINDOW = 24
#: How many misdeliveries a failure lists.
SHOWN = 5
#: Threads a thread-per-client server needs besides one per client (main thread, runtime helpers).
THREAD_MARGIN = 8
#: Memory a thread's stack may count for against the limit (Linux's default 8 MiB `ulimit -s`).
THREAD_STACK_MIB = 8

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
    #: The longest any client waited for the first byte of a reply, once its message was sent whole; whose, which.
    longest_wait: float = 0.0
    longest_waiter: tuple[int, int] | None = None

    def waited(self, client: int, message: int, seconds: float) -> None:
        if seconds > self.longest_wait:
            self.longest_wait, self.longest_waiter = seconds, (client, message)

    def complete(self, client: int) -> bool:
        return bytes(self.received[client]) == self.conversations[client].stream

    def incomplete(self) -> list[int]:
        return [c.client for c in self.conversations if not self.complete(c.client)]

    @property
    def ok(self) -> bool:
        return not self.misdeliveries and not self.connect_errors and not self.incomplete()


def check_prefix(result: CrowdResult, client: int, start: int) -> bool:
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


def datagram_misdelivery(client: int, offset: int, reply: bytes, datagram: int, expected: bytes,
                         conversations: list[Conversation]) -> Misdelivery:
    """Client `client` got `reply` in answer to its datagram `datagram` (`expected`), and it is not that
    datagram: whose datagram it is, or what shape it has (merged, cut)."""
    exact = next(
        (Origin(c.client, i, 0) for c in conversations for i, m in enumerate(c.messages) if m == reply), None
    )
    origin = exact or attribute(reply[:TRACE_WINDOW], conversations, prefer=client)
    shape = "" if exact else odd_shape(reply, expected)
    source = None if exact else describe_odd_reply(reply, expected, origin, conversations, client)
    return Misdelivery(client, offset, reply, origin, datagram=datagram, source=source, shape=shape)


def describe_odd_reply(reply: bytes, expected: bytes, origin: Origin | None, conversations: list[Conversation],
                        receiver: int) -> str:
    """A reply that is no client's datagram: merged datagrams, or a piece of one."""
    size, shape = f"a {len(reply)}-byte datagram", odd_shape(reply, expected)
    if shape == "cut":
        return f"its own datagram cut to {len(reply)} of {len(expected)} bytes"
    if shape == "merged":
        rest = attribute(reply[len(expected) : len(expected) + TRACE_WINDOW], conversations, prefer=receiver)
        after = f" ({datagram_origin(rest, receiver)})" if rest else ""
        return f"{size}: its own datagram followed by {len(reply) - len(expected)} more bytes{after}"
    if origin is None:
        return f"{size} that no client sent"
    return f"{size} beginning with {datagram_origin(origin, receiver)}"


def datagram_origin(origin: Origin, receiver: int) -> str:
    owner = "its own" if origin.client == receiver else f"client {origin.client}'s"
    return f"{owner} datagram {origin.message}" + (f" from its byte {origin.offset}" if origin.offset else "")


def odd_shape(reply: bytes, expected: bytes) -> str:
    if reply.startswith(expected) and len(reply) > len(expected):
        return "merged"
    if expected.startswith(reply) and len(reply) < len(expected):
        return "cut"
    return ""


# -- telling a crowd run that went wrong -----------------------------------------
#: A client waiting this many reply timeouts for a reply while the others are answered: a failure (and the
#: crowd's end, harness.clients.crowd). Twice: a correct server on a loaded machine answers every client each
#: round, in milliseconds.
OVERDUE = 2


def serial_slowness(result: CrowdResult, what: str, reply_timeout: float) -> CheckFailed | None:
    """A client waited over OVERDUE reply timeouts while the others were answered (blind 19: an asyncio
    server with time.sleep() in its handler answered 50 clients one message at a time, 0.2 s each, and
    passed)."""
    if result.longest_waiter is None or result.longest_wait <= OVERDUE * reply_timeout:
        return None
    client, message = result.longest_waiter
    waited = (f"{len(result.conversations)} {what} ran at once and client {client} waited "
              f"{result.longest_wait:.1f} s for the reply to its message {message + 1} (the reply timeout is "
              f"{reply_timeout:g} s) while the server answered the others")
    return CheckFailed(
        f"{waited}: it answers its clients one message at a time, slowly (or it lost this reply). A blocking call "
        "where one loop serves every client makes all the others wait: time.sleep() or a blocking socket or file "
        "call in an asyncio coroutine (use await asyncio.sleep(), and loop.run_in_executor() for blocking work), "
        "a long computation in a selectors loop")


def crowd_failure(result: CrowdResult, what: str, seed: int, unit: str = "message") -> CheckFailed:
    """Explain a crowd run that went wrong: who got whose bytes, who got nothing."""
    total = len(result.conversations)
    replay = f" (seed {seed}; replay with --seed {seed})"
    if result.connect_errors:
        errors = sorted(result.connect_errors.items())
        listed = ", ".join(f"client {c}: {e}" for c, e in errors[:SHOWN])
        refused = all(e in ("ECONNREFUSED", "ECONNRESET") for _, e in errors) and "ECONNREFUSED" in dict(errors).values()
        # Refused (and those waiting in the queue reset): nothing listened on the port any more. A full accept
        # queue drops a connection (the client times out), it never refuses one on Linux: the listening socket
        # was closed, or the server is gone.
        advice = ("nothing listened on the port any more: the server closed its listening socket or exited; keep "
                  "accept() in a loop for as long as the server runs" if refused else
                  "accept connections promptly, with a listen() backlog that holds a burst of clients")
        return CheckFailed(
            f"only {result.connected} of {total} simultaneous clients could connect ({listed}): {advice}" + replay
        )
    if result.misdeliveries and result.misdeliveries[0].datagram is not None:
        first = result.misdeliveries[0]
        sent = result.conversations[first.client].messages[first.datagram]
        misdelivered = {m.client for m in result.misdeliveries}
        silent = sum(1 for c, received in enumerate(result.received) if not received and c not in misdelivered)
        lines = "; ".join(m.describe() for m in result.misdeliveries[:SHOWN])
        advice = {
            "merged": "the server merged several datagrams into one reply: a byte stream in between (a pipe, a "
                      "TCP relay) keeps no datagram boundaries; answer each datagram with exactly its own bytes",
            "cut": "recvfrom(n) silently drops the rest of a datagram longer than n bytes: read with "
                   "recvfrom(65535) (the largest datagram tested is set by --max-datagram)",
        }.get(first.shape, "answer each datagram with sendto(data, address), the address recvfrom() returned "
                           "with that same datagram — every datagram may come from a different client")
        return CheckFailed(
            f"{total} {what} ran at once and {lines}"
            + (f" ({silent} of the {total} senders had no reply yet)" if silent else "") + ": "
            f"{advice}{replay}",
            expected=sent,
            received=first.received,
            detail=describe_mismatch(sent, first.received),
        )
    if result.misdeliveries:
        first = result.misdeliveries[0]
        expected = result.conversations[first.client].stream
        received = bytes(result.received[first.client])
        lines = "; ".join(m.describe(unit) for m in result.misdeliveries[:SHOWN])
        foreign = first.origin is not None and first.origin.client != first.client
        advice = (
            "the server mixes up its clients' data — keep each connection's data in variables of its own "
            "(local to the handler), never in one global buffer"
            if foreign else "each client must get back exactly its own bytes, in order"
        )
        return CheckFailed(
            f"{total} {what} ran at once and {lines}: {advice}{replay}",
            expected=expected,
            received=received,
            detail=describe_mismatch(expected, received),
        )
    incomplete = result.incomplete()
    sample = []
    for client in incomplete[:SHOWN]:
        got = len(result.received[client])
        want = len(result.conversations[client].stream)
        reason = result.ended.get(client, "")
        sample.append(f"client {client} got {got} of {want} bytes" + (f" ({reason})" if reason else ""))
    stall = f"; {result.stall}" if result.stall else ""
    return CheckFailed(
        f"{total} {what} ran at once and {len(incomplete)} did not get their whole echo back: "
        + "; ".join(sample) + stall + replay,
        expected=result.conversations[incomplete[0]].stream,
        received=bytes(result.received[incomplete[0]]),
        detail=describe_mismatch(result.conversations[incomplete[0]].stream, bytes(result.received[incomplete[0]])),
    )


def limits_note(clients: int, process_limit: int, memory_limit: int) -> str:
    """Would a correct thread-per-client server run out of the harness's own
    limits (--process-limit, --memory-limit; 0: none) with this many clients?
    Then say so: the fix is an option, not code."""
    crowded = []
    if process_limit and clients + THREAD_MARGIN > process_limit:
        crowded.append(f"at most {process_limit} processes and threads together (--process-limit)")
    if memory_limit and clients * THREAD_STACK_MIB > memory_limit / 2:
        crowded.append(f"{memory_limit} MiB of memory (--memory-limit), of which each thread's stack counts for "
                       f"up to {THREAD_STACK_MIB} MiB")
    if not crowded:
        return ""
    return (f". Note: with {clients} clients, a thread-per-client server may hit the harness's limits "
            f"({'; '.join(crowded)}): raise them (0 means unlimited) or lower --clients")
