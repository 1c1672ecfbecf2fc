"""echo — protocol correctness of tcp-echo and udp-echo (SPEC §3, §4).

Each check is one rule of RFC 862 as students get it wrong: bytes changed
(upper-casing, UTF-8 decoding, strip()), replies held back (waiting for a
newline or for EOF), truncation at recv(1024), a server that quits after one
client or on an empty datagram.
"""

from __future__ import annotations

import random
import socket
import sys
import time

from harness.checks import RECOMMENDED, check
from harness.clients import reply_address
from harness.clients.connection import OUT_OF_TIME, TcpConnection
from harness.clients.patience import PATIENCE
from harness.clients.udp import UdpClient
from harness.deadline import Deadline, paced_count, poll_until
from harness.errors import CheckFailed
from harness.evidence.bytesdiff import DROPPED_SEND_HINT, echo_mismatch
from harness.evidence.framing_failures import STALLED
from harness.server.serverkind import CLOSE_ONE, EOF_SEEN, language_of
from harness.system.safe_files import read_capped

TCP = ("tcp-echo",)
UDP = ("udp-echo",)

#: Every byte value, plus the whitespace that strip() would eat at both ends.
BINARY = b"\x00 \t" + bytes(range(256)) + bytes(reversed(range(256))) + b" \r\n"
EDGE_SIZES = (1, 1023, 1024, 1025, 4096, 8192)
#: Round trips of many_round_trips; a slow server gets as many as fit in ROUND_TRIP_BUDGET s,
#: never fewer than MIN_ROUND_TRIPS (every one of the 37 lengths, and then some).
ROUND_TRIPS = 200
MIN_ROUND_TRIPS = 50
ROUND_TRIP_BUDGET = 5.0
#: echo::client_reads_late: the payload (MiB), how long the connection must take nothing before the client
#: stops sending (s), and the pause before it reads (s; short of any server's own send timeout worth having).
LATE_READER_MIB = 16
LATE_READER_STALL = 0.2
LATE_READER_PAUSE = 0.3
#: ... how long the client sends unread at most (s), and how long it then reads (s): a slow server is judged
#: on what comes back in that time (at 0.1 s per read, 16 MiB would take half a minute).
LATE_READER_FILL = 3.0
#: ... and the client's receive buffer (bytes): far less than the payload, whatever the system's autotuning.
LATE_READER_RCVBUF = 256 * 1024
LATE_READER_BUDGET = 3.0



def pattern(size: int, seed: int = 862) -> bytes:
    """Deterministic pseudo-random bytes: a failure replays identically."""
    return random.Random(seed + size).randbytes(size)


# -- tcp-echo -----------------------------------------------------------------
@check("echo::single_message", protocols=TCP,
       description="one short text message is echoed",
       expectation="the same bytes come back within the reply timeout")
def test_single_message_tcp(endpoint, settings):
    with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as conn:
        conn.expect_echo(b"hello, harness\n", settings.reply_timeout)


@check("echo::prompt_reply", protocols=TCP,
       description="a message with no newline is echoed without the client sending more or closing",
       expectation="the bytes come back within the reply timeout (no waiting for a newline or for EOF)")
def test_prompt_reply_tcp(endpoint, settings):
    with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as conn:
        conn.expect_echo(b"no newline at the end", settings.reply_timeout, "first chunk")
        conn.expect_echo(b"and a second chunk", settings.reply_timeout, "second chunk on the same connection")


@check("echo::binary_bytes", protocols=TCP,
       description="all 256 byte values, with whitespace at both ends, come back unchanged",
       expectation="identical bytes: no decoding, no case change, no strip()")
def test_binary_bytes_tcp(endpoint, settings):
    with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as conn:
        conn.expect_echo(BINARY, settings.reply_timeout)


@check("echo::edge_sizes", protocols=TCP,
       description="messages (TCP) or datagrams (UDP) of 1, 1023, 1024, 1025, 4096 and 8192 bytes",
       expectation="each comes back whole before the next is sent (no recv(1024) truncation)")
def test_edge_sizes_tcp(endpoint, settings):
    with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as conn:
        for size in EDGE_SIZES:
            conn.expect_echo(pattern(size), settings.reply_timeout, f"{size}-byte message")


@check("echo::large_payload", protocols=TCP,
       description="1 MiB over TCP, sent while the reply is read; the largest datagram (--max-datagram) over UDP",
       expectation="every byte comes back in order, with no stall longer than the reply timeout")
def test_large_payload_tcp(endpoint, settings):
    with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as conn:
        conn.expect_echo(pattern(1 << 20), settings.reply_timeout, "1 MiB payload")


@check("echo::client_reads_late", protocols=TCP,
       description=f"{LATE_READER_MIB} MiB sent without reading until the connection takes no more (the server's "
                   f"sends must wait for the client), a pause of {LATE_READER_PAUSE:g} s, then read while the rest "
                   f"is sent (a slow server: what comes back in {LATE_READER_BUDGET:g} s)",
       expectation="every byte comes back in order: a send() that could not write everything keeps the rest "
                   "(sendall(), or a buffer of what is still owed)")
def test_client_reads_late_tcp(endpoint, settings):
    payload = pattern(LATE_READER_MIB << 20)
    with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as conn:
        # A receive buffer of its own size: autotuned (up to 32 MiB on Linux), it could take the whole echo, no
        # send of the server's would ever wait, and a send() that drops the rest passed (CI, a loaded machine).
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, LATE_READER_RCVBUF)
        filling = Deadline(LATE_READER_FILL)  # (it ends at the stall, at once on an idle machine)
        sent = conn.send_until_blocked(payload, LATE_READER_STALL, filling)
        time.sleep(LATE_READER_PAUSE)
        received, end_reason = conn.exchange(payload[sent:], settings.reply_timeout, owed=len(payload),
                                             expected=payload, until=Deadline(LATE_READER_BUDGET))
        if end_reason == OUT_OF_TIME and payload.startswith(received):
            return  # a slow server, right so far: how fast it echoes is not this check's question
        if received != payload:
            dropped = bool(received) and payload.startswith(received) and end_reason.startswith(STALLED)
            raise echo_mismatch(payload, received, end_reason, f"{LATE_READER_MIB} MiB, read late (after "
                                f"{sent:,} bytes sent unread and a {LATE_READER_PAUSE:g} s pause)",
                                DROPPED_SEND_HINT if dropped else "")


@check("echo::many_round_trips", protocols=TCP,
       description=f"{ROUND_TRIPS} messages of varying length, one after another, from one client "
                   f"(a slow server: as many as fit in {ROUND_TRIP_BUDGET:g} s, at least {MIN_ROUND_TRIPS})",
       expectation="each message comes back before the next is sent")
def test_many_round_trips_tcp(endpoint, settings):
    with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as conn:
        for index in paced_count(ROUND_TRIPS, MIN_ROUND_TRIPS, ROUND_TRIP_BUDGET):
            message = f"message {index} ".encode() + b"x" * (index % 37)
            conn.expect_echo(message, settings.reply_timeout, f"round trip {index + 1} of {ROUND_TRIPS}")


@check("echo::half_close", protocols=TCP,
       description="the client sends, then shuts down its write side",
       expectation="the server returns what is pending, then closes the connection")
def test_half_close_tcp(server, settings):
    language = language_of(server.spec.argv)
    with TcpConnection(server.endpoint, Deadline(settings.reply_timeout)) as conn:
        message = b"last words before half-close"
        conn.send_all(message, Deadline(settings.reply_timeout))
        conn.shutdown_write()
        try:
            received = conn.recv_exactly(len(message), Deadline(settings.reply_timeout), "the pending echo")
        except CheckFailed as failure:
            if "closed the connection" in failure.message or "reset the connection" in failure.message:
                failure.with_hint(f": {EOF_SEEN[language]} the client has only stopped sending — first send "
                                  "everything still owed to it (a server that multiplexes: flush that "
                                  "connection's output buffer), then close")
            raise
        if received != message:
            from harness.evidence.bytesdiff import echo_mismatch

            raise echo_mismatch(message, received, "", "after half-close")
        try:
            conn.expect_eof(Deadline(settings.reply_timeout))
        except CheckFailed as failure:
            if "did not close the connection" in failure.message:
                failure.with_hint(f": {EOF_SEEN[language]} the client has finished sending — leave the read "
                                  f"loop and close that connection ({CLOSE_ONE[language]}). A loop that goes on "
                                  "reading after the end spins, and a socket never closed is a leaked descriptor")
            raise


@check("echo::serves_next_client", protocols=TCP,
       description="after one client leaves, a second client is served",
       expectation="the server keeps running and echoes for the next client")
def test_serves_next_client_tcp(endpoint, settings):
    for client in ("first", "second", "third"):
        with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as conn:
            conn.expect_echo(f"{client} client\n".encode(), settings.reply_timeout, f"{client} client")


@check("echo::frees_closed_connection", protocols=TCP,
       description="after the client closes, the server closes its side of that connection",
       expectation="the server's socket leaves CLOSE_WAIT within the reply timeout (no descriptor kept open)")
def test_frees_closed_connection_tcp(server, endpoint, settings):
    with TcpConnection(endpoint, Deadline(settings.reply_timeout)) as conn:
        conn.expect_echo(b"goodbye\n", settings.reply_timeout)
        client_port = conn.local_port
    probe = server.probe

    def server_side_closed() -> bool:
        return not any(
            s.remote_port == client_port and s.state == "CLOSE_WAIT" for s in probe.tcp_sockets_on_port(endpoint.port)
        )

    wait = PATIENCE.close_wait(settings.reply_timeout)
    if not poll_until(server_side_closed, Deadline(wait)):
        PATIENCE.kept_open(wait, settings.reply_timeout)
        raise CheckFailed(
            f"{wait:g} s after the client closed, the server still holds its end of the connection open "
            f"(state CLOSE_WAIT){PATIENCE.why_close_short(wait, settings.reply_timeout)}: close the socket when "
            "recv() returns b''"
        )


# -- udp-echo -----------------------------------------------------------------
@check("echo::single_message", protocols=UDP)
def test_single_message_udp(endpoint, settings):
    with UdpClient(endpoint, settings.reply_timeout) as client:
        client.expect_echo(b"hello, harness\n")


@check("echo::binary_bytes", protocols=UDP)
def test_binary_bytes_udp(endpoint, settings):
    with UdpClient(endpoint, settings.reply_timeout) as client:
        client.expect_echo(BINARY)


@check("echo::edge_sizes", protocols=UDP)
def test_edge_sizes_udp(endpoint, settings):
    with UdpClient(endpoint, settings.reply_timeout) as client:
        for size in EDGE_SIZES:
            if size <= settings.max_datagram:
                client.expect_echo(pattern(size), f"{size}-byte datagram")


@check("echo::large_payload", protocols=UDP)
def test_large_payload_udp(endpoint, settings):
    with UdpClient(endpoint, settings.reply_timeout) as client:
        size = settings.max_datagram
        client.expect_echo(pattern(size), f"{size}-byte datagram (--max-datagram)")


@check("echo::many_round_trips", protocols=UDP)
def test_many_round_trips_udp(endpoint, settings):
    with UdpClient(endpoint, settings.reply_timeout) as client:
        for index in paced_count(ROUND_TRIPS, MIN_ROUND_TRIPS, ROUND_TRIP_BUDGET):
            client.expect_echo(f"datagram {index} ".encode() + b"y" * (index % 37),
                               f"datagram {index + 1} of {ROUND_TRIPS}")


@check("echo::serves_next_client", protocols=UDP)
def test_serves_next_client_udp(endpoint, settings):
    for client_name in ("first", "second", "third"):
        with UdpClient(endpoint, settings.reply_timeout) as client:
            client.expect_echo(f"{client_name} client".encode(), f"{client_name} client")


@check("echo::survives_empty_datagram", protocols=UDP,
       description="an empty datagram is sent, then a normal one",
       expectation="the server keeps running and answers the normal datagram")
def test_survives_empty_datagram_udp(endpoint, settings):
    with UdpClient(endpoint, settings.reply_timeout) as client:
        client.send(b"")
        reply = client.receive(Deadline(min(0.2, settings.reply_timeout)))
        if reply is None:  # an empty reply is allowed, not needed
            client.may_come_late(b"")  # a slow server's empty reply is not the answer to the next datagram
        elif reply == b"":
            client.echoed_once = b""  # a second empty reply is a second answer, not a cut echo
        try:
            client.expect_echo(b"still there?", "the datagram after an empty one")
        except CheckFailed as failure:
            if reply_address.known(endpoint.address) is None:
                raise failure.with_hint(EMPTY_IS_A_MESSAGE if client.port_closed else "") from None
            raise CheckFailed(f"{failure.message} — this server sends its replies to another client's address "
                              "(see its first failure), so this client cannot see whether it survived the empty "
                              "datagram", expected=failure.expected, received=failure.received) from None


#: Why a Python server may not answer an empty datagram through no fault of its own (blind 13, F10).
ASYNCIO_EMPTY_NOTE = ("\nnote: a server on asyncio's DatagramTransport cannot answer it before Python 3.13: its "
                      "sendto() drops an empty datagram without a word (socket.sendto(b'', addr) sends it)")
def on_old_asyncio(argv: tuple[str, ...]) -> bool:
    """Whether the server is a .py file run by this Python (before 3.13) that uses asyncio's datagram API."""
    if sys.version_info >= (3, 13) or language_of(argv) != "python":
        return False
    script = next((arg for arg in argv[1:] if arg.endswith(".py")), None)
    try:  # the submission's file: read as every server-controlled file is
        source = read_capped(script, 1 << 20) if script else b""
    except OSError:
        return False
    return b"asyncio" in source and (b"create_datagram_endpoint" in source or b"DatagramProtocol" in source)


#: A UDP server that took an empty datagram for an end (the TCP habit `if not data: break`).
EMPTY_IS_A_MESSAGE = ("\nhint: recvfrom() returns b'' for an empty datagram, and that is a message like any other: "
                      "a UDP socket has no end of stream. A loop that stops on `if not data: break` (right for TCP's "
                      "recv()) ends a UDP server; answer the empty datagram (or ignore it) and go on")


@check("echo::empty_datagram_answered", protocols=UDP, tier=RECOMMENDED,
       description="an empty datagram is answered by an empty datagram",
       expectation="an empty reply within the reply timeout (RFC 862 is ambiguous here; socat does not answer)")
def test_empty_datagram_answered_udp(server, endpoint, settings):
    with UdpClient(endpoint, settings.reply_timeout) as client:
        try:
            reply = client.exchange(b"")
        except CheckFailed as failure:
            raise failure.with_hint(EMPTY_IS_A_MESSAGE if client.port_closed else "") from None
        if reply is None:
            finding = reply_address.known(endpoint.address)
            raise CheckFailed(f"no reply to an empty datagram after {client.tries} tries"
                              + (reply_address.hint(finding) if finding else "")
                              + (ASYNCIO_EMPTY_NOTE if on_old_asyncio(server.spec.argv) else ""), expected=b"")
        if reply != b"":
            raise CheckFailed("the reply to an empty datagram was not empty", expected=b"", received=reply)
