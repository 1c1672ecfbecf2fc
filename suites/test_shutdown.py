"""shutdown — SIGINT and SIGTERM end the server and everything it started,
promptly, and the port is free again at once (SPEC §4).

Each check runs on its own fresh server instance, because each ends it.
Both signals go to the server's process group: SIGINT as Ctrl+C in a terminal
sends it, SIGTERM as a service manager stops a service (systemd's default
KillMode=control-group) — so a fork-per-client server's children get it too
and, by default, exit. A process that ignores it, or left the group (setsid,
a double fork), survives and fails the check. Whatever a check leaves running
is killed by the fixture's teardown.

The bugs, as students write them: client threads that are not daemons (Ctrl+C
hangs while a client is connected), SIGTERM ignored, fork-per-client children
that outlive the parent, no SO_REUSEADDR (a restart fails with "Address
already in use"), a server that quits after one client, and a KeyboardInterrupt
traceback at every Ctrl+C (only a recommended check).
"""

from __future__ import annotations

import signal
import struct
from contextlib import ExitStack, suppress

import pytest

from harness.checks import PROTOCOL_FILE, RECOMMENDED, check
from harness.clients.connection import TcpConnection
from harness.clients.patience import PATIENCE
from harness.clients.udp import UdpClient
from harness.deadline import Deadline, poll_until
from harness.errors import CheckFailed, ServerStartError
from harness.protocols import PROTOCOLS
from harness.server.launcher import ServerProcess
from harness.server.output_capture import TRACEBACK, TracebackPrinted
from harness.server.shutdown import ShutdownOutcome, shut_down
from harness.server.shutdown_advice import excerpt, hint, traceback_advice
from harness.server.serverkind import NODE, REUSE_ADDRESS, language_of
from harness.settings import Settings

#: Shutdown is the same for every protocol; only the opening messages differ.
ALL = (*PROTOCOLS, PROTOCOL_FILE)

#: Clients held mid-conversation while the signal arrives.
TCP_CLIENTS = 3
UDP_CLIENTS = 2
#: How long a server must keep running after its client left, unsignalled.
IDLE_WATCH = 1.0
#: After a traceback, how long stderr must stay quiet before it counts as printed whole.


# -- bringing clients mid-conversation ------------------------------------------
def opening_messages(settings: Settings) -> tuple[bytes, bytes]:
    """(a complete message the server answers, the first part of another).

    After both, the server is inside a conversation: it has answered once and
    is blocked reading the rest of a message.
    """
    if settings.protocol_file:  # SPEC §6: the first exchange of the first required conversation, then half the next
        from harness.protocolfile import load_protocol_file
        from harness.protocolfile.first_exchange import opening_messages

        return opening_messages(load_protocol_file(settings.protocol))
    if settings.protocol == "tcp-framed":
        header = struct.Struct(settings.length_format)
        return header.pack(5) + b"hello", header.pack(100) + b"0123456789"
    if settings.protocol == "tcp-file":
        # The most basic request: a server silent on a missing file is conversation::missing_file's finding,
        # and must not cost a whole reply timeout in every shutdown check (blind 13).
        return b"get hello.txt\n", b"get half-a-na"
    return b"hello before shutdown\n", b"half a messa"


def converse(server: ServerProcess, settings: Settings, stack: ExitStack, partial: bool = True) -> None:
    """Hold clients of `server` mid-conversation until `stack` closes.

    The first client gets an answer first (any bytes), which proves a handler
    is busy with it; the others only send part of a message (a
    one-client-at-a-time server has not accepted them, which is not this
    suite's business). Connecting must work; what the conversation says is
    the protocol suites' business, so its failures are ignored here.
    Without `partial`, every client completes one exchange and sends nothing
    more (see `test_port_reusable`).
    """
    endpoint = server.endpoint
    assert endpoint is not None
    complete, partial_message = opening_messages(settings)
    answered = False
    # After a client got no answer, the others do not wait for one: the same silence again.
    for index in range(UDP_CLIENTS if settings.transport == "udp" else TCP_CLIENTS):
        if settings.transport == "udp":
            client = stack.enter_context(UdpClient(endpoint, settings.reply_timeout, tries=1))
            with suppress(CheckFailed):
                if index == 0:
                    client.exchange(complete)
                client.send(partial_message)
        else:
            conn = stack.enter_context(TcpConnection(endpoint, Deadline(settings.reply_timeout)))
            stack.callback(leave, conn, server)
            with suppress(CheckFailed):
                # A protocol file's clients each complete the first exchange (SPEC §6) while answers come.
                if index == 0 or answered:
                    if index == 0 or settings.protocol_file or not partial:
                        answered = exchange_once(conn, complete, settings)
                elif not partial:
                    conn.send_all(complete, Deadline(settings.reply_timeout))
                if partial:
                    conn.send_all(partial_message, Deadline(settings.reply_timeout))


def exchange_once(conn: TcpConnection, message: bytes, settings: Settings) -> bool:
    """Send a complete message and read the first bytes of the answer (and
    whatever else has arrived with them); whether an answer came."""
    conn.send_all(message, Deadline(settings.reply_timeout))
    # The reply is not this suite's subject: a server already known to go
    # silent (harness.clients.patience) is not waited for a whole timeout again,
    # and one known to answer only at EOF only gets a moment to read.
    if conn.read_available(PATIENCE.some_answer_wait(settings.reply_timeout), cap=1):
        conn.read_available(0, cap=1 << 20)
        return True
    return False


def drain(conn: TcpConnection) -> None:
    """Read what has arrived before the client closes, so the close is a FIN,
    not an RST: a reset would crash the server's handler, and its traceback
    would not be the server's doing."""
    conn.read_available(0, cap=1 << 20)


def leave(conn: TcpConnection, server: ServerProcess) -> None:
    """Close a client after the shutdown, leaving the port as clean as it was.

    With the server's whole tree gone, an RST also wipes the server's end of
    the connection, which would otherwise linger in FIN_WAIT2 or TIME_WAIT
    and keep a server without SO_REUSEADDR on a fixed port from starting
    again for a minute — in every later check too, not only in
    shutdown::port_reusable. While processes of the tree survive, a FIN
    (drain, then close) lets them end without a reset's traceback.
    """
    if server.pids(with_token=True):
        drain(conn)
        conn.close()
    else:
        conn.abort()


# -- the signal checks -----------------------------------------------------------
def run_signal_check(fresh_server, settings: Settings, sig: signal.Signals, with_clients: bool) -> None:
    server = fresh_server()
    with ExitStack() as clients:
        if with_clients:
            converse(server, settings, clients)
        outcome = shut_down(server, sig, settings.shutdown_timeout)
    situation = (f"with {TCP_CLIENTS if settings.transport == 'tcp' else UDP_CLIENTS} clients mid-conversation"
                 if with_clients else "with no client")
    if outcome is None:
        pytest.skip(
            f"the server exited on its own ({server.exit_description()}) before {sig.name} could be sent "
            f"{situation}; shutdown::runs_until_stopped judges that"
        )
    if not outcome.clean:
        raise CheckFailed(f"{sig.name} sent {signal_target_text(sig, outcome.to_group)} {situation}: "
                          f"{outcome.describe()}",
                          detail=hint(outcome, with_clients, command_lines(server, outcome)))


def signal_target_text(sig: signal.Signals, to_group: bool) -> str:
    if not to_group:
        return "to the server's process"
    how = "as Ctrl+C does" if sig == signal.SIGINT else "as a service manager stops a service"
    return f"to the server's process group, {how},"


def command_lines(server: ServerProcess, outcome: ShutdownOutcome) -> list[str]:
    """The server's command and its survivors', to tell its language by."""
    return [" ".join(server.spec.argv), *(s.command for s in outcome.survivors)]


@check("shutdown::sigint_idle", protocols=ALL,
       description="SIGINT (Ctrl+C) is sent to the server's process group while no client is connected",
       expectation="the server and every process it started exit within --shutdown-timeout (3 s)")
def test_sigint_idle(fresh_server, settings):
    run_signal_check(fresh_server, settings, signal.SIGINT, with_clients=False)


@check("shutdown::sigterm_idle", protocols=ALL,
       description="SIGTERM is sent to the server's process group (as a service manager stops a service: "
                   "systemd's KillMode=control-group) while no client is connected",
       expectation="the server and every process it started exit within --shutdown-timeout (3 s)")
def test_sigterm_idle(fresh_server, settings):
    run_signal_check(fresh_server, settings, signal.SIGTERM, with_clients=False)


@check("shutdown::sigint_with_clients", protocols=ALL,
       description="SIGINT (Ctrl+C) is sent to the server's process group while clients are "
                   "mid-conversation (TCP: connected; UDP: a request sent)",
       expectation="the server and every process it started (children serving clients included) "
                   "exit within --shutdown-timeout; no descendant survives")
def test_sigint_with_clients(fresh_server, settings):
    run_signal_check(fresh_server, settings, signal.SIGINT, with_clients=True)


@check("shutdown::sigterm_with_clients", protocols=ALL,
       description="SIGTERM is sent to the server's process group (as a service manager stops a service: "
                   "systemd's KillMode=control-group) while clients are mid-conversation (TCP: connected; UDP: "
                   "a request sent)",
       expectation="the server and every process it started (children serving clients included) exit within "
                   "--shutdown-timeout; no descendant survives (one that ignores SIGTERM, or left the group "
                   "with setsid or a double fork, fails)")
def test_sigterm_with_clients(fresh_server, settings):
    run_signal_check(fresh_server, settings, signal.SIGTERM, with_clients=True)


# -- restart on the same port ------------------------------------------------------
@check("shutdown::port_reusable", protocols=ALL,
       description="the server is stopped while clients are mid-conversation, then a new instance is started on "
                   "the same port",
       expectation="the new instance listens on the port at once (SO_REUSEADDR: old connections linger in "
                   "TIME_WAIT for a minute)")
def test_port_reusable(fresh_server, settings):
    first = fresh_server()
    assert first.endpoint is not None
    port = first.endpoint.port
    kind = settings.transport.upper()
    with ExitStack() as clients:
        # The server's side of each connection must close first and cleanly
        # (a FIN, never a reset: no byte left unread), and the clients stay
        # open through the restart, so those connections linger as
        # FIN_WAIT2 — exactly what stops a plain bind() without SO_REUSEADDR.
        # (A reset, from a message half-read at the kill, wipes them and let
        # such a server pass now and then.)
        converse(first, settings, clients, partial=settings.transport != "tcp")
        if kind == "TCP":
            all_read(first, port, Deadline(settings.reply_timeout))
        first.stop(grace=settings.shutdown_timeout)  # a shutdown; whether it was prompt is judged elsewhere
        lingering = sorted({s.state for s in first.probe.tcp_sockets_on_port(port)}) if kind == "TCP" else []
        try:
            second = fresh_server(port)
        except ServerStartError as error:
            old = f" (its old connections were still in the kernel as {', '.join(lingering)})" if lingering else ""
            in_use = "Address already in use" in error.output_tail
            language = language_of(first.spec.argv)
            fix = (f"Set SO_REUSEADDR on the listening socket before bind(): {REUSE_ADDRESS[language]}\n"
                   if language != NODE else f"{REUSE_ADDRESS[language]}\n") if in_use else ""
            raise CheckFailed(
                f"a new instance could not listen on {kind} port {port} right after the previous instance "
                f"was stopped with clients mid-conversation{old}"
                + (": bind() failed with 'Address already in use'" if in_use else f": {error}"),
                # (the new instance's own start-up advice would say the same again: only its output follows)
                detail=(f"{fix}{error.output_tail}" if in_use
                        else f"--- the new instance: {error}\n{error.output_tail}"),
            ) from None
    assert second.endpoint is not None
    if second.endpoint.port != port and first.endpoint.port_source == "discovered":
        pytest.skip(
            f"the server chooses its own port at every start ({first.endpoint.listening}, then "
            f"{second.endpoint.listening}), so a restart on the same port cannot be tried: let it use {{port}}/$PORT"
        )
    if second.endpoint.port != port:
        raise CheckFailed(
            f"the new instance was told to use {kind} port {port} (free again) but listened on "
            f"{second.endpoint.listening} instead"
        )


def all_read(server: ServerProcess, port: int, deadline: Deadline) -> bool:
    """Wait until the server has read every byte its clients sent (its accepted
    connections' receive queues are empty), so closing them sends FINs, not
    resets. Connections still in the accept queue (no inode yet) are not its
    to read; a server that never reads is not waited for past `deadline`."""
    def empty() -> bool:
        return all(s.rqueue == 0 for s in server.probe.tcp_sockets_on_port(port)
                   if s.state == "ESTABLISHED" and s.inode)
    return poll_until(empty, deadline, interval=0.002, max_interval=0.02)


# -- runs until stopped --------------------------------------------------------------
@check("shutdown::runs_until_stopped", protocols=ALL,
       description="a client converses and leaves; then nobody connects for a while",
       expectation=f"the server keeps running and listening ({IDLE_WATCH:g} s watched) until it is signalled")
def test_runs_until_stopped(fresh_server, settings):
    server = fresh_server()
    complete, _ = opening_messages(settings)
    # Whether the answer is right is the protocol suites' business; this check watches the server live on.
    if settings.transport == "udp":
        with UdpClient(server.endpoint, settings.reply_timeout, tries=1) as client, suppress(CheckFailed):
            client.exchange(complete)
    else:
        with TcpConnection(server.endpoint, Deadline(settings.reply_timeout)) as conn, suppress(CheckFailed):
            exchange_once(conn, complete, settings)
            drain(conn)
    watch = Deadline(IDLE_WATCH)
    if poll_until(lambda: not server.still_listening(), watch, interval=0.01, max_interval=0.05):
        poll_until(lambda: not server.alive(), Deadline(0.5))
        raise CheckFailed(
            f"the server stopped listening {watch.elapsed():.2f} s after its client left, without being "
            f"signalled ({server.exit_description()}): a server serves clients until it is stopped — "
            "loop around accept() (or recvfrom()) instead of handling one client and returning"
        )


# -- no traceback at shutdown (recommended) ----------------------------------------------
@check("shutdown::no_traceback", protocols=ALL, tier=RECOMMENDED,
       description="SIGINT (Ctrl+C) is sent while a client is connected; stderr is read from that moment",
       expectation="the server exits quietly: no Python traceback (KeyboardInterrupt caught, threads end cleanly)")
def test_no_traceback(fresh_server, settings):
    server = fresh_server()
    assert server.output is not None
    stderr = server.output.stream("stderr")
    with ExitStack() as clients:
        try:
            converse(server, settings, clients)
        except CheckFailed as failure:  # the other checks judge a server that takes no clients; this one cannot
            pytest.skip(f"not judged: no client could be held mid-conversation ({failure.message})")
        mark = stderr.total
        # A whole traceback on stderr is the verdict already: the server's exit is not waited for
        # (a server whose non-daemon threads keep it alive would cost the whole shutdown timeout).
        shut_down(server, signal.SIGINT, settings.shutdown_timeout, enough=TracebackPrinted(stderr, mark))
    server.stop()  # whatever is left; also drains the rest of its output
    new_bytes = stderr.total - mark
    printed = stderr.tail(new_bytes) if new_bytes > 0 else b""
    if TRACEBACK in printed:
        raise CheckFailed(
            "the server printed a traceback on stderr when stopped with SIGINT (Ctrl+C): " + traceback_advice(printed),
            # (from the start of its line: an exception group's is "  + Exception Group Traceback ...")
            detail=excerpt(server.as_printed(printed[printed.rfind(b"\n", 0, printed.find(TRACEBACK)) + 1:]
                                             .decode("utf-8", "replace")).rstrip()),
        )

