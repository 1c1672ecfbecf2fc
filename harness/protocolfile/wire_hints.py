"""Hints for a protocol file's expect step, named only when the bytes show them (SPEC §7).

- A length header in the other byte order: nothing came back after a frame
  whose header, read in the other order, announces more bytes than were sent
  (the server waits for them), or the reply's header announces the expected
  length only when read in the other order.
- The other line ending: the reply is the expected message ended with
  `\\n` (or `\\r\\n`, `\\r`) where the protocol's line ending is another.

Functions of what was sent and what arrived (no sockets here), and of one
fact this process learnt: that the server reads the length header right.
"""

from __future__ import annotations

import struct

from harness.protocolfile.wire import Wire

#: Words every byte-order hint here says (`harness protocol check` looks for them in a run's output).
OTHER_ORDER = "in the other byte order"

#: Line endings a server may use instead of the protocol's.
LINE_ENDINGS = (b"\r\n", b"\n", b"\r")


#: The length formats the server under test was seen to read right in this process (each run tests one
#: server): it answered a frame whose header means another length in the other byte order. A later silence
#: after a header is then not the byte order's doing (blind 15: the hint led a one-client-at-a-time server's
#: crowd failure after conversation::add_sub had passed). Recording the reference's answers never adds to it.
ORDER_PROVEN: set[str] = set()


def note_answered(wire: Wire, sent: bytes | None) -> None:
    """The server answered right after `sent`: if its header is not a palindrome, the byte order is proven."""
    size = wire.codec.header_size
    if wire.framing == "length" and sent is not None and len(sent) >= size and sent[:size] != sent[:size][::-1]:
        ORDER_PROVEN.add(wire.codec.length_format)


def expect_hint(wire: Wire, sent: bytes | None, expected_wire: bytes | None, received: bytes,
                stream_open: bool) -> str:
    """The hint line ("\\nhint: ...") for an expect step that failed, or ""."""
    if wire.framing == "length":
        return _byte_order(wire, sent, expected_wire, received, stream_open)
    if wire.framing == "line":
        return _line_ending(wire.ending, expected_wire, received)
    return ""


def _other_order(wire: Wire, header: bytes) -> int | None:
    try:
        (value,) = struct.unpack(wire.codec.length_format, header[::-1])
    except struct.error:
        return None
    return value


def _byte_order(wire: Wire, sent: bytes | None, expected_wire: bytes | None, received: bytes,
                stream_open: bool) -> str:
    size = wire.codec.header_size
    fmt = wire.codec.length_format
    if not received and stream_open and sent is not None and len(sent) >= size and fmt not in ORDER_PROVEN:
        header = sent[:size]
        (length,) = struct.unpack(fmt, header)
        other = _other_order(wire, header)
        if header != header[::-1] and other is not None and other > len(sent) - size:
            return (f"\nhint: nothing came back after a frame whose header {header.hex(' ')} means {length} in "
                    f"{fmt!r} but {other} in the other byte order: the server seems to read the length in the other "
                    f"byte order and to wait for {other} bytes. Pack and unpack the header with {fmt!r} (struct's "
                    "'<' and native formats are little-endian on x86 and ARM; '!' and '>' are big-endian)")
    if expected_wire is not None and len(received) >= size and len(expected_wire) >= size:
        header = received[:size]
        wanted = expected_wire[:size]
        if header != wanted and header == wanted[::-1]:
            (length,) = struct.unpack(fmt, wanted)
            return (f"\nhint: the reply's header {header.hex(' ')} is {length}, the expected length, only in the "
                    f"other byte order: the server writes the length in the other byte order. Pack the header "
                    f"with {fmt!r}")
    return _length_in_characters(wire, expected_wire, received)


def _length_in_characters(wire: Wire, expected_wire: bytes | None, received: bytes) -> str:
    """The reply's header counts the payload's characters, not its bytes (len(text) before encoding): the
    bytes that arrived after it, decoded, are exactly that many characters and more bytes."""
    size = wire.codec.header_size
    if expected_wire is None or len(received) < size or len(expected_wire) <= size:
        return ""
    try:
        (announced,) = struct.unpack(wire.codec.length_format, received[:size])
        text = expected_wire[size:].decode("utf-8")
    except (struct.error, UnicodeDecodeError):
        return ""
    if announced == len(text) != len(text.encode("utf-8")):
        return (f"\nhint: the reply's header says {announced}: the payload's length in characters; in bytes (UTF-8) it "
                f"is {len(text.encode('utf-8'))}. The header counts bytes: encode first, then measure "
                "(len(text.encode()) in Python, Buffer.byteLength(text) in Node)")
    return ""


def _line_ending(ending: bytes, expected_wire: bytes | None, received: bytes) -> str:
    """The reply is the expected message with another ending; or (an expect-match step, or a
    message never completed) what arrived has another line ending and never this protocol's."""
    others = [other for other in LINE_ENDINGS
              # \r and \r\n: the one is the start of the other, the bytes cannot tell them apart
              if not (ending.startswith(other) or other.startswith(ending))]
    if expected_wire is not None and expected_wire.endswith(ending):
        message = expected_wire[: -len(ending)]
        for other in others:
            if received.startswith(message + other):
                return _ending_hint(other, ending)
    if ending not in received:
        for other in others:
            if other in received:
                return _ending_hint(other, ending)
    return ""


def _ending_hint(used: bytes, ending: bytes) -> str:
    return f"\nhint: the server ends lines with {_shown(used)}; this protocol's line ending is {_shown(ending)}"


def _shown(ending: bytes) -> str:
    return ending.decode("ascii").replace("\r", "\\r").replace("\n", "\\n")
