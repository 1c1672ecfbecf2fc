"""Hints fitted to the evidence: revised by what the server printed (a check
sees bytes on the wire, the server's output often names the real cause), or
naming the option a run most likely needs (`greeting_mode_hint`).

Rule: a hint appears only when its evidence is there, and a hint the output
contradicts is withdrawn. A server whose output shows a UnicodeDecodeError
(it decoded binary data as text) is told so, and the NUL hint — an echo that
stopped at a NUL byte, which a crash on decoding also produces — withdrawn.
And: silence after a length header
reads like a wrong byte order (the server waits for 83,886,080 bytes), but a
server whose output says `struct.error: unpack requires a buffer of 4 bytes`
got a *short* header from one `recv(4)`: the byte order is not its problem.

Pure text in, text out (no sockets, no pytest), so every rule is testable alone.
"""

from __future__ import annotations

import re
import struct

from harness.evidence.bytesdiff import NUL_HINT
from harness.protocols.hello import LINE

#: The first words of the byte-order hint (harness.evidence.framing_failures writes it).
BYTE_ORDER_HINT = "hint: this frame's header"
_SHORT_UNPACK = re.compile(r"struct\.error: unpack requires a buffer of (\d+) bytes")


def short_read_hint(size: int) -> str:
    return (f"hint: the server's struct.unpack got fewer than {size} bytes (its output: 'unpack requires a buffer "
            f"of {size} bytes'): recv({size}) returns whatever has arrived, from 1 byte up, so a header sent in "
            f"pieces is read short. Loop until all {size} header bytes are in, then the same for the payload "
            "(a recv_exactly(n) helper).")


#: Suites whose failures a short header read explains (not, say, a slow shutdown).
_FRAME_SUITES = ("echo", "framing")


_DECODE_ERROR = re.compile(r"UnicodeDecodeError: '([\w-]+)' codec can't decode byte (0x[0-9a-f]{2})")


def decode_hint(codec: str, byte: str) -> str:
    return (f"hint: the server decoded the bytes it received as {codec} text, and byte {byte} is not {codec} "
            "(its output: UnicodeDecodeError): an echo sends back the bytes it received — sendall(data), not "
            "data.decode(); decode only where the protocol says the bytes are text")


def revise(message: str, server_output: str, suite: str, answered_before: bool = True,
           length_format: str | None = None) -> str:
    """`message` with the hints the server's output supports, and without those it contradicts.
    `answered_before`: some reply of this server ever arrived. If none did, an echo that "stopped" at a NUL at
    offset 0 is a server that never answers at all, not a C string function. `length_format`: the run's frame
    header (tcp-framed), to recognise a length the server read in the other byte order in its output."""
    if not answered_before:
        message = "\n".join(line for line in message.splitlines() if not line.startswith(NUL_HINT))
    if length_format and suite in _FRAME_SUITES and BYTE_ORDER_HINT not in message:
        message += swapped_length_hint(message, server_output or "", length_format)
    decode = _DECODE_ERROR.search(server_output or "")
    if decode is not None and suite in _FRAME_SUITES:
        # A crash on decoding explains the missing echo; a NUL at its start is then a coincidence.
        lines = [line for line in message.splitlines() if not line.startswith(NUL_HINT)]
        hint = decode_hint(decode.group(1), decode.group(2))
        if hint not in lines:
            lines.insert(1, hint)
        message = "\n".join(lines)
    short = _SHORT_UNPACK.search(server_output or "")
    if short is None:
        return message
    lines = message.splitlines()
    if suite not in _FRAME_SUITES and not any(line.startswith(BYTE_ORDER_HINT) for line in lines):
        return message
    lines = [line for line in lines if not line.startswith(BYTE_ORDER_HINT)]
    hint = short_read_hint(int(short.group(1)))
    if hint not in lines:
        lines.append(hint)
    return "\n".join(lines)


_PAYLOAD_LENGTH = re.compile(r"\((\d+)-byte payload")
_NUMBER = re.compile(r"(?<![\d.])\d{3,}(?![\d.])")


def byte_order_hint(length_format: str, length: int, evidence: str = "") -> str:
    """The server seems to read (or write) headers in the other byte order: the seeds' native 'i'.
    `evidence`: what showed it, when not the wire (said right after the other order's value)."""
    header = struct.pack(length_format, length)
    (other,) = struct.unpack(length_format, header[::-1])  # the same bytes read in the other order
    example = "" if length_format in ("<i", "<I") else " (e.g. '<i' for the seeds' 'i')"
    return (f"{BYTE_ORDER_HINT} {header.hex(' ')} means {length} in {length_format!r} but {other} "
            f"in the other byte order{evidence} (struct's native 'i' is little-endian on x86 and ARM). Pack and "
            f"unpack headers with {length_format!r}{_elsewhere(length_format, len(header))}, or give the harness "
            f"the server's format with --length-format{example}.")


def _elsewhere(length_format: str, size: int) -> str:
    """The same byte order in C and Node (blind 17: a C server was only told about Python's struct)."""
    big = length_format[:1] in ("!", ">")
    if size not in (2, 4) or not (big or length_format[:1] == "<"):
        return ""
    bits, order = size * 8, "BE" if big else "LE"
    c = ("htonl()/ntohl()" if size == 4 else "htons()/ntohs()") if big else \
        "the value as it is in memory on x86 and ARM, without htonl()"
    return f" (in C: {c}; in Node: readUInt{bits}{order}()/writeUInt{bits}{order}())"


def swapped_length_hint(message: str, server_output: str, length_format: str) -> str:
    """A byte-order hint when the server's output shows a frame's length read in the other byte order (a server
    that refuses a frame "too big: 318767104" — 19 with its header's bytes reversed — and closes, instead of
    waiting for that many bytes): the harness cannot see the byte order on the wire then, but the server says it."""
    printed = set(_NUMBER.findall(server_output))
    for match in _PAYLOAD_LENGTH.finditer(message):
        length = int(match.group(1))
        try:
            header = struct.pack(length_format, length)
        except struct.error:
            continue
        (other,) = struct.unpack(length_format, header[::-1])
        if other != length and str(abs(other)) in printed:
            return "\n" + byte_order_hint(length_format, length, " — the number the server printed")
    return ""


def greeting_mode_hint(received: bytes, unframed: bool) -> str:
    """Name the other --hello-mode when the greeting shows it: a line-mode run
    greeted without any newline (the seed's unframed code), or an unframed run
    greeted with a whole line."""
    if not received:
        return ""
    if not unframed and received.rstrip(b"\r") == LINE.greeting.rstrip(b"\n"):  # only its \n is missing
        return ("\nhint: the greeting is the line mode's b'Welcome!' without its line ending: send b'Welcome!\\n' "
                "(a line ends in \\n; the client waits for it before anything else)")
    if not unframed and b"\n" not in received:
        return ("\nhint: the greeting has no line ending: a server written like the seed (one message per send(), "
                "no delimiter) is checked with --hello-mode unframed")
    if unframed and received.endswith(b"\n"):
        return "\nhint: the greeting is a whole line: a line-mode server is checked without --hello-mode unframed"
    return ""
