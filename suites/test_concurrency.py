"""concurrency — many clients at once (SPEC §4): no cross-talk, no head-of-line
blocking, no crash when a client vanishes, no leaked descriptors, no busy loop.

The bugs aimed at are the ones the tutorials' servers have: nested accept/recv
loops that serve one client at a time, a global buffer shared by every
connection, an unhandled ConnectionResetError, a loop that keeps calling
recv() after it returned b'', accepted sockets never closed, a UDP server that
answers the first client's address.

tcp-framed gets the same TCP checks, each message sent as one frame (the
answer is the identical frame): there the stalled client has sent a header
and part of its payload — the classic freeze of a select() loop that reads a
whole frame with blocking recv()s.

Every check here runs on a fresh server instance of its own: the checks
measure the server process (descriptors, CPU time) against a clean baseline,
and a check that breaks its server (crash, spinning threads, leaked sockets)
must not make the next check fail for the wrong reason.
"""

from __future__ import annotations

import socket
import time
from contextlib import ExitStack, suppress
from typing import TYPE_CHECKING

from harness.checks import check
from harness.clients.connection import TcpConnection
from harness.clients.crowd import accept_queue_of, read_by_server, run_tcp_crowd
from harness.clients.patience import PATIENCE
from harness.clients.sequential import (
    FD_TOLERANCE,
    LEAK_DESCRIPTION,
    LEAK_EXPECTATION,
    LEAK_SAMPLE,
    MIN_SEQUENTIAL,
    SEQUENTIAL_BUDGET,
    SEQUENTIAL_CONNECTIONS,
    wait_closed,
)
from harness.clients.udp_crowd import run_udp_crowd
from harness.deadline import Deadline, paced_count, poll_until
from harness.errors import CheckFailed
from harness.evidence.blocking import (
    ANSWER_EACH_DATAGRAM,
    ONE_AT_A_TIME,
    WAITS_FOR_WHOLE_MESSAGE,
    at_most,
    second_client_blocked,
)
from harness.evidence.bytesdiff import echo_mismatch
from harness.evidence.crosstalk import crowd_failure, limits_note, serial_slowness, tagged_conversations
from harness.server.descriptors import held_descriptors
from harness.server.idle import IDLE_DESCRIPTION, IDLE_EXPECTATION, require_idle
from harness.server.launcher import Endpoint, ServerProcess
from harness.server.reaping import require_reaped
from harness.server.serverkind import SURVIVE_RESET, language_of
from harness.settings import Settings

if TYPE_CHECKING:
    from harness.protocols.framing import FrameCodec

TCP = ("tcp-echo",)
FRAMED = ("tcp-framed",)
#: The TCP checks apply to both: a message is sent as is (tcp-echo) or as one frame (tcp-framed).
STREAMS = TCP + FRAMED
UDP = ("udp-echo",)

DEFAULT_SEED = 4
#: Clients that sit connected and idle while the next one is served: 4 catches a pool of up to 4
#: workers, and a default ThreadPoolExecutor (at least 5 workers on any machine) still passes.
IDLE_CLIENTS = 4
# The descriptor-leak check's numbers (harness.clients.sequential): 500 sequential connections; a slow server
# gets as many as fit in 5 s, never fewer than three times the tolerance of 10 descriptors (so one leak per
# connection shows); every 10 connections a server over its tolerance is given its settle time, and one that
# stays over it is judged without the rest.
#: How long a client reads an inexact echo from a server that does not close at its half-close.
LOOSE_READ_S = 0.05


def seed_of(settings: Settings) -> int:
    return settings.seed if settings.seed is not None else DEFAULT_SEED


def connect_timeout(settings: Settings) -> float:
    """Generous: a connect that overflowed an accept queue all the same waits
    for a SYN-ACK retransmission (1 s, then 2 s more) — slow, not wrong."""
    return max(3 * settings.reply_timeout, 5.0)


def wire(settings: Settings, payload: bytes) -> bytes:
    """What a client sends for `payload`: the bytes themselves (tcp-echo) or
    one frame (tcp-framed). Either way, a correct server answers with exactly
    these bytes. A payload larger than the largest frame is cut to it."""
    if settings.protocol not in FRAMED:
        return payload
    codec = frame_codec(settings)
    return codec.encode(payload[: codec.largest])


def frame_codec(settings: Settings) -> "FrameCodec":
    from harness.protocols.framing import FrameCodec  # only tcp-framed needs the codec

    return FrameCodec(settings.length_format, settings.max_frame)


def waited_for(conn: TcpConnection, message: bytes, settings: Settings, who: str) -> None:
    """Require `message` echoed on `conn` within the reply timeout."""
    received, end_reason = conn.exchange(message, settings.reply_timeout)
    if received != message:
        raise echo_mismatch(message, received, end_reason, who)


def _client_named(number: int) -> str:
    """The client after `number - 1` others, as a failure names it."""
    return "the second client" if number == 2 else f"client {number}"


def blocked_failure(blockers: list[TcpConnection], victim: TcpConnection, message: bytes, received: bytes,
                    end_reason: str, settings: Settings, situation: str, waited: float,
                    diagnosis: str) -> CheckFailed:
    """A client was not served while the ones before it sat there: let them
    go, and read whether its echo comes then. A client whose connection the
    server closed or reset was not kept waiting: that is told as what it is."""
    if end_reason.startswith(("the server closed", "the server reset", "sending failed")):
        return echo_mismatch(message, received, end_reason, _client_named(len(blockers) + 1))
    for blocker in blockers:
        blocker.close()
    late, late_reason = b"", ""
    freed = Deadline(settings.reply_timeout)
    try:
        late = victim.recv_exactly(len(message) - len(received), freed, "the delayed echo")
    except CheckFailed as exc:
        late_reason = exc.message
    several = len(blockers) > 1
    return second_client_blocked(
        message, received, late, late_reason, waited, freed.elapsed(), settings.reply_timeout, situation, diagnosis,
        who=f"client {len(blockers) + 1}" if several else "a second client",
        released=f"the {len(blockers)} clients before it disconnected" if several else "the first client disconnected")


# -- tcp -------------------------------------------------------------------------
@check("concurrency::simultaneous_clients", protocols=STREAMS,
       description="--clients (50) clients connected at once send distinct, interleaved messages "
                   "(TCP connections; UDP: concurrent senders)",
       expectation="every client gets back exactly its own bytes (nobody else's), and all are served")
def test_simultaneous_clients_tcp(fresh_server, settings):
    instance = fresh_server()
    seed = seed_of(settings)
    if settings.protocol in FRAMED:
        codec = frame_codec(settings)
        conversations = tagged_conversations(settings.clients, seed, max_filler=max(9, min(1200, codec.largest - 40)),
                                             encode=codec.encode)
    else:
        conversations = tagged_conversations(settings.clients, seed)
    result = run_tcp_crowd(instance.endpoint, conversations, settings.reply_timeout, connect_timeout(settings), seed,
                           unaccepted=accept_queue_of(instance))
    slow = serial_slowness(result, "clients", settings.reply_timeout)
    if slow is not None:
        raise slow
    if not result.ok:
        unit = "frame" if settings.protocol in FRAMED else "message"
        note = limits_note(settings.clients, settings.process_limit, settings.memory_limit)
        raise crowd_failure(result, "clients", seed, unit).with_hint(note)


@check("concurrency::idle_client_does_not_block", protocols=STREAMS,
       description=f"{IDLE_CLIENTS} clients are served one after another, each then staying connected and "
                   f"silent; a client {IDLE_CLIENTS + 1} sends",
       expectation="each client's echo arrives within the reply timeout while the earlier ones sit idle "
                   "(one client never blocks another; nor do a few)")
def test_idle_client_does_not_block_tcp(fresh_server, settings):
    instance = fresh_server()
    endpoint = instance.endpoint
    idle: list[TcpConnection] = []
    with ExitStack() as clients:
        first = clients.enter_context(TcpConnection(endpoint, Deadline(settings.reply_timeout)))
        waited_for(first, wire(settings, b"first client: served, and now going quiet\n"), settings, "the first client")
        idle.append(first)
        for number in range(2, IDLE_CLIENTS + 2):
            conn = clients.enter_context(TcpConnection(endpoint, Deadline(settings.reply_timeout)))
            message = wire(settings, f"client {number}: am I served while {number - 1} sit idle?\n".encode())
            started = time.monotonic()
            received, end_reason = conn.exchange(message, settings.reply_timeout)
            if received != message:
                if message.startswith(received):
                    situation = ("the first client stayed connected and idle" if number == 2 else
                                 f"the {number - 1} clients before it stayed connected and idle")
                    raise blocked_failure(idle, conn, message, received, end_reason, settings, situation,
                                          time.monotonic() - started,
                                          ONE_AT_A_TIME if number == 2 else at_most(number - 1))
                raise echo_mismatch(message, received, end_reason, _client_named(number))
            idle.append(conn)


@check("concurrency::stalled_client_does_not_block", protocols=STREAMS,
       description="a first client sends half a message, then stalls (sends nothing more, reads nothing); "
                   "a second client sends",
       expectation="the second client's echo arrives within the reply timeout (no blocking read of a whole message)")
def test_stalled_client_does_not_block_tcp(fresh_server, settings):
    instance = fresh_server()
    endpoint = instance.endpoint
    whole = wire(settings, b"first client: this message stops in the middle of a word\n")
    first_half, second_half = whole[:-len(b"dle of a word\n")], whole[-len(b"dle of a word\n"):]
    with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as stalled:
        stalled.send_all(first_half, Deadline(settings.reply_timeout))
        # Stalled mid-message means the server has its half (a loaded machine may not have read it yet).
        poll_until(lambda: read_by_server(instance, stalled), Deadline(settings.reply_timeout))
        with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as second:
            message = wire(settings, b"second client: am I served while the first one is stalled mid-message?\n")
            started = time.monotonic()
            received, end_reason = second.exchange(message, settings.reply_timeout)
            if received != message:
                if message.startswith(received):
                    raise blocked_failure([stalled], second, message, received, end_reason, settings,
                                          _stalled_situation(settings, whole, first_half),
                                          time.monotonic() - started, WAITS_FOR_WHOLE_MESSAGE)
                failure = echo_mismatch(message, received, end_reason, "the second client")
                payload = first_half[frame_codec(settings).header_size:] if settings.protocol in FRAMED else first_half
                if payload[:16] in received:  # blind 13, F9: cross-talk, named as the crowd names it
                    failure.with_hint("\nhint: the second client received bytes the first client sent: the "
                                      "server keeps one receive buffer for all its connections (a global, or a "
                                      "class attribute): keep one per connection (a local in each handler)")
                raise failure
        # Finish the stalled client's conversation cleanly (read its echo: no RST on close).
        stalled.send_all(second_half, Deadline(settings.reply_timeout))
        stalled.recv_exactly(len(first_half + second_half), Deadline(settings.reply_timeout),
                             "the stalled client's echo")


def _stalled_situation(settings: Settings, whole: bytes, sent: bytes) -> str:
    if settings.protocol in FRAMED:
        header = frame_codec(settings).header_size
        return (f"the first client had sent a frame header announcing {len(whole) - header} bytes and "
                f"{len(sent) - header} of them, and stalled")
    return f"the first client had sent {len(sent)} bytes of a message and stalled"


@check("concurrency::survives_abrupt_disconnect", protocols=STREAMS,
       description="a client sends 64 KiB, reads a little of the echo, then vanishes with a reset "
                   "(RST: SO_LINGER 0) in the middle of the exchange",
       expectation="the server keeps running and serves the next client (a reset ends only its connection)")
def test_survives_abrupt_disconnect_tcp(fresh_server, settings):
    instance = fresh_server()
    endpoint = instance.endpoint
    payload = wire(settings, bytes(range(256)) * 256)
    # A server that answers no client at all, even before any reset, is echo::'s finding: here only
    # whether it survives the reset can be judged (it stays up and takes connections).
    with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as before:
        answers, _ = answer_to(before, wire(settings, b"a client before the reset\n"), settings)
    descriptors = held_descriptors(instance, in_flight=False)
    vanishing = TcpConnection(endpoint, Deadline(settings.reply_timeout))
    try:
        vanishing.send_all(payload, Deadline(settings.reply_timeout))
        # Some of the echo, to be sure the exchange is under way (whether it comes is another check's business).
        # (A server known to answer only at EOF sends none: a moment for it to read is enough.)
        # (Nor does a server that did not answer the client before: a moment for it to read.)
        vanishing.read_available(PATIENCE.some_answer_wait(settings.reply_timeout) if answers else 0.1, cap=4096)
    finally:
        vanishing.abort()
    # The next clients come once the server has dealt with the reset (closed that socket, or died);
    # a server that never closes sockets is not waited for longer than the reply timeout.
    poll_until(lambda: held_descriptors(instance, in_flight=False) <= descriptors, Deadline(settings.reply_timeout))
    try:
        for client in ("next", "one more"):
            with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as conn:
                if not answers:
                    continue  # connected: it is still up (see above)
                message = wire(settings, f"{client} client after the reset\n".encode())
                received, end_reason = answer_to(conn, message, settings)
                if not received:  # served is what counts here; how exact the echo is, is echo::'s finding
                    raise echo_mismatch(message, received, end_reason,
                                        f"the {client} client, after a client vanished with a reset (RST)")
    except CheckFailed:
        if poll_until(instance.ended, Deadline(0.5)):
            raise _died_of_reset(instance) from None
        raise
    if instance.ended():
        raise _died_of_reset(instance)


def _died_of_reset(instance: ServerProcess) -> CheckFailed:
    # Stopping a dead server drains its output to the end: the report gets the whole traceback.
    instance.stop()
    return CheckFailed(
        f"the server exited ({instance.exit_description()}) after a client vanished with a reset (RST) in the "
        f"middle of an exchange: {SURVIVE_RESET[language_of(instance.spec.argv)]}"
    )


@check("concurrency::no_descriptor_leak", protocols=STREAMS, description=LEAK_DESCRIPTION,
       expectation=LEAK_EXPECTATION)
def test_no_descriptor_leak_tcp(fresh_server, settings):
    instance = fresh_server()
    endpoint = instance.endpoint
    probe = instance.probe
    clients = SequentialClients(endpoint, settings)
    clients.warm_up()  # lazily opened resources belong to the baseline
    if clients.wait_for_close:  # (one that kept the warm-up's connection open will not close it now)
        wait_closed(instance, settings.reply_timeout)
    before = held_descriptors(instance)
    limit = before + FD_TOLERANCE
    started = Deadline(SEQUENTIAL_BUDGET)
    made, spent = 0, 0.0
    within = True
    for index in paced_count(SEQUENTIAL_CONNECTIONS, MIN_SEQUENTIAL, SEQUENTIAL_BUDGET):
        made = index + 1
        clients.converse(f"connection {made} of {SEQUENTIAL_CONNECTIONS}")
        spent = started.elapsed()
        if made % 50 == 0:
            instance.reap_orphans()  # a forking server's dead grandchildren, re-parented to us
            require_reaped(instance, f"{made} sequential connections")  # before the process limit ends it
        if made % LEAK_SAMPLE == 0 and made < SEQUENTIAL_CONNECTIONS and held_descriptors(instance) > limit:
            within = _returns_within(instance, limit, _settle(clients, settings))
            if not within:
                break  # the leak is plain already: the connections left would only repeat it
    counted, stopped = f"{made} sequential connections", ""
    if not within:
        stopped = f"; the check stopped at {made} of its {SEQUENTIAL_CONNECTIONS} connections: the leak was plain"
    elif made < SEQUENTIAL_CONNECTIONS:
        counted += f" (all that fit in {SEQUENTIAL_BUDGET:g} s of the {SEQUENTIAL_CONNECTIONS})"
    settle = _settle(clients, settings)
    if within:
        within = _returns_within(instance, limit, settle)
    after = held_descriptors(instance)
    if not within:
        waiting = sum(1 for s in probe.tcp_sockets_on_port(endpoint.port) if s.state == "CLOSE_WAIT")
        hint = (f"; {waiting} of its sockets are connections the client already closed (CLOSE_WAIT)"
                if waiting else "")
        raise CheckFailed(
            f"the server held {before} open descriptors before {counted} "
            f"(made in {spent:.2f} s) and {after} after them, {settle:g} s later "
            f"(tolerance +{FD_TOLERANCE}{stopped}){hint}: close each accepted socket when its client leaves "
            "(recv() returned b'')"
        )
    require_reaped(instance, counted)


class SequentialClients:
    """Clients one after another, each echoing one message.

    Each half-closes and waits for the server to close first, so a forking
    server's child has exited before the next client comes (500 forks in a
    burst would hit the process limit: not a leak). A server that does not
    close after a half-close is not waited for again: its leak is the finding.

    A server whose echo is wrong (a stripped newline, an echo only at EOF) is
    measured all the same: that is echo::'s finding, and a leak is not — each
    client then sends its message, half-closes and reads whatever comes until
    the server closes, without waiting for bytes that never come.

    Rule: a server whose echo is wrong and that does not close is read from
    until as many bytes came as the warm-up got for the same message (then
    the client leaves at once), or for LOOSE_READ_S when the answer differs
    from that (or was empty). The warm-up waited the whole reply timeout for
    its answer, so waiting LOOSE_READ_S more for every one of 500 connections
    is the same silence waited again (25 s against a server that strips the
    newline and never closes: the leak is the finding, not that silence).
    """

    def __init__(self, endpoint: Endpoint, settings: Settings) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self.wait_for_close = True
        self.exact = True  # the server's echo of a plain message is exact
        self.answer_length = 0  # the bytes a server with an inexact echo answered the warm-up with

    def warm_up(self) -> None:
        try:
            self.converse("warm-up")
        except CheckFailed:
            self.exact, self.wait_for_close = False, True
            self.converse("warm-up, not waiting for an exact echo")

    def converse(self, who: str) -> bool:
        """One client; whether the server closed the connection after the client's half-close."""
        settings = self.settings
        message = wire(settings, b"one message, then goodbye\n")
        with TcpConnection(self.endpoint, Deadline(settings.reply_timeout)) as conn:
            if not self.exact:
                conn.send_all(message, Deadline(settings.reply_timeout))
                if not self.wait_for_close:
                    if not self.answer_length:
                        conn.read_available(LOOSE_READ_S, cap=1 << 20)
                    elif len(conn.read_available(LOOSE_READ_S, cap=self.answer_length)) == self.answer_length:
                        _drain(conn)  # more than last time: read, so that the close is a FIN, not a reset
                    return False
                conn.shutdown_write()
                self.wait_for_close, answer = closed_after_reading(conn, Deadline(settings.reply_timeout))
                self.answer_length = len(answer)
                return self.wait_for_close
            waited_for(conn, message, settings, who)
            if self.wait_for_close:
                conn.shutdown_write()
                try:
                    conn.expect_eof(Deadline(settings.reply_timeout))
                except CheckFailed:
                    self.wait_for_close = False
            return self.wait_for_close


def closed_after_reading(conn: TcpConnection, deadline: Deadline) -> tuple[bool, bytes]:
    """Read whatever arrives until the server closes (True) or `deadline` passes (False); and what arrived."""
    received = conn.read_available(deadline.remaining(), cap=1 << 20)
    try:
        return conn.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"", received
    except BlockingIOError:
        return False, received
    except OSError:
        return True, received  # reset: closed all the same


def _drain(conn: TcpConnection) -> None:
    """Read what has already arrived, without waiting."""
    try:
        if conn.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
            conn.read_available(0, cap=1 << 20)
    except OSError:
        pass


def answer_to(conn: TcpConnection, message: bytes, settings: Settings) -> tuple[bytes, str]:
    """Send `message` and read the answer; a server that answers only at EOF
    (it reads until the client half-closes) gets the half-close — at once,
    once the run has learnt that it answers only then (harness.clients.patience)."""
    if PATIENCE.eof_only:
        try:
            conn.send_all(message, Deadline(settings.reply_timeout))
            conn.shutdown_write()
        except (CheckFailed, OSError) as failure:
            return b"", str(failure)
        received = conn.read_available(settings.reply_timeout, cap=len(message))
        return received, "" if received else f"no answer within {settings.reply_timeout:g} s of the half-close"
    received, end_reason = conn.exchange(message, settings.reply_timeout)
    if not received and not end_reason.startswith(("the server closed", "the server reset", "sending failed")):
        conn.shutdown_write()
        received = conn.read_available(PATIENCE.after_half_close_wait(settings.reply_timeout), cap=len(message))
        if received:
            PATIENCE.answered_at_eof()
    return received, end_reason


def _one_conversation(endpoint: Endpoint, settings: Settings, wait_for_answer: bool = True) -> bool:
    """One client served and gone; how exact the echo is, is echo::'s finding, not the busy-loop check's.
    Whether an answer came; without `wait_for_answer` (an earlier client got none) the client
    only sends and leaves."""
    message = wire(settings, b"one message, then goodbye\n")
    with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as conn:
        if not wait_for_answer:
            with suppress(CheckFailed, OSError):
                conn.send_all(message, Deadline(settings.reply_timeout))
            return False
        received, _ = answer_to(conn, message, settings)
        return bool(received)


def _settle(clients: SequentialClients, settings: Settings) -> float:
    """How long the server is given to close what its clients closed: a server already seen to keep a
    connection open a whole timeout is given the cut close wait."""
    return settings.reply_timeout if clients.wait_for_close else PATIENCE.close_wait(settings.reply_timeout)


def _returns_within(instance: ServerProcess, limit: int, settle: float) -> bool:
    """Whether the server's open descriptors come down to `limit` within `settle` s."""
    return bool(poll_until(lambda: held_descriptors(instance) <= limit, Deadline(settle)))


@check("concurrency::idle_without_busy_loop", protocols=STREAMS, description=IDLE_DESCRIPTION,
       expectation=IDLE_EXPECTATION)
def test_idle_without_busy_loop_tcp(fresh_server, settings):
    instance = fresh_server()
    answered = True
    for _ in range(3):  # after a client got no answer, the next ones do not wait out the same silence
        answered = _one_conversation(instance.endpoint, settings, wait_for_answer=answered)
    require_idle(instance, "after three clients left")


# -- udp ---------------------------------------------------------------------------
@check("concurrency::simultaneous_clients", protocols=UDP)
def test_simultaneous_clients_udp(fresh_server, settings):
    instance = fresh_server()
    seed = seed_of(settings)
    conversations = tagged_conversations(settings.clients, seed, max_filler=max(9, min(1200, settings.max_datagram - 40)))
    result = run_udp_crowd(instance.endpoint, conversations, settings.reply_timeout, seed)
    if not result.ok:
        raise crowd_failure(result, "UDP senders", seed).with_hint(_serial_slowness(settings))


def _serial_slowness(settings: Settings) -> str:
    """The hint when the replies seen earlier in the run were slow enough that the crowd's datagrams,
    answered one after another, cannot all be answered within one reply timeout."""
    slowest = PATIENCE.slowest
    needed = slowest * settings.clients
    if slowest < 0.1 or needed <= settings.reply_timeout:
        return ""
    return (f"\nhint: replies took up to {slowest:.2f} s each earlier in this run; answered one after another, "
            f"{settings.clients} clients' datagrams need about {needed:.0f} s, more than the {settings.reply_timeout:g} s "
            f"reply timeout: {ANSWER_EACH_DATAGRAM}")


@check("concurrency::idle_without_busy_loop", protocols=UDP)
def test_idle_without_busy_loop_udp(fresh_server, settings):
    from harness.clients.udp import UdpClient

    instance = fresh_server()
    with UdpClient(instance.endpoint, settings.reply_timeout) as client:
        for index in range(3):
            client.expect_echo(f"datagram {index + 1} of 3".encode(), f"datagram {index + 1} of 3")
    require_idle(instance, "after three datagrams were answered", datagrams=True)
