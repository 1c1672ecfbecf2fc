"""Show expected vs received bytes so a student can find the bug in seconds.

Pure functions, no I/O. On a mismatch we show the first differing offset and a
hex + ASCII window around it (the idea of codecrafters' bytes_diff_visualizer);
`echo_mismatch` tells how an echo differs from what was sent.
"""

from __future__ import annotations

from harness.errors import CheckFailed

WINDOW = 16


def first_difference(expected: bytes, received: bytes) -> int | None:
    """Offset of the first differing byte, or None if equal."""
    for index, (a, b) in enumerate(zip(expected, received)):
        if a != b:
            return index
    if len(expected) != len(received):
        return min(len(expected), len(received))
    return None


def readable(data: bytes, limit: int = 80) -> str:
    """Text where printable, escapes otherwise; long data is elided with its length. Bytes that are
    UTF-8 text beyond ASCII are shown as that text too (blind 20: 你好 read as \\xe4\\xbd\\xa0...)."""
    if len(data) > limit:
        head = data[: limit // 2]
        tail = data[-limit // 4 :]
        return f"{head!r}...{tail!r} ({len(data)} bytes)"
    return repr(data) + utf8_text(data)


def utf8_text(data: bytes) -> str:
    """' ('张三' in UTF-8)' for bytes beyond ASCII that decode as UTF-8, else "" (the text's own
    repr: control and format characters stay escaped)."""
    if data.isascii():
        return ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return f" ({text!r} in UTF-8)"


def hexdump_line(data: bytes, offset: int) -> str:
    chunk = data[offset : offset + WINDOW]
    hexpart = " ".join(f"{b:02x}" for b in chunk).ljust(WINDOW * 3 - 1)
    text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
    return f"{offset:08x}  {hexpart}  |{text}|"


def describe_mismatch(expected: bytes, received: bytes) -> str:
    """A short multi-line explanation: sizes, first differing offset, hexdump windows."""
    offset = first_difference(expected, received)
    if offset is None:
        return "expected and received bytes are identical"
    lines = [
        f"expected {len(expected)} bytes, received {len(received)} bytes; "
        f"first difference at byte offset {offset}"
    ]
    # Two rows: the one holding the difference and the next, or the one before
    # when the difference opens its row (the bytes that led up to it).
    start = offset - offset % WINDOW
    if offset % WINDOW < 4 and start >= WINDOW:
        start -= WINDOW
    for label, data in (("expected", expected), ("received", received)):
        lines.append(f"  {label}:")
        if start >= len(data):
            lines.append(f"    (nothing at offset {start} and beyond)")
            continue
        for line_offset in range(start, min(len(data), start + 2 * WINDOW), WINDOW):
            lines.append("    " + hexdump_line(data, line_offset))
    return "\n".join(lines)


def echo_mismatch(payload: bytes, received: bytes, end_reason: str, context: str, hint: str = "") -> CheckFailed:
    """Explain how an echo differs from what was sent (`hint`: the caller's, given if no classic mistake shows)."""
    prefix = f"{context}: " if context else ""
    if received and payload.startswith(received):
        summary = f"only {len(received)} of {len(payload)} bytes came back"
    elif not received:
        summary = f"nothing came back for {_bytes(len(payload))} sent"
    else:
        summary = f"the echo differs from what was sent ({readable(payload, 40)} sent)"
    if end_reason:
        summary += f" ({end_reason})"
    return CheckFailed(
        prefix + summary + (classic_mistake(payload, received) or hint),
        expected=payload,
        received=received,
        detail=describe_mismatch(payload, received) if received else "",
    )


#: The first words of the NUL-byte hint (harness.evidence.hints withdraws it where the output explains more).
NUL_HINT = "hint: the message has a NUL (0x00) byte"
#: How many bytes after a difference must be found later in the payload to call it a gap (not chance).
GAP_WINDOW = 16
#: The first words of the hint for a gap in a stream's echo (a partial send(); never a datagram's).
GAP_HINT = "\nhint: the echo skips bytes"
#: The echo stopped for good while the client was not reading (blind 17 F8: a C server that dropped what one
#: write() on a non-blocking socket could not take).
DROPPED_SEND_HINT = ("\nhint: the echo stopped partway and nothing more came once the client read again: the server "
                     "most likely dropped what one send() (write() in C) could not take while the client was not "
                     "reading (a short count, or EAGAIN on a non-blocking socket): use sendall(), or keep what is "
                     "still owed and send it when the socket is writable again")
#: U+FFFD as UTF-8: what a decoder puts for bytes that are not UTF-8.
REPLACEMENT = "\ufffd".encode()
#: The echo holds U+FFFD where the message had bytes that are not UTF-8 (blind 13: Node's toString()).
REPLACEMENT_HINT = ("\nhint: the echo has ef bf bd (U+FFFD, the replacement character) where the message had bytes "
                    "that are not UTF-8: the server decoded the bytes as text (Node's buf.toString(), Python's "
                    "decode(errors='replace'), a text-mode stream) and encoded them again. Echo the bytes as they "
                    "came (a Buffer, bytes), never as text")


#: What Python's bytes.strip() removes (and str.strip(), for these bytes).
WHITESPACE = b" \t\n\r\x0b\x0c"


def classic_mistake(payload: bytes, received: bytes) -> str:
    """A hint line when the echo shows a classic mistake, else "": the echo stops at, or skips, a
    NUL byte (C string functions on binary data), lacks or adds only whitespace (strip(), a newline
    added to each reply), or skips a stretch of the payload and goes on (a send() that wrote only
    part of its buffer)."""
    offset = first_difference(payload, received)
    if offset is None:
        return ""
    if b"\n" in payload and b"\r\n" not in payload and received.startswith(payload.replace(b"\n", b"\r\n")[:len(received)]) \
            and b"\r\n" in received:
        return CRLF_HINT
    if offset >= len(payload):
        return ADDED_LINE_ENDING_HINT if _only_whitespace(received[len(payload):]) else ""
    if received.startswith((b"Welcome", b"Hello, ")) and not payload.startswith(received[:7]):
        return ("\nhint: the server greets, or answers 'Hello, …': is it a greeting server? Check it with "
                "--protocol tcp-hello (or udp-hello); this run checks an echo server (--protocol tcp-echo)")
    if received.startswith(REPLACEMENT, offset) and REPLACEMENT not in payload:
        return REPLACEMENT_HINT
    if payload[offset] == 0 and 0 not in received and not (offset < 4 and _is_frame(payload)):
        # A C string never holds a NUL; a cut echo mostly does. (A frame's length header starts with NULs.)
        ended = "stopped" if offset == len(received) else "skipped ahead"
        return (f"\n{NUL_HINT} at offset {offset}, where the echo {ended}: "
                "strlen()/%s/strcpy() stop at NUL; use the byte count recv()/read() returned")
    if offset == len(received) and _only_whitespace(payload[offset:]):
        return STRIP_HINT
    window = received[offset : offset + GAP_WINDOW]
    if len(window) < GAP_WINDOW:
        return ""
    resumed = payload.find(window, offset + 1)
    if resumed < 0:
        return ""
    if _only_whitespace(payload[offset:resumed]):
        return STRIP_HINT
    return (f"{GAP_HINT} {offset}..{resumed - 1} and goes on: the server lost them — most "
            "often a send() that wrote only part of its buffer (it returns how many bytes it took): use sendall(); "
            "else received bytes thrown away")


def _is_frame(data: bytes) -> bool:
    """Whether `data` is one tcp-framed frame: a 4-byte length header (either byte order) and that many bytes."""
    return len(data) >= 4 and len(data) - 4 in (int.from_bytes(data[:4], "big"), int.from_bytes(data[:4], "little"))


def _only_whitespace(data: bytes) -> bool:
    return bool(data) and all(byte in WHITESPACE for byte in data)


#: Each newline came back as CR LF (blind 17: Tcl's default -translation; a text-mode stream).
CRLF_HINT = ("\nhint: every \\n came back as \\r\\n: the server writes in text mode, translating line endings "
             "(Tcl's default -translation: fconfigure $sock -translation binary; a Windows text stream; a CRLF "
             "added to each line). An echo returns the bytes exactly as they came")

#: The echo lacks only whitespace (the message's trailing newline, spaces at a recv()'s edges). One wording for
#: every check (the bytes are in the dump), so that later failures refer to it.
STRIP_HINT = ("\nhint: what the echo lacks is only whitespace (spaces, tabs, line endings): does the server strip() "
              "(or rstrip()) what it received? An echo returns the bytes exactly as they came, newline included")
#: The echo is whole, and whitespace came after it: a line ending added to each reply.
ADDED_LINE_ENDING_HINT = ("\nhint: the echo is whole, then whitespace more: does the server add a line ending to each "
                          "reply (print(), + '\\n', a text-mode write)? An echo returns exactly the bytes it received, "
                          "nothing added")


def echo_only_at_eof(payload: bytes, received: bytes, late: bytes, context: str,
                     answered_before: bool = False) -> CheckFailed:
    """Explain an echo that came only once the client half-closed. A server that
    never answered before EOF reads until recv() returns b'' before it answers;
    one that did answer other messages at once waits for something this message
    lacks (a newline, most often). Either way a client that waits for its reply,
    as every real client does, waits for ever."""
    prefix = f"{context}: " if context else ""
    before = (f"nothing came back for {_bytes(len(payload))} sent" if not received
              else f"only {len(received)} of {len(payload)} bytes came back")
    if len(received) + len(late) < len(payload):
        after = f"{_bytes(len(late))} more of the echo"
    else:
        after = "the rest of the echo" if received else "the echo"
    said = f"{prefix}{before} until the client shut down its sending side (shutdown(SHUT_WR)); then {after} came at once"
    if answered_before and not payload.endswith(b"\n"):
        why = ("\nhint: this message does not end with a newline, and the server answered earlier messages at "
               "once: it waits for a newline (readline(), `for line in conn.makefile()`). An echo server returns "
               "bytes as they arrive, whatever they are")
    else:
        why = ("\nhint: the server answers only at end of input: it reads until recv() returns b'' (read() returns "
               "0), or its replies wait in an output buffer that is flushed only when the connection closes (a "
               "stream written without flush(): Python's conn.makefile('w'), C's FILE* from fdopen(), Perl without "
               "$| = 1). Send each reply as soon as its message has arrived, while the client is still connected")
    return CheckFailed(said + why, expected=payload, received=received)


def _bytes(count: int) -> str:
    return "1 byte" if count == 1 else f"{count} bytes"
