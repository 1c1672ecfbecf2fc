"""tcp-file checks (the seeds' file downloader; definition in
harness/protocols/filetransfer.py and docs/protocols.md).

Each server instance serves its own directory of files written by the harness
(harness/server/served_files.py): text, binary, empty, 50 MiB, a non-ASCII name, and
eight parts for concurrent downloads; a secret file lies just outside it.

conversation:: exact bytes and hash of each kind of file, a missing file, path
traversal, several downloads on one connection. framing:: requests coalesced
in one segment or split over many. concurrency:: parallel downloads; a
client that does not read does not stall the others.
"""

from __future__ import annotations

import json
import selectors
import time

from harness.checks import check
from harness.clients.connection import TcpConnection
from harness.clients.crowd import (
    accept_queue_of,
    connect_while_accepting,
    fewer_connected,
)
from harness.clients.patience import PATIENCE
from harness.clients.sequential import (
    LEAK_DESCRIPTION,
    LEAK_EXPECTATION,
    require_no_leak,
)
from harness.deadline import Deadline
from harness.errors import CheckFailed
from harness.evidence import wirelog
from harness.evidence.bytesdiff import describe_mismatch
from harness.protocols.filetransfer import (
    MAX_HEADER,
    ProtocolViolation,
    Reply,
    ReplyParser,
    header_problems,
    request,
)
from harness.server.idle import IDLE_DESCRIPTION, IDLE_EXPECTATION, require_idle
from harness.server.launcher import Endpoint
from harness.server.served_files import (
    KEEP_LIMIT,
    PARTS,
    SPACED_NAME,
    ServedFiles,
    served_directory,
)
from harness.settings import Settings

FILE = ("tcp-file",)
CHUNK = 256 * 1024
#: The bytes of a reply's start kept to explain a broken one, and the most stray bytes looked past.
HEAD, STRAY_LIMIT = 64, 8


class FileClient:
    """One tcp-file connection: send `get NAME` requests, parse replies as they stream."""

    def __init__(self, endpoint: Endpoint, settings: Settings) -> None:
        self.timeout = settings.reply_timeout
        self.conn = TcpConnection(endpoint, Deadline(settings.reply_timeout))
        self.leftover = b""
        self.head = bytearray()  # the current reply's first bytes (HEAD), to explain a broken one
        self.after_reply = False  # the current reply began with bytes left over from the previous one
        self.answered = 0  # replies received whole on this connection
        self.parser: ReplyParser | None = None
        self.sent = b""  # the last request, to tell an echo of it

    def __enter__(self) -> FileClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.conn.close()

    def send(self, data: bytes) -> None:
        try:
            self.conn.send_all(data, Deadline(self.timeout))
        except CheckFailed as failure:  # (a server that closed after its reply may reset the next request)
            raise self.closed_after_reply(failure) from None
        self.sent = data

    def get(self, name: str, context: str = "") -> Reply:
        self.send(request(name))
        return self.receive(context or f"the reply to get {name!r}")

    def start(self, context: str = "") -> None:
        """Begin parsing the next reply (with any bytes already received)."""
        self.parser = ReplyParser(keep=KEEP_LIMIT)
        self.head = bytearray(self.leftover[:HEAD])  # (a previous reply's stray bytes show here)
        self.after_reply = bool(self.leftover)
        try:
            self.leftover = self.parser.feed(self.leftover)
        except ProtocolViolation as violation:
            raise self.violation(context or "the next reply", violation, self.leftover) from None

    def step(self, context: str) -> bool:
        """Read what is available now into the current reply; True once it is complete."""
        assert self.parser is not None
        wire = self.conn.wire
        try:
            chunk = self.conn.sock.recv(CHUNK)
        except BlockingIOError:
            return self.parser.done
        except ConnectionResetError:
            wire.event(wirelog.SERVER_RST)
            raise self.stalled(context, "the server reset the connection") from None
        if not chunk:
            wire.event(wirelog.SERVER_FIN)
            raise self.stalled(context, "the server closed the connection")
        wire.got(chunk)
        self.head += chunk[: HEAD - len(self.head)]
        try:
            self.leftover = self.parser.feed(chunk)
        except ProtocolViolation as violation:
            raise self.violation(context, violation, chunk) from None
        return self.parser.done

    def violation(self, context: str, violation: ProtocolViolation, chunk: bytes) -> CheckFailed:
        """The failure for a reply that breaks the format, with what the bytes point to."""
        echoed = self.sent and chunk[: len(self.sent)] == self.sent[: len(chunk)]
        stray = stray_bytes(bytes(self.head))
        if echoed:
            hint = ("\nhint: the server sent back the request itself: is it an echo server? A tcp-file server "
                    "answers get NAME with a 4-byte length, a JSON header and the file; check an echo server "
                    "with --protocol tcp-echo")
        elif stray:  # the format is right but for them: the parser's guess (byte order) would mislead
            where = "after the previous reply's body" if self.after_reply else "before the reply"
            return CheckFailed(
                f"{context}: the server sent {len(stray)} byte(s) more than the protocol has, {stray!r}, {where}: "
                "read as the next reply's length, they break it (the length and the header after them look right)"
                "\nhint: does the server send a newline (print(), + '\\n') after each file? A reply is exactly "
                "the 4-byte length, the header and the body, nothing more", received=bytes(self.head))
        else:
            hint = ""
        return CheckFailed(f"{context}: {violation}{hint}", received=bytes(self.head) or chunk[:512])

    def receive(self, context: str) -> Reply:
        """The whole next reply; fails if no byte arrives for the reply timeout."""
        self.start()
        assert self.parser is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.conn.sock, selectors.EVENT_READ)
            while not self.parser.done:
                events, waited = patient_select(sel, self.timeout)
                if not events:
                    self.conn.wire.silence()
                    raise self.stalled(context, f"no more bytes arrived within {waited}")
                self.step(context)
        assert self.parser.reply is not None
        self.answered += 1
        return self.parser.reply

    def stalled(self, context: str, reason: str) -> CheckFailed:
        parser = self.parser
        if parser is None or parser.reply is None:
            state = "no complete header arrived"
        else:
            state = f"the header {json.dumps(parser.reply.header, ensure_ascii=False)} arrived, then " \
                    f"{parser.reply.size:,} of {parser.reply.header.get('size', 0):,} body bytes"
        failure = CheckFailed(f"{context}: {state} ({reason})")
        return self.closed_after_reply(failure) if not self.head else failure

    def closed_after_reply(self, failure: CheckFailed) -> CheckFailed:
        """`failure`, with a hint when the server closed (or reset) the connection after a whole reply."""
        if self.answered and ("closed the connection" in failure.message or "reset" in failure.message
                              or "Broken pipe" in failure.message):  # blind 13, F13
            failure.with_hint(f"\nhint: the server answered {self.answered} request(s) on this connection, then "
                              "closed it: the connection stays open after a reply, for the next request, until "
                              "the client closes it (a loop over requests, not one request per connection)")
        return failure


def patient_select(sel: selectors.BaseSelector, timeout: float) -> tuple[list, str]:
    """`sel.select()` for at most `timeout`, cut once this server was silent for a whole timeout
    (harness.clients.patience), teaching the run's patience what it saw; when nothing became ready,
    also how long it waited, as a failure says it ("2 s", or "0.5 s (not the full 2 s: …)")."""
    wait = PATIENCE.wait(timeout)
    started = time.monotonic()
    events = sel.select(wait)
    if not events:
        PATIENCE.silence(wait, timeout)
        return events, f"{wait:g} s" + PATIENCE.why_short(wait, timeout)
    PATIENCE.heard(time.monotonic() - started)
    return events, ""


def stray_bytes(head: bytes) -> bytes:
    """The few bytes before what looks like a right reply (a length a header may have, then '{'), if any:
    a newline a server adds after each body is read as the next reply's length (blind 13: 0a 00 00 00
    was called a byte-order mistake)."""
    for skip in range(1, STRAY_LIMIT + 1):
        piece = head[skip: skip + 5]
        if len(piece) == 5 and piece[4:] == b"{" and int.from_bytes(piece[:4], "big") <= MAX_HEADER:
            return head[:skip]
    return b""


def verify(reply: Reply, name: str, served: ServedFiles, context: str) -> None:
    """The reply must carry exactly the file the harness placed under `name`."""
    item = served.files[name]
    problems = header_problems(reply.header, name, item.size, item.sha256)
    if problems:
        expected = json.dumps({"name": name, "size": item.size, "sha256": item.sha256}, ensure_ascii=False)
        raise CheckFailed(f"{context}: wrong header: " + "; ".join(problems), expected=expected.encode(),
                          received=json.dumps(reply.header, ensure_ascii=False).encode())
    if reply.sha256 != item.sha256:
        detail = describe_mismatch(item.content, reply.head) if item.content is not None else ""
        raise CheckFailed(f"{context}: the {item.size:,} bytes received differ from the file (SHA-256 "
                          f"{reply.sha256[:16]}…, expected {item.sha256[:16]}…)",
                          expected=item.content, received=reply.head if item.content is not None else None,
                          detail=detail)


def download(endpoint: Endpoint, settings: Settings, served: ServedFiles, name: str, context: str) -> None:
    with FileClient(endpoint, settings) as client:
        verify(client.get(name, context), name, served, context)


# -- conversation:: the protocol ----------------------------------------------
@check("conversation::text_file", protocols=FILE,
       description="download a UTF-8 text file (hello.txt, 60 lines)",
       expectation="header {name, size, sha256} right, then exactly the file's bytes")
def test_text_file(endpoint, settings, served_files):
    download(endpoint, settings, served_files, "hello.txt", "get hello.txt")


@check("conversation::binary_file", protocols=FILE,
       description="download a binary file: all 256 byte values, \\r\\n, NUL, 64 KiB of random bytes",
       expectation="identical bytes (the file opened in binary mode, nothing decoded or translated)")
def test_binary_file(endpoint, settings, served_files):
    download(endpoint, settings, served_files, "data.bin", "get data.bin")


@check("conversation::empty_file", protocols=FILE,
       description="download an empty file",
       expectation='header with "size": 0 and no body; the connection stays usable')
def test_empty_file(endpoint, settings, served_files):
    with FileClient(endpoint, settings) as client:
        verify(client.get("empty.txt"), "empty.txt", served_files, "get empty.txt")
        verify(client.get("hello.txt"), "hello.txt", served_files, "get hello.txt after the empty file")


@check("conversation::large_file", protocols=FILE,
       description="download a 50 MiB file",
       expectation="all 52,428,800 bytes with the right SHA-256, no stall longer than the reply timeout")
def test_large_file(endpoint, settings, served_files):
    download(endpoint, settings, served_files, ServedFiles.BIG_NAME, "get big.bin (50 MiB)")


@check("conversation::non_ascii_file_name", protocols=FILE,
       description=f"download files whose names are not plain ASCII words: 报告-ü.txt, then {SPACED_NAME!r}",
       expectation="the name travels as UTF-8, is the whole rest of the request line (spaces included), "
                   "and the file comes back whole")
def test_non_ascii_file_name(endpoint, settings, served_files):
    download(endpoint, settings, served_files, "报告-ü.txt", "get 报告-ü.txt")
    try:
        download(endpoint, settings, served_files, SPACED_NAME, f"get {SPACED_NAME}")
    except CheckFailed as failure:
        if "error header" in str(failure):  # blind 13: request.split() cannot name it
            failure.with_hint(f"\nhint: {SPACED_NAME!r} exists: a name may hold spaces, since NAME is the whole rest "
                              "of the line after 'get ' — take line[4:] (or split(' ', 1)), not line.split()")
        raise


@check("conversation::missing_file", protocols=FILE,
       description="ask for a file that does not exist, then for one that does, on the same connection",
       expectation='an {"error": ...} header with no body; the connection stays open and serves the next request')
def test_missing_file(endpoint, settings, served_files):
    with FileClient(endpoint, settings) as client:
        try:
            reply = client.get("no-such-file.txt")
        except CheckFailed as failure:
            if "no complete header arrived" in failure.message:
                failure.with_hint(': a file that does not exist is answered like any other request — a 4-byte '
                                  'length and a JSON header, here {"error": "..."} with no body — and the '
                                  'connection stays open for the next request')
            raise
        if not reply.is_error:
            raise CheckFailed('get no-such-file.txt: expected an {"error": ...} header',
                              received=json.dumps(reply.header, ensure_ascii=False).encode())
        verify(client.get("hello.txt"), "hello.txt", served_files, "get hello.txt after the missing file")


@check("conversation::path_traversal", protocols=FILE,
       description="ask for a file outside the served directory: ../x, ./../x, and its absolute path",
       expectation="each is refused with an error header; not a byte of the outside file is sent")
def test_path_traversal(server, endpoint, settings, served_files):
    secret_path, token = ServedFiles.secret_of(served_directory(server))
    names = [f"../{ServedFiles.SECRET_NAME}", f"./../{ServedFiles.SECRET_NAME}", str(secret_path)]
    for name in names:
        with FileClient(endpoint, settings) as client:
            client.send(request(name))
            try:
                reply = client.receive(f"get {name}")
            except CheckFailed as failure:
                received = client.conn.read_available(0.05)
                if token in received or (failure.received and token in failure.received):
                    raise CheckFailed(f"get {name}: the server sent the file outside its directory",
                                      received=received or failure.received) from None
                raise CheckFailed(f"get {name}: expected an error header refusing the request; {failure.message}") from None
            if token in reply.head:
                raise CheckFailed(f"get {name}: the server sent the file outside its directory "
                                  f"(path traversal: resolve NAME and refuse anything outside the directory)",
                                  expected=b'{"error": "..."}', received=reply.head)
            if not reply.is_error:
                raise CheckFailed(f"get {name}: expected an error header refusing a name outside the directory",
                                  expected=b'{"error": "..."}',
                                  received=json.dumps(reply.header, ensure_ascii=False).encode())


@check("conversation::several_downloads", protocols=FILE,
       description="five downloads one after another on one connection (text, non-ASCII name, empty, part, text again)",
       expectation="each reply complete and exact; the connection stays open between them")
def test_several_downloads(endpoint, settings, served_files):
    names = ["hello.txt", "报告-ü.txt", "empty.txt", "part-0.txt", "hello.txt"]
    with FileClient(endpoint, settings) as client:
        for index, name in enumerate(names):
            verify(client.get(name), name, served_files, f"download {index + 1} of {len(names)} ({name})")


# -- framing:: requests under coalesced and fragmented sends ----------------------
@check("framing::pipelined_requests", protocols=FILE,
       description="three requests in one segment: get hello.txt, get empty.txt, get part-1.txt",
       expectation="three replies, in order, as if the requests had been sent one by one")
def test_pipelined_requests(endpoint, settings, served_files):
    names = ["hello.txt", "empty.txt", "part-1.txt"]
    with FileClient(endpoint, settings) as client:
        client.send(b"".join(request(name) for name in names))
        for index, name in enumerate(names):
            context = f"reply {index + 1} of 3 to requests sent in one segment ({name})"
            verify(client.receive(context), name, served_files, context)


@check("framing::split_request", protocols=FILE,
       description="one request sent one byte per segment (TCP_NODELAY, pauses between)",
       expectation="a single reply once the \\n has arrived")
def test_split_request(endpoint, settings, served_files):
    with FileClient(endpoint, settings) as client:
        data = request("hello.txt")
        client.conn.send_segments([data[i:i + 1] for i in range(len(data))], 0.02, Deadline(settings.reply_timeout + 1))
        verify(client.receive("the reply to a request sent one byte at a time"), "hello.txt", served_files,
               "the reply to a request sent one byte at a time")


# -- concurrency:: -------------------------------------------------------------------
@check("concurrency::concurrent_downloads", protocols=FILE,
       description=f"{PARTS} clients, all connected, each download a different 256 KiB file at the same time",
       expectation="every client receives its own file, exactly, while the others' connections stay open")
def test_concurrent_downloads(server, endpoint, settings, served_files):
    clients: list[FileClient] = []
    unaccepted = accept_queue_of(server)
    try:
        connect_while_accepting(lambda: FileClient(endpoint, settings), PARTS, unaccepted, settings.reply_timeout,
                                clients)
        for index, client in enumerate(clients):
            client.send(request(f"part-{index}.txt"))
            client.start()
        pending = {client.conn.sock: index for index, client in enumerate(clients)}
        with selectors.DefaultSelector() as sel:
            for sock in pending:
                sel.register(sock, selectors.EVENT_READ)
            while pending:
                events, waited = patient_select(sel, settings.reply_timeout)
                if not events:
                    waiting = ", ".join(str(i + 1) for i in sorted(pending.values()))
                    raise CheckFailed(f"clients {waiting} of {PARTS} (all connected at once) received nothing for "
                                      f"{waited}: is the server serving one client at a time?")
                for key, _ in events:
                    index = pending[key.fileobj]
                    if clients[index].step(f"client {index + 1} of {PARTS}"):
                        sel.unregister(key.fileobj)
                        del pending[key.fileobj]
        for index, client in enumerate(clients):
            assert client.parser is not None and client.parser.reply is not None
            verify(client.parser.reply, f"part-{index}.txt", served_files, f"client {index + 1} of {PARTS}")
        if len(clients) < PARTS:
            raise fewer_connected(len(clients), PARTS, settings.reply_timeout)
    finally:
        for client in clients:
            client.conn.close()


@check("concurrency::slow_reader_does_not_stall", protocols=FILE,
       description="one client asks for the 50 MiB file and reads nothing; another asks for hello.txt",
       expectation="the second download completes within the reply timeout (no blocking send holds up the server)")
def test_slow_reader_does_not_stall(endpoint, settings, served_files):
    slow = FileClient(endpoint, settings)
    try:
        slow.send(request(ServedFiles.BIG_NAME))
        # Wait until the server is busy sending to the slow client, but go on without its first byte: a
        # server still reading (or hashing) big.bin when the reply timeout passes is conversation::large_file's
        # business, and one that serves a client at a time then stalls the other client all the same (CI: a
        # server slowed by a spinning thread failed here, on a loaded machine, for want of big.bin's first byte).
        with selectors.DefaultSelector() as sel:
            sel.register(slow.conn.sock, selectors.EVENT_READ)
            sel.select(settings.reply_timeout)  # (a silence here teaches the run's patience nothing)
        with FileClient(endpoint, settings) as other:
            verify(other.get("hello.txt", "another client's get hello.txt, while a client does not read its big.bin"),
                   "hello.txt", served_files, "another client's get hello.txt")
    finally:
        slow.conn.abort()  # an RST frees the server's blocked send at once


@check("concurrency::idle_without_busy_loop", protocols=FILE, description=IDLE_DESCRIPTION,
       expectation=IDLE_EXPECTATION)
def test_idle_without_busy_loop(fresh_server, settings, served_files):
    """Three clients each download a file and close, then nobody talks: a server that never checks for
    recv() returning b'' spins on the closed connection (blind 13)."""
    instance = fresh_server()
    for index in range(3):
        try:
            download(instance.endpoint, settings, served_files, "hello.txt", f"client {index + 1} of 3")
        except CheckFailed:  # conversation::'s finding, not a busy loop
            break
    require_idle(instance, "after three clients downloaded a file and left")


@check("concurrency::no_descriptor_leak", protocols=FILE, description=LEAK_DESCRIPTION, expectation=LEAK_EXPECTATION)
def test_no_descriptor_leak(fresh_server, settings, served_files):
    """Clients that download a file one after another, each then gone (blind 13)."""
    instance = fresh_server()
    require_no_leak(instance, settings.reply_timeout,
                    lambda who: download(instance.endpoint, settings, served_files, "hello.txt", who))
