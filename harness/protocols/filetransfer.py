"""tcp-file: the seeds' file downloader (seed 004 exercise 2; header idea from seed 002).

Sans-IO: requests are built and replies parsed here, without sockets, so every
rule is testable on bytes alone (fed whole, byte by byte, or with trailing
bytes). The suite (suites/test_file.py) does the I/O.

Definition (also in docs/protocols.md):

    request  = b"get " NAME b"\\n"          NAME: UTF-8, the rest of the line
    reply    = LENGTH HEADER BODY
    LENGTH   = 4-byte unsigned big-endian length of HEADER (struct "!I")
    HEADER   = UTF-8 JSON object, either
               {"name": NAME, "size": N, "sha256": HEX}   the file exists
               {"error": "human explanation"}             it does not, or is refused
    BODY     = exactly N bytes of the file (nothing after an error header)

- NAME is looked up in the server's working directory (the harness puts the
  files there). A name that leads outside it — `../x`, an absolute path,
  `a/../../x` — must be refused with an error header: nothing outside the
  directory is ever served.
- After a reply (error or not) the connection stays open for the next
  request; many requests may be sent on one connection, and several may
  arrive in one segment (the server must split them at b"\\n").
- "sha256" is the hex SHA-256 of the body (compared case-insensitively);
  other header keys are allowed and ignored.
- The connection ends when the client closes it.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any

LENGTH = struct.Struct("!I")
#: A header longer than this is garbage (a server that sent the body first, say).
MAX_HEADER = 1 << 20


def request(name: str) -> bytes:
    return b"get " + name.encode("utf-8") + b"\n"


def encode_reply(header: dict[str, Any], body: bytes = b"") -> bytes:
    """A whole reply (used by the harness's own tests; servers build their own)."""
    encoded = json.dumps(header, ensure_ascii=False).encode("utf-8")
    return LENGTH.pack(len(encoded)) + encoded + body


class ProtocolViolation(ValueError):
    """The server's reply breaks the tcp-file definition (the message says how)."""


@dataclass
class Reply:
    header: dict[str, Any]
    size: int = 0  # body bytes received
    sha256: str = ""
    head: bytes = b""  # the body's first bytes, kept for the report

    @property
    def is_error(self) -> bool:
        return "error" in self.header


@dataclass
class ReplyParser:
    """Incremental parser of one reply: feed() bytes as they arrive; `done` when complete.

    Only the body's first `keep` bytes are kept (a 50 MiB body is hashed as it
    streams, not stored). Bytes beyond the reply are returned by feed(), for
    the next reply on the connection.
    """

    keep: int = 1 << 20
    state: str = "length"  # -> "header" -> "body" -> "done"
    _buffer: bytearray = field(default_factory=bytearray)
    _header_length: int = 0
    _remaining: int = 0
    _hash: Any = field(default_factory=hashlib.sha256)
    reply: Reply | None = None

    @property
    def done(self) -> bool:
        return self.state == "done"

    def feed(self, data: bytes) -> bytes:
        """Consume what belongs to this reply; return the leftover bytes."""
        view = memoryview(data)
        while view and self.state != "done":
            if self.state == "length":
                view = self._take(view, LENGTH.size)
                if len(self._buffer) == LENGTH.size:
                    (self._header_length,) = LENGTH.unpack(self._buffer)
                    self._buffer.clear()
                    if self._header_length > MAX_HEADER:
                        raise ProtocolViolation(
                            f"the header length field says {self._header_length:,} bytes (the first 4 bytes, "
                            f"big-endian); a JSON header is at most {MAX_HEADER:,}: did the server send the "
                            "length in another byte order, or skip it?")
                    self.state = "header"
            elif self.state == "header":
                view = self._take(view, self._header_length)
                if len(self._buffer) == self._header_length:
                    self._start_body(self._parse_header(bytes(self._buffer)))
                    self._buffer.clear()
            elif self.state == "body":
                piece = view[: self._remaining]
                view = view[len(piece):]
                self._hash.update(piece)
                assert self.reply is not None
                if len(self.reply.head) < self.keep:
                    self.reply.head += bytes(piece[: self.keep - len(self.reply.head)])
                self.reply.size += len(piece)
                self._remaining -= len(piece)
                if not self._remaining:
                    self._finish()
        if self.state == "header" and self._header_length == 0:
            self._start_body(self._parse_header(b""))
        return bytes(view)

    def _take(self, view: memoryview, want: int) -> memoryview:
        piece = view[: want - len(self._buffer)]
        self._buffer += piece
        return view[len(piece):]

    @staticmethod
    def _parse_header(raw: bytes) -> dict[str, Any]:
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProtocolViolation(f"the header is not UTF-8 JSON ({exc}): {raw[:200]!r}") from None
        if not isinstance(header, dict):
            raise ProtocolViolation(f"the header is JSON but not an object: {raw[:200]!r}")
        if "error" in header:
            return header
        size = header.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ProtocolViolation(f'the header has no "error" and no valid "size" (a non-negative integer): {header}')
        return header

    def _start_body(self, header: dict[str, Any]) -> None:
        self.reply = Reply(header)
        self._remaining = 0 if "error" in header else header["size"]
        self.state = "body"
        if not self._remaining:
            self._finish()

    def _finish(self) -> None:
        assert self.reply is not None
        self.reply.sha256 = self._hash.hexdigest()
        self.state = "done"


def header_problems(header: dict[str, Any], name: str, size: int, sha256: str) -> list[str]:
    """How a success header differs from the file the harness placed (empty if it matches)."""
    problems = []
    if "error" in header:
        return [f'an error header ({header["error"]!r}) for a file that exists']
    if header.get("name") != name:
        problems.append(f'"name" is {header.get("name")!r}, expected {name!r}')
    if header.get("size") != size:
        problems.append(f'"size" is {header.get("size")!r}, expected {size}')
    if str(header.get("sha256", "")).lower() != sha256:
        problems.append(f'"sha256" is {header.get("sha256")!r}, expected {sha256!r}')
    return problems
