"""tcp-hello and udp-hello checks (the seeds' greeting server; definition in
harness/protocols/hello.py and docs/protocols.md).

conversation:: the protocol itself — greeting, replies, non-ASCII, empty and long
names, `exit`. framing:: lines under coalesced and fragmented sends (line
mode), and the informational 粘包 demonstration (unframed mode).
concurrency:: many clients greeting at once; `exit` ends only its client.

Line-mode checks other than conversation::greeting accept any greeting line, so a
wrong greeting fails that check only.
"""

from __future__ import annotations

from harness.checks import INFORMATIONAL, check
from harness.clients.connection import TcpConnection
from harness.clients.crowd import (
    accept_queue_of,
    connect_while_accepting,
    fewer_connected,
)
from harness.clients.patience import PATIENCE
from harness.clients.reply_reader import ReplyReader
from harness.clients.sequential import (
    LEAK_DESCRIPTION,
    LEAK_EXPECTATION,
    require_no_leak,
)
from harness.clients.udp import EIGHT_KIB_READERS, SOCKETSERVER_MAX_PACKET, UdpClient
from harness.deadline import Deadline
from harness.errors import CheckFailed
from harness.evidence.bytesdiff import describe_mismatch, readable
from harness.evidence.hints import greeting_mode_hint
from harness.protocols.hello import (
    DIALECTS,
    LINE,
    coalesced_reply_candidates,
    reply_for,
)
from harness.server.idle import IDLE_DESCRIPTION, IDLE_EXPECTATION, require_idle
from harness.server.launcher import Endpoint
from harness.server.serverkind import READ_CALL, language_of
from harness.settings import Settings
from harness.system.acceptqueue import AcceptQueue

TCP = ("tcp-hello",)
UDP = ("udp-hello",)
SEED_NAMES = ("Michael", "Tracy", "Sarah")
NON_ASCII_NAMES = ("张三", "Zoë Ångström", "Ωμέγα 🙂")
#: A line-mode name far beyond a recv(1024)/recv(4096) buffer, yet within the 64 KiB line limit
#: of common line readers (asyncio's StreamReader.readline, for one): a server may cap lines.
LONG_LINE = 60_000
#: Unframed: one send() of this size arrives as one segment on loopback, yet
#: is cut by the seed's recv(1024).
LONG_UNFRAMED = 4000


#: Unframed: how long the greeting must be quiet before it is taken as whole.
GREETING_SETTLE = 0.05


def line_mode(settings: Settings) -> bool:
    return settings.protocol != "tcp-hello" or settings.hello_mode == "line"


def unframed_mode(settings: Settings) -> bool:
    return settings.protocol == "tcp-hello" and settings.hello_mode == "unframed"


def long_name(size: int) -> str:
    """ASCII, varied, so a dropped or repeated piece shows in the diff."""
    return "".join(chr(ord("a") + (i * 7) % 26) for i in range(size))


class HelloClient:
    """One tcp-hello conversation: connect, greeting, names, exit."""

    def __init__(self, endpoint: Endpoint, settings: Settings) -> None:
        self.settings = settings
        self.dialect = DIALECTS[settings.hello_mode]
        self.conn = TcpConnection(endpoint, Deadline(settings.reply_timeout))
        self.reader = ReplyReader(self.conn)

    def __enter__(self) -> HelloClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.conn.close()

    def greeting(self, exact: bool = False, settle: float = GREETING_SETTLE) -> None:
        """Read the greeting; any greeting is accepted unless `exact`.

        Unframed, the greeting is everything that arrives before the client
        sends (until `settle` s of quiet): a b"Welcome!" is one wrong greeting,
        not a right one followed by a stray b"!" blamed on every later reply."""
        timeout = self.settings.reply_timeout
        if self.dialect is not LINE:
            got = self.reader.read_until(lambda got: len(got) >= len(self.dialect.greeting), timeout, settle=settle)
            if not got or (exact and got != self.dialect.greeting):
                reason = "no greeting arrived" if not got else "the greeting differs from what the protocol requires"
                raise CheckFailed(f"the greeting on connect: {reason}" + greeting_mode_hint(got, unframed=True),
                                  expected=self.dialect.greeting, received=got,
                                  detail=describe_mismatch(self.dialect.greeting, got) if got else "")
        elif exact:
            try:
                self.reader.expect(self.dialect.greeting, timeout, "the greeting on connect")
            except CheckFailed as failure:
                failure.with_hint(greeting_mode_hint(failure.received or b"", unframed=False))
                raise
            # Nothing more comes before the client sends (blind 19: a greeting sent twice passed here and
            # every later reply was blamed on the server's line reader).
            more = self.reader.read_until(lambda got: True, settle, settle=settle, learn=False)
            if more:
                raise CheckFailed(f"the greeting on connect: it came, then {len(more)} more bytes before the client "
                                  f"sent anything ({readable(more, 40)}): the server greets with exactly "
                                  f"{readable(self.dialect.greeting)}, once, and then waits for a name",
                                  expected=self.dialect.greeting, received=self.dialect.greeting + more,
                                  detail=describe_mismatch(self.dialect.greeting, self.dialect.greeting + more))
        elif self.reader.read_line(timeout) is None:
            got = bytes(self.reader.pending)
            waited = f"after connecting: {self.reader.cut}" if self.reader.cut else f"within {timeout:g} s of connecting"
            raise CheckFailed(f"no greeting line (ending in \\n) arrived {waited}"
                              + greeting_mode_hint(got, unframed=False), expected=LINE.greeting, received=got)

    def send(self, data: bytes) -> None:
        self.conn.send_all(data, Deadline(self.settings.reply_timeout))

    def ask(self, name: str, context: str = "") -> None:
        early = bytes(self.reader.pending)  # arrived before the request: no answer to it
        self.send(self.dialect.request(name))
        try:  # (bytes that came unasked are not the line reader's fault)
            self.reader.expect(self.dialect.reply(name), self.settings.reply_timeout,
                               context or f"the reply to {name!r}", lines_hinted=not early)
        except CheckFailed as failure:
            if early:
                failure.with_hint(
                    f"\nhint: {len(early)} bytes ({readable(early, 40)}) had arrived before the client sent its "
                    f"request: the server sends more than the greeting on connect (the greeting twice, a prompt, a "
                    f"banner); it greets with exactly {readable(self.dialect.greeting)}, once")
            raise


def tcp_long_name_size(settings: Settings) -> int:
    return LONG_LINE if settings.hello_mode == "line" else LONG_UNFRAMED


def udp_long_name_size(settings: Settings) -> int:
    return max(1, min(60_000, settings.max_datagram - len(reply_for(b""))))


def udp_expect(client: UdpClient, name: bytes, context: str) -> None:
    """Send NAME as a datagram (3 tries) and require exactly Hello, NAME! back."""
    expected = reply_for(name)
    reply = client.exchange(name)
    if reply is None:
        raise client.no_reply(name, expected, context)
    if reply != expected:
        raise CheckFailed(f"{context}: the reply differs from what the protocol requires{name_cut_hint(name, reply)}",
                          expected=expected, received=reply, detail=describe_mismatch(expected, reply))


def name_cut_hint(name: bytes, reply: bytes) -> str:
    """The reply greets only the start of the name: the server read the datagram into a smaller buffer
    (recvfrom(1024) drops the rest of a longer datagram, silently)."""
    empty = reply_for(b"")
    expected = reply_for(name)
    head = expected[: expected.find(name)] if name else empty
    tail = empty[len(head):]
    read = reply[len(head): len(reply) - len(tail)] if len(reply) >= len(empty) else None
    if (not name or read is None or len(read) >= len(name) or not reply.startswith(head)
            or not reply.endswith(tail) or not name.startswith(read)):
        return ""
    hint = (f"\nhint: the reply greets only the first {len(read):,} of the {len(name):,} bytes of the name: is the "
            f"server's receive buffer only {len(read):,} bytes? recvfrom(n) silently drops the rest of a longer "
            "datagram: read with recvfrom(65535)")
    if len(read) == SOCKETSERVER_MAX_PACKET:
        hint += f" ({EIGHT_KIB_READERS})"
    return hint


# -- conversation:: the protocol ----------------------------------------------
@check("conversation::greeting", protocols=TCP,
       description="on connect the server greets first (line mode: Welcome!\\n; unframed: Welcome)",
       expectation="the greeting arrives before the client sends anything, byte for byte")
def test_greeting_tcp(endpoint, settings):
    with HelloClient(endpoint, settings) as client:
        client.greeting(exact=True)


@check("conversation::hello_reply", protocols=TCP,
       description="the seed's names Michael, Tracy, Sarah, one after another",
       expectation="each NAME is answered by Hello, NAME! (line mode: with \\n) before the next is sent")
def test_hello_reply_tcp(endpoint, settings):
    with HelloClient(endpoint, settings) as client:
        client.greeting()
        for name in SEED_NAMES:
            client.ask(name)


@check("conversation::hello_reply", protocols=UDP)
def test_hello_reply_udp(endpoint, settings):
    with UdpClient(endpoint, settings.reply_timeout) as client:
        for name in SEED_NAMES:
            udp_expect(client, name.encode(), f"the reply to {name!r}")


@check("conversation::non_ascii_name", protocols=TCP,
       description="names in Chinese, with accents, Greek and an emoji (UTF-8)",
       expectation="each name comes back unchanged inside Hello, NAME! (UTF-8 in, UTF-8 out)")
def test_non_ascii_name_tcp(endpoint, settings):
    with HelloClient(endpoint, settings) as client:
        client.greeting()
        for name in NON_ASCII_NAMES:
            client.ask(name)


@check("conversation::non_ascii_name", protocols=UDP)
def test_non_ascii_name_udp(endpoint, settings):
    with UdpClient(endpoint, settings.reply_timeout) as client:
        for name in NON_ASCII_NAMES:
            udp_expect(client, name.encode(), f"the reply to {name!r}")


@check("conversation::empty_name", protocols=TCP, when=line_mode,
       description="an empty line (TCP) or an empty datagram (UDP), then a normal name",
       expectation="Hello, !, and the server keeps serving: the next name is answered too")
def test_empty_name_tcp(endpoint, settings):
    with HelloClient(endpoint, settings) as client:
        client.greeting()
        client.ask("", "the reply to an empty line")
        client.ask("Nobody", "the reply to the name after an empty line")


@check("conversation::empty_name", protocols=UDP)
def test_empty_name_udp(endpoint, settings):
    with UdpClient(endpoint, settings.reply_timeout) as client:
        udp_expect(client, b"", "the reply to an empty datagram")
        udp_expect(client, b"Nobody", "the reply to the datagram after an empty one")


@check("conversation::long_name", protocols=TCP,
       description="a very long name: 60,000 bytes in line mode; 4,000 in one send unframed; 60,000 over UDP",
       expectation="one reply with the whole name (no cut at recv(1024), no reply per chunk)")
def test_long_name_tcp(endpoint, settings):
    size = tcp_long_name_size(settings)
    with HelloClient(endpoint, settings) as client:
        client.greeting()
        try:
            client.ask(long_name(size), f"the reply to a {size:,}-byte name")
        except CheckFailed as failure:
            if not failure.received and client.reader.closed:  # (blind 19: Twisted's LineReceiver, no word)
                failure.with_hint(LINE_LIMIT_HINT)
            raise
        client.ask("Short", "the reply to a short name after the long one")


#: A long line answered by a close: a line-length limit of the server's framework.
LINE_LIMIT_HINT = ("\nhint: the server ended the connection on a long line without answering it: a line-length limit "
                   "(Twisted's LineReceiver.MAX_LENGTH is 16384, asyncio's StreamReader limit 65536, a fixed buffer): "
                   "raise it to the longest line the protocol allows")


@check("conversation::long_name", protocols=UDP)
def test_long_name_udp(endpoint, settings):
    size = udp_long_name_size(settings)
    with UdpClient(endpoint, settings.reply_timeout) as client:
        udp_expect(client, long_name(size).encode(), f"the reply to a {size:,}-byte name")


@check("conversation::exit_closes_connection", protocols=TCP,
       description="after a name, the client sends exit",
       expectation="the server closes that connection without a reply")
def test_exit_closes_connection_tcp(endpoint, settings):
    with HelloClient(endpoint, settings) as client:
        client.greeting()
        client.ask("Michael")
        client.send(client.dialect.exit_request)
        client.reader.expect_close(settings.reply_timeout, "after exit")


# -- framing:: lines under coalesced and fragmented sends -----------------------
@check("framing::coalesced_lines", protocols=TCP, when=line_mode,
       description="three names in one segment: Alice\\nBob\\nCarol\\n",
       expectation="three replies, in order, as if the lines had been sent one by one")
def test_coalesced_lines_tcp(server, endpoint, settings):
    names = ("Alice", "Bob", "Carol")
    with HelloClient(endpoint, settings) as client:
        client.reader.read_call = READ_CALL[language_of(server.spec.argv)]  # a Node server: a 'data' event
        client.greeting()
        client.send(b"".join(client.dialect.request(n) for n in names))
        for index, name in enumerate(names):
            client.reader.expect(client.dialect.reply(name), settings.reply_timeout,
                                 f"reply {index + 1} of 3 to the lines sent in one segment")


@check("framing::split_line", protocols=TCP, when=line_mode,
       description="one name sent one byte per segment (TCP_NODELAY, pauses between)",
       expectation="a single reply once the \\n has arrived, none for the pieces")
def test_split_line_tcp(server, endpoint, settings):
    with HelloClient(endpoint, settings) as client:
        client.reader.read_call = READ_CALL[language_of(server.spec.argv)]
        client.greeting()
        request = client.dialect.request("Dorothy")
        client.conn.send_segments([request[i:i + 1] for i in range(len(request))], 0.02,
                                  Deadline(settings.reply_timeout + 1))
        client.reader.expect(client.dialect.reply("Dorothy"), settings.reply_timeout,
                             "the reply to a line that arrived one byte at a time")


@check("framing::coalesced_messages", protocols=TCP, when=unframed_mode, tier=INFORMATIONAL,
       description="unframed mode: two names in one send(), as happens when sends coalesce (粘包)",
       expectation="informational: shows what the server answered; without a delimiter no server can split them")
def test_coalesced_messages_tcp(endpoint, settings, inform):
    first, second = "Alice", "Bob"
    with HelloClient(endpoint, settings) as client:
        client.greeting()
        sent = client.dialect.request(first) + client.dialect.request(second)
        client.send(sent)
        candidates = coalesced_reply_candidates(first, second)
        received = client.reader.read_until(lambda got: got in candidates, settings.reply_timeout, learn=False)
    meaning = candidates.get(received)
    if meaning is None:
        meaning = "no reply" if not received else "an unexpected reply"
    inform(
        f"sent {sent!r} in one segment (two messages, {first!r} and {second!r}, coalesced); "
        f"received {received!r}: {meaning}. A delimiter (line mode) or a length header (tcp-framed) fixes this.",
        expected=client.dialect.reply(first) + client.dialect.reply(second),
        received=received,
    )


# -- concurrency:: many clients -----------------------------------------------------
def one_at_a_time_hint(earlier: str) -> str:
    """When an earlier client of the crowd (`earlier`: "the clients before it were") was greeted and a later
    one never was."""
    return (f"\nhint: {earlier} greeted, and {'is' if earlier.endswith(' was') else 'are'} still connected: the "
            "server serves one client at a time (it greets the next only when the current one leaves). Serve each "
            "client in a thread of its own (socketserver.ThreadingTCPServer), or multiplex them with selectors")


def never_accepted(unaccepted: AcceptQueue | None) -> bool:
    """Whether a connected client still waits in the server's accept queue: the evidence that it serves one
    client at a time (a server that accepted every client and greets none but the first has another bug)."""
    return unaccepted is not None and unaccepted().waiting > 0


@check("concurrency::simultaneous_greetings", protocols=TCP,
       description="--clients clients (default 50) connect at once; each is greeted, then sends its own name",
       expectation="every client is greeted and receives exactly Hello, ITS-NAME! (no one-client-at-a-time)")
def test_simultaneous_greetings_tcp(server, endpoint, settings):
    clients: list[HelloClient] = []
    unaccepted = accept_queue_of(server)
    try:
        connect_while_accepting(lambda: HelloClient(endpoint, settings), settings.clients, unaccepted,
                                settings.reply_timeout, clients)
        for index, client in enumerate(clients):
            try:
                client.greeting(settle=0.0)  # connected long ago: the greeting is in
            except CheckFailed as failure:
                connected = (f"{len(clients)} connected at once" if len(clients) == settings.clients else
                             f"only {len(clients)} of {settings.clients} could connect")
                raise CheckFailed(f"client {index + 1} ({connected}): {failure.message}"
                                  + (one_at_a_time_hint("the clients before it were")
                                     if index and never_accepted(unaccepted) else ""),
                                  expected=failure.expected, received=failure.received) from None
        for index, client in enumerate(clients):
            client.send(client.dialect.request(f"client-{index}"))
        for index, client in enumerate(clients):
            client.reader.expect(client.dialect.reply(f"client-{index}"), settings.reply_timeout,
                                 f"client {index + 1} of {len(clients)}")
        if len(clients) < settings.clients:
            raise fewer_connected(len(clients), settings.clients, settings.reply_timeout)
    finally:
        for client in clients:
            client.conn.close()


@check("concurrency::simultaneous_greetings", protocols=UDP)
def test_simultaneous_greetings_udp(endpoint, settings):
    clients = [UdpClient(endpoint, settings.reply_timeout) for _ in range(settings.clients)]
    try:
        for index, client in enumerate(clients):
            client.send(f"client-{index}".encode())
        missing = []
        deadline = Deadline(PATIENCE.wait(settings.reply_timeout))  # cut after a whole-timeout silence (blind 13)
        for index, client in enumerate(clients):
            reply = client.receive(deadline)
            if reply is None:
                missing.append(index)
            elif reply != reply_for(f"client-{index}".encode()):
                raise CheckFailed(f"client {index + 1} of {len(clients)} got another reply than its own",
                                  expected=reply_for(f"client-{index}".encode()), received=reply)
        for index in missing:  # lost datagrams get their 3 tries (SPEC §3)
            udp_expect(clients[index], f"client-{index}".encode(), f"client {index + 1} of {len(clients)}")
    finally:
        for client in clients:
            client.sock.close()


@check("concurrency::exit_ends_only_its_client", protocols=TCP,
       description="two clients are greeted; one sends exit; then the other sends a name and a third client connects",
       expectation="only the exiting client's connection closes; the other is answered and the newcomer greeted")
def test_exit_ends_only_its_client_tcp(server, endpoint, settings):
    unaccepted = accept_queue_of(server)
    with HelloClient(endpoint, settings) as leaving, HelloClient(endpoint, settings) as staying:
        leaving.greeting()
        try:
            staying.greeting()
        except CheckFailed as failure:
            if not never_accepted(unaccepted):
                raise
            raise failure.with_hint(one_at_a_time_hint("the first client was")) from None
        leaving.send(leaving.dialect.exit_request)
        leaving.reader.expect_close(settings.reply_timeout, "the client that sent exit")
        staying.ask("Tracy", "the other client, after the first one sent exit")
        with HelloClient(endpoint, settings) as newcomer:
            newcomer.greeting()
            newcomer.ask("Sarah", "a new client, after another one sent exit")



@check("concurrency::idle_without_busy_loop", protocols=TCP, description=IDLE_DESCRIPTION,
       expectation=IDLE_EXPECTATION)
def test_idle_without_busy_loop_tcp(fresh_server, settings):
    """Three clients greeted and answered, then gone without exit (a client may vanish: the server sees recv()
    return b''), then nobody talks: a server that never checks for b'' spins on it (blind 13)."""
    instance = fresh_server()
    answered = True
    for _ in range(3):  # after a client got no answer, the next ones do not wait out the same silence
        if not answered:
            TcpConnection(instance.endpoint, Deadline(settings.reply_timeout)).close()
            continue
        try:
            visit(instance.endpoint, settings, "a client that then leaves without exit")
        except CheckFailed:  # a wrong conversation is conversation::'s finding, not a busy loop
            answered = False
    require_idle(instance, "after three clients were answered and left without sending exit")


@check("concurrency::idle_without_busy_loop", protocols=UDP, description=IDLE_DESCRIPTION,
       expectation=IDLE_EXPECTATION)
def test_idle_without_busy_loop_udp(fresh_server, settings):
    instance = fresh_server()
    with UdpClient(instance.endpoint, settings.reply_timeout) as client:
        for name in SEED_NAMES:
            try:
                udp_expect(client, name.encode(), f"the reply to {name!r}")
            except CheckFailed:  # conversation::'s finding, not a busy loop
                break
    require_idle(instance, "after three names were answered", datagrams=True)


@check("concurrency::no_descriptor_leak", protocols=TCP, description=LEAK_DESCRIPTION, expectation=LEAK_EXPECTATION)
def test_no_descriptor_leak_tcp(fresh_server, settings):
    """Clients greeted and answered one after another, each then gone without exit (blind 13)."""
    instance = fresh_server()
    require_no_leak(instance, settings.reply_timeout, lambda who: visit(instance.endpoint, settings, who))


def visit(endpoint: Endpoint, settings: Settings, who: str) -> None:
    """A client greeted and answered once, then gone without exit (the server sees recv() return b'')."""
    with HelloClient(endpoint, settings) as client:
        client.greeting()
        client.ask("Michael", who)
