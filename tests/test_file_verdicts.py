"""Every tcp-file check proven both ways: the reference server passes all of
them, each buggy server fails exactly the checks aimed at its bug; the served
directory is private to each server and removed afterwards."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
from conftest import TEST_REPLY_TIMEOUT, reference, server

from harness.evidence import wirelog
from harness.protocols.filetransfer import ProtocolViolation, ReplyParser, encode_reply, header_problems, request
from harness.server.served_files import ServedFiles, absolute_paths

SUITES = ("--suite", "conversation", "--suite", "framing", "--suite", "concurrency")
CHECKS = {
    "conversation::text_file", "conversation::binary_file", "conversation::empty_file", "conversation::large_file", "conversation::non_ascii_file_name",
    "conversation::missing_file", "conversation::path_traversal", "conversation::several_downloads",
    "framing::pipelined_requests", "framing::split_request",
    "concurrency::concurrent_downloads", "concurrency::slow_reader_does_not_stall",
    "concurrency::idle_without_busy_loop", "concurrency::no_descriptor_leak",
}


def test_reference_file_server_passes_every_check(harness):
    run = harness("--protocol", "tcp-file", *SUITES, reference("tcp_file.py"), "{port}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outcomes() == {check: "passed" for check in CHECKS}


BUGGY = [
    ("file_traversal.py", {"conversation::path_traversal"}),
    ("file_missing_closes.py", {"conversation::missing_file"}),
    ("file_recv_is_request.py", {"framing::pipelined_requests", "framing::split_request"}),
    ("file_text_mode.py", {"conversation::binary_file", "conversation::large_file"}),
    ("file_sequential.py", {"concurrency::concurrent_downloads", "concurrency::slow_reader_does_not_stall"}),
    ("file_blocking_send.py", {"concurrency::slow_reader_does_not_stall"}),
    ("file_one_request.py", {"conversation::empty_file", "conversation::missing_file", "conversation::several_downloads",
                             "framing::pipelined_requests"}),
    ("file_spins_on_eof.py", {"concurrency::idle_without_busy_loop", "concurrency::no_descriptor_leak"}),
    ("file_keeps_connections.py", {"concurrency::no_descriptor_leak"}),
    ("file_split_request.py", {"conversation::non_ascii_file_name"}),
]


@pytest.mark.parametrize("name, failing", BUGGY, ids=[b[0] for b in BUGGY])
def test_buggy_file_server_fails_exactly_its_checks(harness, name, failing):
    run = harness("--protocol", "tcp-file", *SUITES, "--reply-timeout", TEST_REPLY_TIMEOUT, server(name), "{port}")
    assert run.ids_with("failed") == failing, run.stdout
    assert run.ids_with("passed") == CHECKS - failing, run.stdout
    assert run.returncode == 1
    for check_id in failing:
        assert run.check(check_id)["message"], f"{check_id} failed without an explanation"


def test_traversal_failure_shows_the_leaked_secret(harness):
    run = harness("--protocol", "tcp-file", "-k", "path_traversal", server("file_traversal.py"), "{port}")
    failure = run.check("conversation::path_traversal")
    assert "outside its directory" in failure["message"]
    assert failure["received"].startswith("HARNESS-SECRET-")
    # The wire log shows what the server sent, not only the request (it had no inbound event at all).
    inbound = [event for event in failure["wire"]["events"] if event["kind"] == wirelog.RECV]
    assert inbound, failure["wire"]


def test_a_missing_file_answered_by_a_close_is_told_the_error_header(harness):
    run = harness("--protocol", "tcp-file", "-k", "missing_file", server("file_missing_closes.py"), "{port}")
    failure = run.check("conversation::missing_file")
    assert "(the server closed the connection)" in failure["message"], failure["message"]
    assert 'here {"error": "..."} with no body' in failure["message"], failure["message"]
    assert any(event["kind"] == wirelog.SERVER_FIN for event in failure["wire"]["events"]), failure["wire"]
    good = harness("--protocol", "tcp-file", "-k", "missing_file", reference("tcp_file.py"), "{port}")
    assert good.ids_with("passed") == {"conversation::missing_file"}, good.stdout


def test_text_mode_failure_names_the_stall_and_the_sizes(harness):
    run = harness("--protocol", "tcp-file", "--reply-timeout", TEST_REPLY_TIMEOUT, "-k", "binary_file",
                  server("file_text_mode.py"), "{port}")
    message = run.check("conversation::binary_file")["message"]
    assert '"size": 66565' in message and "body bytes" in message


# -- the codec, without sockets (fed whole, byte by byte, with trailing bytes) ---------
BODY = bytes(range(256)) * 3
REPLY = encode_reply({"name": "x.bin", "size": len(BODY), "sha256": hashlib.sha256(BODY).hexdigest()}, BODY)


@pytest.mark.parametrize("pieces", ["whole", "bytewise", "trailing"])
def test_reply_parser_gives_the_same_reply_however_the_bytes_arrive(pieces):
    data = REPLY + (encode_reply({"error": "next"}) if pieces == "trailing" else b"")
    parser = ReplyParser()
    chunks = [data[i:i + 1] for i in range(len(data))] if pieces == "bytewise" else [data]
    leftover = b""
    for chunk in chunks:
        leftover += parser.feed(chunk) if not parser.done else chunk
    assert parser.done and parser.reply is not None
    assert parser.reply.head == BODY and parser.reply.sha256 == hashlib.sha256(BODY).hexdigest()
    assert header_problems(parser.reply.header, "x.bin", len(BODY), hashlib.sha256(BODY).hexdigest()) == []
    assert leftover == (encode_reply({"error": "next"}) if pieces == "trailing" else b"")


def test_reply_parser_finishes_an_error_header_without_a_body():
    parser = ReplyParser()
    assert parser.feed(encode_reply({"error": "no such file"}) + b"rest") == b"rest"
    assert parser.done and parser.reply.is_error and parser.reply.size == 0


@pytest.mark.parametrize("data, reason", [
    (struct.pack("<I", 30) + b"{}" * 15, "byte order"),
    (struct.pack("!I", 5) + b"hello", "not UTF-8 JSON"),
    (struct.pack("!I", 2) + b"[]", "not an object"),
    (struct.pack("!I", 13) + b'{"size": -1 }', "valid \"size\""),
])
def test_reply_parser_explains_a_broken_reply(data, reason):
    with pytest.raises(ProtocolViolation, match=reason):
        ReplyParser().feed(data)


def test_header_problems_name_each_wrong_field():
    problems = header_problems({"name": "a", "size": 3, "sha256": "ABC"}, "a", 4, "abc")
    assert problems == ['"size" is 3, expected 4']
    assert "error header" in header_problems({"error": "x"}, "a", 1, "")[0]


def test_request_is_a_utf8_line():
    assert request("报告.txt") == "get 报告.txt\n".encode()


def test_served_directory_holds_every_file_and_the_secret_outside(tmp_path):
    files = ServedFiles(tmp_path, big_size=3 * 1024 * 1024 + 5)
    served = files.prepare(tmp_path / "server-0")
    for name, item in files.files.items():
        assert hashlib.sha256((served / name).read_bytes()).hexdigest() == item.sha256, name
    secret, token = ServedFiles.secret_of(served)
    assert secret.parent == served.parent and token.startswith(b"HARNESS-SECRET-")
    second = files.prepare(tmp_path / "server-1")
    assert (second / "big.bin").stat().st_ino == (served / "big.bin").stat().st_ino  # linked, not rewritten
    files.close()
    assert not served.exists() and not second.exists()


def test_relative_server_paths_become_absolute_when_the_working_directory_changes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("server.py").write_text("")
    assert absolute_paths(("python3", "server.py", "{port}")) == ("python3", str(tmp_path / "server.py"), "{port}")


def test_an_echo_server_checked_as_tcp_file_is_told_so(harness):
    run = harness("--protocol", "tcp-file", "--check", "conversation::text_file", reference("tcp_echo.py"), "{port}")
    assert "the server sent back the request itself: is it an echo server?" in \
        run.check("conversation::text_file")["message"]
    other = harness("--protocol", "tcp-file", "--check", "conversation::binary_file", "--reply-timeout",
                    TEST_REPLY_TIMEOUT, server("file_text_mode.py"), "{port}")
    assert "echo server" not in other.check("conversation::binary_file")["message"]


def test_a_silent_file_server_costs_one_whole_reply_timeout_not_one_per_check(harness):
    """SPEC §7: the same silence is waited in full once; tcp-file waited the whole reply timeout in every
    check (blind 13: 38.9 s against the reference's 4 s)."""
    run = harness("--protocol", "tcp-file", "--suite", "conversation", "--reply-timeout", "2",
                  server("file_waits_for_crlf.py"), "{port}")
    checks = run.report["checks"]
    assert all(c["outcome"] == "failed" for c in checks), run.stdout
    assert sum(c["duration_s"] >= 1.9 for c in checks) == 1, [(c["id"], c["duration_s"]) for c in checks]
    assert "not the full 2 s" in checks[1]["message"], checks[1]["message"]


def test_a_request_parsed_with_split_is_told_that_names_may_hold_spaces(harness):
    run = harness("--protocol", "tcp-file", "--check", "conversation::non_ascii_file_name", "--reply-timeout",
                  TEST_REPLY_TIMEOUT, server("file_split_request.py"), "{port}")
    message = run.check("conversation::non_ascii_file_name")["message"]
    assert "my notes.txt" in message and "not line.split()" in message, message


def test_a_newline_after_each_body_is_named_not_taken_for_a_byte_order_mistake(harness):
    """The next reply's length read as 0a 00 00 00 was put down to byte order (blind 13, F4)."""
    run = harness("--protocol", "tcp-file", "--check", "conversation::empty_file", "--check",
                  "conversation::several_downloads", "--reply-timeout", TEST_REPLY_TIMEOUT,
                  server("file_newline_after_body.py"), "{port}")
    assert run.ids_with("failed") == {"conversation::empty_file", "conversation::several_downloads"}, run.stdout
    message = run.check("conversation::empty_file")["message"]
    assert "1 byte(s) more than the protocol has, b'\\n', after the previous reply's body" in message, message
    assert "byte order" not in message, message
    correct = harness("--protocol", "tcp-file", "--check", "conversation::empty_file", reference("tcp_file.py"), "{port}")
    assert correct.returncode == 0, correct.stdout


def test_a_server_closing_after_one_reply_is_told_to_keep_the_connection_open(harness):
    """Blind 13, F13: "no complete header arrived (the server closed the connection)" did not say when."""
    run = harness("--protocol", "tcp-file", "--check", "conversation::empty_file", "--check",
                  "conversation::path_traversal", "--reply-timeout", TEST_REPLY_TIMEOUT,
                  server("file_one_request.py"), "{port}")
    message = run.check("conversation::empty_file")["message"]
    assert "answered 1 request(s) on this connection, then closed it" in message, message
    refuses = harness("--protocol", "tcp-file", "--check", "conversation::path_traversal", "--reply-timeout",
                      TEST_REPLY_TIMEOUT, server("file_missing_closes.py"), "{port}")
    assert "then closed it" not in (refuses.check("conversation::path_traversal").get("message") or ""), refuses.stdout
