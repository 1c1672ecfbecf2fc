"""Hints for classic mistakes (blind testers' P7-P9, #8, #9), each proven both
ways: the buggy server's failure names its mistake; a correct server passes, and
a server with a different bug fails without that hint."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, TEST_REPLY_TIMEOUT, reference, server

from harness.evidence.bytesdiff import classic_mistake
from harness.protocolfile.wire import Wire
from harness.protocolfile.wire_hints import expect_hint

PROTOCOLS = ROOT / "tests" / "protocols"
REMEMBERED = "the first client's address"


# -- UDP: replies to a remembered address -------------------------------------------------
def udp_echo_run(harness, name: str, *extra: str):
    return harness("--protocol", "udp-echo", "--suite", "echo", "--reply-timeout", TEST_REPLY_TIMEOUT,
                   "--check", "echo::single_message", "--check", "echo::binary_bytes",
                   "--check", "echo::survives_empty_datagram", *extra, name, "{port}")


def test_udp_reply_to_the_first_clients_address_is_named_at_the_first_failure(harness):
    run = udp_echo_run(harness, server("conc_udp_first_client.py"))
    assert run.ids_with("failed") == {"echo::binary_bytes", "echo::survives_empty_datagram"}, run.stdout
    message = run.check("echo::binary_bytes")["message"]
    assert REMEMBERED in message and "sendto(data, addr)" in message, message
    assert "the server answered, but not to this client" in message.splitlines()[0], message
    survived = run.check("echo::survives_empty_datagram")["message"]
    assert "cannot see whether it survived the empty datagram" in survived, survived


def test_no_remembered_address_hint_for_a_correct_server_or_a_server_silent_after_one_reply(harness):
    correct = udp_echo_run(harness, reference("udp_echo.py"))
    assert correct.ids_with("failed") == set(), correct.stdout
    silent = udp_echo_run(harness, server("udp_answers_once.py"))
    assert "echo::binary_bytes" in silent.ids_with("failed"), silent.stdout
    for check_id in silent.ids_with("failed"):
        message = silent.check(check_id)["message"]
        assert REMEMBERED not in message and "survived" not in message, message
    assert silent.check("echo::binary_bytes")["message"].startswith("no reply to a 518-byte datagram after 3 tries")


def test_protocol_file_udp_reply_to_the_first_clients_address_is_named(harness):
    run = harness("--protocol", str(PROTOCOLS / "udp_hello.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                  "--check", "conversation::greeting", "--check", "concurrency::idle_without_busy_loop",
                  server("udp_hello_remembered_address.py"), "{port}")
    failed = run.ids_with("failed")
    assert failed and "conversation::greeting" not in failed, run.stdout
    assert any(REMEMBERED in run.check(check_id)["message"] for check_id in failed), run.stdout


# -- TCP echo: send() instead of sendall(), strlen() on binary data -------------------------------
def test_send_instead_of_sendall_is_named_by_the_gap_in_the_echo(harness):
    run = harness("--check", "echo::large_payload", server("echo_send_not_sendall.py"), "{port}")
    message = run.check("echo::large_payload")["message"]
    assert run.outcomes() == {"echo::large_payload": "failed"}, run.stdout
    assert "the echo skips bytes" in message and "sendall()" in message, message


def test_no_gap_or_nul_hint_for_a_correct_server_or_other_bugs(harness):
    checks = ("--check", "echo::large_payload", "--check", "echo::binary_bytes", "--check", "echo::edge_sizes")
    correct = harness(*checks, reference("tcp_echo.py"), "{port}")
    assert correct.ids_with("failed") == set(), correct.stdout
    upper = harness(*checks, "--reply-timeout", TEST_REPLY_TIMEOUT, server("tcp_upper.py"), "{port}")
    truncating = harness(*checks, "--reply-timeout", TEST_REPLY_TIMEOUT, server("echo_truncates_long_recv.py"),
                         "{port}")
    for run in (upper, truncating):
        assert run.ids_with("failed"), run.stdout
        for check_id in run.ids_with("failed"):
            message = run.check(check_id)["message"]
            assert "NUL" not in message, message
            assert run is truncating or "sendall()" not in message, message


def test_c_string_functions_on_binary_data_are_named_by_the_nul_byte(harness, tmp_path):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    binary = tmp_path / "echo_strlen"
    subprocess.run([compiler, "-O", "-pthread", "-o", str(binary), server("echo_strlen.c")], check=True, timeout=120)
    # The hint's evidence: the server echoes text (single_message), and nothing from a NUL on.
    run = harness("--check", "echo::single_message", "--check", "echo::binary_bytes", "--check", "echo::large_payload",
                  str(binary), "{port}")
    assert run.ids_with("failed") == {"echo::binary_bytes", "echo::large_payload"}, run.stdout
    message = run.check("echo::binary_bytes")["message"]
    assert "NUL (0x00) byte at offset 0, where the echo stopped" in message and "strlen()" in message, message


def test_a_server_that_never_answers_gets_no_nul_hint(harness):
    """A framed server checked as an echo server reads b'\x00\x20\x09\x00' as a length and waits: nothing ever
    comes back, and a NUL at offset 0 of the message is then no evidence of a C string function."""
    run = harness("--check", "echo::binary_bytes", "--reply-timeout", TEST_REPLY_TIMEOUT, reference("tcp_framed.py"),
                  "{port}")
    assert run.ids_with("failed") == {"echo::binary_bytes"}, run.stdout
    message = run.check("echo::binary_bytes")["message"]
    assert "nothing came back" in message and "NUL" not in message, message


def test_classic_mistake_rules_on_bytes():
    payload = random.Random(7).randbytes(100_000)
    payload = payload.replace(b"\x00", b"\x01")[:50_000] + b"\x00" + payload[50_001:].replace(b"\x00", b"\x01")
    gap = classic_mistake(payload, payload[:32768] + payload[40000:48000])
    assert "skips bytes 32768..39999" in gap
    assert "NUL (0x00) byte at offset 50000, where the echo stopped" in classic_mistake(payload, payload[:50_000])
    assert "where the echo skipped ahead" in classic_mistake(payload, payload[:50_000] + payload[50_001:60_000])
    # A different bug: cut at recv(1024) (the echo holds NULs), upper-cased, or identical.
    cut = random.Random(8).randbytes(8192)
    assert classic_mistake(cut, cut[:1024]) == ""
    assert classic_mistake(b"hello, harness\n", b"HELLO, HARNESS\n") == ""
    assert classic_mistake(cut, cut) == ""


def test_whitespace_lost_or_added_rules_on_bytes():
    stripped = classic_mistake(b"hello, harness\n", b"hello, harness")
    assert "lacks is only whitespace" in stripped and "strip()" in stripped
    # strip() on each recv(): a space at a chunk's edge is skipped, and the echo goes on
    middle = bytes(range(33, 127)) * 4
    payload = middle[:200] + b" \x0c" + middle[200:]
    assert "lacks is only whitespace" in classic_mistake(payload, middle)
    assert "add a line ending" in classic_mistake(b"hello\n", b"hello\n\n")
    # Other bugs: a cut that is not whitespace, extra bytes that are not, a gap of other bytes (send()).
    assert "whitespace" not in classic_mistake(b"hello, harness\n", b"hello, harn")
    assert classic_mistake(b"hello\n", b"hello\nOK") == ""
    # A tcp-framed message starts with NULs (its length header): a server silent to it is not a C-string bug.
    frame = len(b"idle client").to_bytes(4, "big") + b"idle client"
    assert classic_mistake(frame, b"") == "" and "NUL" in classic_mistake(b"\x00 binary", b"")
    gap = payload[:100] + payload[300:]
    assert "use sendall()" in classic_mistake(payload, gap) and "whitespace" not in classic_mistake(payload, gap)


def test_a_stripped_or_an_added_newline_is_named_at_the_first_failure(harness):
    for name, words in (("conc_strips_newline.py", "does the server strip()"),
                        ("echo_adds_newline.py", "does the server add a line ending")):
        run = harness("--check", "echo::single_message", "--reply-timeout", TEST_REPLY_TIMEOUT, server(name), "{port}")
        assert run.outcomes() == {"echo::single_message": "failed"}, run.stdout
        assert words in run.check("echo::single_message")["message"], run.stdout
    good = harness("--check", "echo::single_message", reference("tcp_echo.py"), "{port}")
    assert good.outcomes() == {"echo::single_message": "passed"}


# -- protocol files: byte order of a length header, line ending ------------------------------------
def test_protocol_file_length_header_in_the_other_byte_order_is_named(harness):
    toml = str(PROTOCOLS / "tlv_big_endian.toml")
    buggy = harness("--protocol", toml, "--check", "conversation::*", "--reply-timeout", TEST_REPLY_TIMEOUT,
                    server("tlv_little_endian.py"), "{port}")
    message = buggy.check("conversation::echo_frames")["message"]
    assert "00 03 means 3 in '!H' but 768 in the other byte order" in message, message
    correct = harness("--protocol", toml, "--check", "conversation::*", server("tlv_echo.py"), "{port}")
    assert correct.ids_with("failed") == set(), correct.stdout


class _Protocol:
    def __init__(self, framing: str, line_ending: str = "\n", length_format: str = "!H") -> None:
        self.framing, self.line_ending, self.length_format, self.encoding = framing, line_ending, length_format, "ascii"


def test_byte_order_rules_on_bytes():
    wire = Wire(_Protocol("length"))  # type: ignore[arg-type]
    frame = wire.encode(b"abc")
    assert "768 in the other byte order" in expect_hint(wire, frame, frame, b"", stream_open=True)
    assert "only in the other byte order" in expect_hint(wire, frame, frame, b"\x03\x00abc", stream_open=True)
    # A different bug: a wrong payload, or a header that reads the same both ways (0x0101), or a closed stream.
    assert expect_hint(wire, frame, frame, b"\x00\x03ABC", stream_open=True) == ""
    symmetric = wire.encode(b"x" * 257)
    assert expect_hint(wire, symmetric, symmetric, b"", stream_open=True) == ""
    assert expect_hint(wire, frame, frame, b"", stream_open=False) == ""


def test_a_length_header_counting_characters_is_named():
    """blind tester 10: a JSON reply's header held len(text), not len(text.encode()): 34 for 38 bytes."""
    wire = Wire(_Protocol("length", length_format="!I"))  # type: ignore[arg-type]
    text = '{"value": "café ☕ naïve"}'
    expected = wire.encode(text.encode())
    by_characters = len(text).to_bytes(4, "big") + text.encode()
    hint = expect_hint(wire, None, expected, by_characters, stream_open=True)
    assert f"header says {len(text)}: the payload's length in characters; in bytes (UTF-8) it is " \
           f"{len(text.encode())}" in hint, hint
    # ASCII (characters are bytes), or another wrong length: no such hint.
    ascii_frame = wire.encode(b'{"value": "cafe"}')
    assert "characters" not in expect_hint(wire, None, ascii_frame, b"\x00\x00\x00\x05" + ascii_frame[4:], True)
    assert "characters" not in expect_hint(wire, None, expected, (len(text) + 1).to_bytes(4, "big") + text.encode(),
                                           True)


def test_line_ending_rules_on_bytes():
    crlf = Wire(_Protocol("line", "\r\n"))  # type: ignore[arg-type]
    expected = crlf.encode(b"HTTP/1.0 200 OK")
    hint = expect_hint(crlf, None, expected, b"HTTP/1.0 200 OK\nContent-Length: 14\n\nhello\r\n", True)
    assert hint == "\nhint: the server ends lines with \\n; this protocol's line ending is \\r\\n"
    lf = Wire(_Protocol("line", "\n"))  # type: ignore[arg-type]
    assert "ends lines with \\r\\n" in expect_hint(lf, None, lf.encode(b"OK"), b"OK\r\n", True)
    # A different bug: another status line, or the right ending.
    assert expect_hint(crlf, None, expected, b"HTTP/1.0 404 Not Found\r\n", True) == ""
    assert expect_hint(crlf, None, expected, expected, True) == ""
    # An expect-match step (no exact bytes), or a message never completed: another ending, never this one.
    assert "ends lines with \\n; this protocol's line ending is \\r\\n" in expect_hint(crlf, None, None, b"220 ready\n", True)
    assert expect_hint(crlf, None, None, b"220 ready", True) == ""  # no line ending at all: nothing to name
    assert expect_hint(crlf, None, None, b"220 ready\r\n", True) == ""


def test_a_greeting_server_checked_as_echo_is_told_its_protocol(harness):
    run = harness("--check", "echo::single_message", reference("tcp_hello.py"), "{port}")
    assert "is it a greeting server? Check it with --protocol tcp-hello" in run.check("echo::single_message")["message"]
    upper = harness("--check", "echo::single_message", server("tcp_upper.py"), "{port}")
    assert "greeting server" not in upper.check("echo::single_message")["message"]


def test_a_server_that_closes_after_one_recv_is_told_to_read_in_a_loop(harness):
    run = harness("--check", "echo::prompt_reply", "--check", "echo::single_message",
                  server("echo_one_recv_per_connection.py"), "{port}")
    assert run.ids_with("failed") == {"echo::prompt_reply"}, run.stdout
    message = run.check("echo::prompt_reply")["message"]
    assert "echoed 1 earlier message on this connection, then closed it" in message, message
    # The other way: a server that closes before its first echo was not serving one recv() per connection.
    silent = harness("--check", "echo::single_message", "--reply-timeout", TEST_REPLY_TIMEOUT,
                     server("tcp_upper.py"), "{port}")
    assert "earlier message" not in silent.check("echo::single_message")["message"]


def test_a_udp_reply_cut_by_strip_is_named_not_blamed_on_the_receive_buffer(harness):
    """A UDP reply that is a start of the datagram was always put down to a small recvfrom() buffer, a
    strip() or strlen() included (blind 13); the receive-buffer hint stays for a real recvfrom(1024)."""
    stripped = udp_echo_run(harness, server("udp_strips.py"))
    message = stripped.check("echo::single_message")["message"]
    assert "strip()" in message and "receive buffer" not in message, message
    truncated = harness("--protocol", "udp-echo", "--check", "echo::edge_sizes", "--reply-timeout", TEST_REPLY_TIMEOUT,
                        server("udp_truncate_1024.py"), "{port}")
    cut = truncated.check("echo::edge_sizes")["message"]
    assert "receive buffer" in cut and "recvfrom(65535)" in cut and "strip()" not in cut, cut


def test_a_udp_server_answering_each_datagram_twice_is_told_so(harness):
    """Every later reply was one behind, put down to a small receive buffer or a differing echo (blind 13, F6);
    a correct server, and a slow one answering the harness's resends, are never told so."""
    twice = udp_echo_run(harness, server("udp_answers_twice.py"))
    for check in ("echo::survives_empty_datagram",):
        message = twice.check(check)["message"]
        assert "answers a datagram more than once" in message and "receive buffer" not in message, message
    many = harness("--protocol", "udp-echo", "--check", "echo::many_round_trips", "--reply-timeout", TEST_REPLY_TIMEOUT,
                   server("udp_answers_twice.py"), "{port}")
    assert "answers a datagram more than once" in many.check("echo::many_round_trips")["message"]
    correct = udp_echo_run(harness, reference("udp_echo.py"))
    assert correct.returncode == 0 and "more than once" not in correct.stdout, correct.stdout


def test_bytes_decoded_as_text_are_named_by_the_replacement_character(harness):
    """Node's buf.toString() (or decode(errors='replace')) turns bytes that are not UTF-8 into U+FFFD; the
    message said only that the reply differs (blind 13, F11)."""
    from harness.evidence.bytesdiff import REPLACEMENT_HINT

    assert classic_mistake(b"ab\x80cd", b"ab\xef\xbf\xbdcd") == REPLACEMENT_HINT
    assert classic_mistake(b"a\xef\xbf\xbd\x80",
                           b"a\xef\xbf\xbd\xef\xbf\xbd") != REPLACEMENT_HINT  # the message had one itself
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    run = harness("--protocol", "udp-echo", "--check", "echo::binary_bytes", "--reply-timeout", TEST_REPLY_TIMEOUT,
                  "--", "node", server("udp_echo_tostring.js"), "{port}")
    message = run.check("echo::binary_bytes")["message"]
    assert "U+FFFD" in message and "toString()" in message, message


@pytest.mark.skipif(sys.version_info >= (3, 13), reason="asyncio answers an empty datagram from Python 3.13 on")
def test_an_asyncio_udp_server_is_told_why_it_cannot_answer_an_empty_datagram(harness):
    """Blind 13, F10: the warning gave an asyncio server no way to find the cause; a server that ignores empty
    datagrams on purpose is not told about asyncio."""
    def empty_message(name: str) -> str:
        run = harness("--protocol", "udp-echo", "--check", "echo::empty_datagram_answered", "--reply-timeout",
                      TEST_REPLY_TIMEOUT, server(name), "{port}")
        return run.check("echo::empty_datagram_answered")["message"]

    assert "asyncio's DatagramTransport" in empty_message("udp_echo_asyncio.py")
    assert "asyncio" not in empty_message("udp_ignores_empty.py")


def test_no_byte_order_hint_once_the_server_answered_a_frame_in_this_run(harness):
    """Blind 15: a one-client-at-a-time server's concurrency failures led with "the server seems to read the
    length in the other byte order", though it had answered '!H' frames alone moments before."""
    toml = str(PROTOCOLS / "tlv_big_endian.toml")
    args = ("--protocol", toml, "--suite", "concurrency", "--reply-timeout", TEST_REPLY_TIMEOUT)
    serial = harness(*args, server("tlv_one_at_a_time.py"), "{port}")
    failed = serial.ids_with("failed")
    assert {"concurrency::idle_client_does_not_block", "concurrency::stalled_client_does_not_block"} <= failed
    for check_id in failed:
        assert "other byte order" not in serial.check(check_id)["message"], serial.stdout
    assert "serve one client at a time" in serial.check("concurrency::idle_client_does_not_block")["message"]
    correct = harness(*args, server("tlv_echo.py"), "{port}")
    assert correct.ids_with("failed") == set(), correct.stdout


def test_an_answered_frame_proves_the_byte_order(monkeypatch):
    from harness.protocolfile import wire_hints

    monkeypatch.setattr(wire_hints, "ORDER_PROVEN", set())
    wire = Wire(_Protocol("length"))  # type: ignore[arg-type]
    frame = wire.encode(b"abc")
    wire_hints.note_answered(wire, wire.encode(b"x" * 257))  # 01 01: reads the same either way, proves nothing
    assert "768 in the other byte order" in expect_hint(wire, frame, frame, b"", stream_open=True)
    wire_hints.note_answered(wire, frame)
    assert expect_hint(wire, frame, frame, b"", stream_open=True) == ""
    # What the reply's own header shows is still said.
    assert "only in the other byte order" in expect_hint(wire, frame, frame, b"\x03\x00abc", stream_open=True)
