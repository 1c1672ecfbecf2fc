"""tcp-hello and udp-hello: the greeting server of the seeds (廖雪峰's tutorial).

Sans-IO: bytes in, expected bytes out; no sockets here, so every rule is
testable on its own. The suites (suites/test_hello.py) do the I/O.

Definition (also in docs/protocols.md):

tcp-hello, line mode (the default, `--hello-mode line`)
    Text is UTF-8; a line ends with b"\\n" (the harness never sends b"\\r").
    - On connect the server sends the greeting line  b"Welcome!\\n".
    - For each line NAME it receives it sends  b"Hello, NAME!\\n"  (NAME is the
      line without its b"\\n", unchanged: non-ASCII kept, an empty line gives
      b"Hello, !\\n", any length — the server must not cut a line at recv(1024)).
    - The line b"exit\\n" closes that client's connection (no reply); other
      clients are not affected.
    - Lines that arrive together in one segment, or one line spread over many
      segments, are answered exactly as if sent one by one.

tcp-hello, unframed mode (`--hello-mode unframed`, the seed's own code)
    No delimiter: one message per send(). The greeting is b"Welcome" (the
    seed's bytes); each message NAME is answered by b"Hello, NAME!"; the
    message b"exit" closes the connection. The harness sends a message only
    after the previous reply has arrived, since without a delimiter a server
    cannot tell where coalesced messages end — the framing suite shows, as an
    informational result, what happens when two messages do coalesce (粘包).

udp-hello
    Each datagram NAME is answered by one datagram b"Hello, NAME!" to its
    sender; an empty datagram gets b"Hello, !". The server keeps running
    whatever it receives.
"""

from __future__ import annotations

from dataclasses import dataclass

LINE_END = b"\n"
EXIT = "exit"


@dataclass(frozen=True)
class HelloDialect:
    """The bytes of one tcp-hello mode."""

    greeting: bytes
    terminator: bytes  # b"\n" in line mode, b"" unframed

    def request(self, name: str) -> bytes:
        return name.encode("utf-8") + self.terminator

    def reply(self, name: str) -> bytes:
        return reply_for(name.encode("utf-8")) + self.terminator

    @property
    def exit_request(self) -> bytes:
        return self.request(EXIT)


LINE = HelloDialect(greeting=b"Welcome!\n", terminator=LINE_END)
UNFRAMED = HelloDialect(greeting=b"Welcome", terminator=b"")
DIALECTS = {"line": LINE, "unframed": UNFRAMED}


def reply_for(name: bytes) -> bytes:
    """The greeting for one name, without any terminator: b"Hello, NAME!"."""
    return b"Hello, " + name + b"!"


def coalesced_reply_candidates(first: str, second: str) -> dict[bytes, str]:
    """What an unframed server may answer when `first` and `second` arrive in
    one segment, and what each answer means (for the informational report)."""
    one, two = first.encode("utf-8"), second.encode("utf-8")
    return {
        reply_for(one + two): "the two messages merged into one name (粘包): one reply, to a name nobody sent",
        reply_for(one) + reply_for(two): "two replies, as if sent apart (the server found the boundary somehow)",
    }
