"""A validated protocol file as plain data: no I/O, no sockets.

Text steps keep their text (so `{client}` can be replaced per run) and become
bytes only through `Step.payload(label)`; hex steps are bytes from the start.
Step numbers are 1-based, as a person counts them in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.evidence.bytesdiff import readable

#: Label of a conversation run alone; copy i of a crowd gets c + two digits of i.
SOLO_LABEL = "c00"
PLACEHOLDER = "{client}"

SEND, EXPECT, MATCH, CLOSE_EXPECTED, NOTHING, CLOSE = (
    "send", "expect", "expect-match", "expect-close", "expect-nothing", "close")
#: Steps that end a coalesced stretch (SPEC §6 Details), besides a step of another client.
BARRIERS = (NOTHING, CLOSE, CLOSE_EXPECTED)


#: Hex steps longer than this many bytes are shown by their start, end and length.
HEX_SHOWN = 32


def hex_shown(data: bytes) -> str:
    if len(data) <= HEX_SHOWN:
        return data.hex(" ")
    return f"{data[:HEX_SHOWN // 2].hex(' ')} ... {data[-HEX_SHOWN // 4:].hex(' ')} ({len(data)} bytes)"


def pattern_shown(pattern: str, limit: int = 120) -> str:
    """A regular expression as the file writes it (no doubled backslashes), quoted; escaped only if it holds
    characters that would break the line."""
    shown = f"'{pattern}'" if pattern.isprintable() else repr(pattern)
    return shown if len(shown) <= limit else f"{shown[:limit - 20]}...{shown[-12:]} ({len(pattern)} characters)"


def label_for(copy: int) -> str:
    """`c00` alone; `c01`…`c50` for the copies of a crowd."""
    return f"c{copy:02d}"


@dataclass(frozen=True)
class Step:
    number: int
    client: str
    kind: str  # one of SEND, EXPECT, MATCH, CLOSE_EXPECTED, NOTHING, CLOSE
    text: str | None = None  # send/expect text (before {client} is replaced)
    raw: bytes | None = None  # send-hex/expect-hex bytes
    reference: bool = False  # expect = "@reference"
    pattern: str | None = None  # expect-match
    example: str | None = None
    timeout: float | None = None  # expect steps
    seconds: float | None = None  # expect-nothing
    encoding: str = "utf-8"

    def payload(self, label: str) -> bytes:
        """The message's bytes (without framing) for a run labelled `label`."""
        if self.raw is not None:
            return self.raw
        return (self.text or "").replace(PLACEHOLDER, label).encode(self.encoding)

    def regex(self, label: str) -> str:
        return (self.pattern or "").replace(PLACEHOLDER, label)

    def example_for(self, label: str) -> str:
        return (self.example or "").replace(PLACEHOLDER, label)

    @property
    def is_expect(self) -> bool:
        return self.kind in (EXPECT, MATCH, CLOSE_EXPECTED, NOTHING)

    def shown(self, label: str = SOLO_LABEL) -> str:
        """One line for a transcript or `harness list`: bytes escaped and long ones elided (as expected/received
        are), a pattern as written in the file."""
        if self.kind == SEND:
            return f"send {readable(self.payload(label))}" if self.raw is None else f"send-hex {hex_shown(self.raw)}"
        if self.kind == EXPECT:
            if self.reference:
                return "expect @reference (what the reference server answered here)"
            return (f"expect {readable(self.payload(label))}" if self.raw is None else
                    f"expect-hex {hex_shown(self.raw)}")
        if self.kind == MATCH:
            return f"expect-match {pattern_shown(self.regex(label))}"
        if self.kind == NOTHING:
            return f"expect-nothing for {self.seconds:g} s"
        if self.kind == CLOSE_EXPECTED:
            return "expect-close (the server closes the connection)"
        return "close (the client closes the connection)"


@dataclass(frozen=True)
class Conversation:
    name: str
    steps: tuple[Step, ...]
    clients: tuple[str, ...] = ("client",)
    description: str = ""
    tier: str = "required"

    def steps_of(self, client: str) -> list[Step]:
        return [s for s in self.steps if s.client == client]

    @property
    def first_client(self) -> str:
        return self.clients[0]


@dataclass(frozen=True)
class Reference:
    command: tuple[str, ...]
    folder: Path  # the protocol file's folder: the command is relative to it


@dataclass(frozen=True)
class ProtocolFile:
    path: Path
    name: str
    transport: str  # tcp | udp
    framing: str  # line | length | none | datagram
    conversations: tuple[Conversation, ...]
    line_ending: str = "\n"
    encoding: str = "utf-8"
    length_format: str = "!I"
    pipelining: bool = True
    reply_timeout: float | None = None
    reference: Reference | None = None
    #: Top-level keys the file set (to tell the file's reply-timeout from the default).
    keys: frozenset[str] = field(default_factory=frozenset)

    @property
    def first(self) -> Conversation:
        return self.conversations[0]

    @property
    def required(self) -> tuple[Conversation, ...]:
        """The conversations whose failure is a failure. Only these run in the crowd and as the exchange of the
        protocol-independent checks (required checks): a recommended conversation's failure stays a warning.
        The loader makes sure there is at least one."""
        return tuple(c for c in self.conversations if c.tier == "required")

    @property
    def exchange(self) -> Conversation:
        """The conversation of the protocol-independent concurrency and shutdown checks: the first required one."""
        return self.required[0]

    def conversation(self, name: str) -> Conversation:
        return next(c for c in self.conversations if c.name == name)

    @property
    def uses_reference(self) -> bool:
        return any(s.reference for c in self.conversations for s in c.steps)
