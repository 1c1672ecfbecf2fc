"""Every echo check proven both ways: the reference servers pass all of them,
and each buggy server fails exactly the checks aimed at its bug."""

from __future__ import annotations

import shutil

import pytest
from conftest import TEST_REPLY_TIMEOUT, reference, server

TCP_CHECKS = {
    "echo::single_message", "echo::prompt_reply", "echo::binary_bytes", "echo::edge_sizes",
    "echo::large_payload", "echo::many_round_trips", "echo::half_close", "echo::serves_next_client",
    "echo::frees_closed_connection", "echo::client_reads_late",
}
UDP_CHECKS = {
    "echo::single_message", "echo::binary_bytes", "echo::edge_sizes", "echo::large_payload",
    "echo::many_round_trips", "echo::serves_next_client", "echo::survives_empty_datagram",
    "echo::empty_datagram_answered",
}


@pytest.mark.parametrize("protocol, path, checks", [
    ("tcp-echo", reference("tcp_echo.py"), TCP_CHECKS),
    ("udp-echo", reference("udp_echo.py"), UDP_CHECKS),
])
def test_reference_server_passes_every_echo_check(harness, protocol, path, checks):
    run = harness("--protocol", protocol, "--suite", "echo", path, "{port}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outcomes() == {check: "passed" for check in checks}
    assert run.report["server"]["port_source"] == "assigned"


BUGGY = [
    # (server file, protocol, checks it must fail, checks that must be warnings)
    ("tcp_upper.py", "tcp-echo", TCP_CHECKS, set()),
    ("tcp_decode_utf8.py", "tcp-echo",
     {"echo::binary_bytes", "echo::edge_sizes", "echo::large_payload", "echo::client_reads_late"}, set()),
    ("tcp_wait_newline.py", "tcp-echo",
     {"echo::prompt_reply", "echo::edge_sizes", "echo::large_payload", "echo::many_round_trips",
      "echo::client_reads_late"}, set()),
    ("tcp_wait_eof.py", "tcp-echo", TCP_CHECKS - {"echo::half_close"}, set()),
    ("tcp_single_client.py", "tcp-echo", {"echo::serves_next_client"}, set()),
    # send() on a socket with a timeout: what a full send buffer did not take is lost once the client reads late
    ("echo_send_not_sendall.py", "tcp-echo", {"echo::large_payload", "echo::client_reads_late"}, set()),
    ("echo_send_while_client_waits.py", "tcp-echo", {"echo::client_reads_late"}, set()),
    ("tcp_never_closes.py", "tcp-echo", {"echo::half_close", "echo::frees_closed_connection"}, set()),
    ("udp_truncate_1024.py", "udp-echo", {"echo::edge_sizes", "echo::large_payload"}, set()),
    ("udp_stop_on_empty.py", "udp-echo", {"echo::survives_empty_datagram"}, {"echo::empty_datagram_answered"}),
    ("udp_ignores_empty.py", "udp-echo", set(), {"echo::empty_datagram_answered"}),
    ("udp_upper.py", "udp-echo", UDP_CHECKS - {"echo::empty_datagram_answered"}, set()),
    ("udp_decode_utf8.py", "udp-echo", {"echo::binary_bytes", "echo::edge_sizes", "echo::large_payload"}, set()),
]


@pytest.mark.parametrize("name, protocol, failing, warning", BUGGY, ids=[b[0] for b in BUGGY])
def test_buggy_server_fails_exactly_its_checks(harness, name, protocol, failing, warning):
    run = harness("--protocol", protocol, "--suite", "echo", "--reply-timeout", TEST_REPLY_TIMEOUT, server(name), "{port}")
    assert run.ids_with("failed") == failing, run.stdout
    assert run.ids_with("warning") == warning, run.stdout
    assert run.returncode == (1 if failing else 0), run.stdout + run.stderr
    for check_id in failing:
        assert run.check(check_id)["message"], f"{check_id} failed without an explanation"


def test_failure_shows_expected_received_and_first_difference(harness):
    run = harness("--suite", "echo", "-k", "single_message", server("tcp_upper.py"), "{port}")
    failure = run.check("echo::single_message")
    assert failure["expected"] == "hello, harness\n"
    assert failure["received"] == "HELLO, HARNESS\n"
    assert "first difference at byte offset 0" in failure["detail"]
    assert "68 65 6c 6c 6f" in run.stdout  # the hexdump of what was expected


def test_server_crash_is_reported_against_the_check_with_its_traceback(harness):
    run = harness("--protocol", "udp-echo", "-k", "binary_bytes", server("udp_decode_utf8.py"), "{port}")
    failure = run.check("echo::binary_bytes")
    assert "the server exited during this check" in failure["message"]
    assert "UnicodeDecodeError" in failure["server_output"]


def test_strict_turns_a_recommended_warning_into_a_failure(harness):
    run = harness("--protocol", "udp-echo", "--strict", "-k", "empty", server("udp_ignores_empty.py"), "{port}")
    assert run.outcomes()["echo::empty_datagram_answered"] == "failed"
    assert run.returncode == 1


def test_reply_from_another_port_is_named_as_such(harness):
    # Every failure says so, not only the first (the probe is given up only once it got no reply at all).
    run = harness("--protocol", "udp-echo", "-k", "single_message or binary_bytes", "--reply-timeout",
                  TEST_REPLY_TIMEOUT, server("udp_replies_from_other_port.py"), "{port}")
    assert run.outcomes() == {"echo::single_message": "failed", "echo::binary_bytes": "failed"}
    for check in ("echo::single_message", "echo::binary_bytes"):
        message = run.check(check)["message"]
        assert "came from 127.0.0.1:" in message and "not from the server's port" in message, message
    # A server that is silent is told apart from one that answers elsewhere.
    silent = harness("--protocol", "udp-echo", "-k", "single_message", "--reply-timeout", TEST_REPLY_TIMEOUT,
                     server("udp_silent.py"), "{port}")
    assert silent.check("echo::single_message")["message"].startswith("no reply to a 15-byte datagram after 3 tries")


def test_half_close_failure_says_to_finish_writing_before_closing(harness):
    run = harness("--suite", "echo", "-k", "half_close", server("echo_drops_pending_at_eof.py"), "{port}")
    message = run.check("echo::half_close")["message"]
    assert "closed the connection after 0 of the 28 bytes of the pending echo" in message, message
    assert "first send everything still owed to it" in message


def test_a_server_that_never_closes_is_waited_for_in_full_once_then_briefly(harness):
    run = harness("--suite", "echo", "--reply-timeout", "2", server("tcp_never_closes.py"), "{port}")
    assert "within 2 s after the client half-closed" in run.check("echo::half_close")["message"]
    cut = run.check("echo::frees_closed_connection")["message"]
    assert cut.startswith("0.5 s after the client closed") and "not the full 2 s" in cut, cut


def test_a_crash_by_a_signal_leads_the_failure_and_says_what_it_means(harness):
    run = harness("--check", "echo::binary_bytes", server("tcp_echo_segfaults.py"), "{port}")
    message = run.check("echo::binary_bytes")["message"]
    assert message.startswith("the server was killed by SIGSEGV (an invalid memory access"), message
    assert "what the client saw: nothing came back" in message


def test_an_exit_of_its_own_still_follows_what_the_client_saw(harness):
    run = harness("--protocol", "udp-echo", "-k", "binary_bytes", server("udp_decode_utf8.py"), "{port}")
    message = run.check("echo::binary_bytes")["message"]
    first, hint = message.splitlines()
    assert first.endswith(" — the server exited during this check (exit code 1)"), message
    assert hint.startswith("hint: the server decoded the bytes it received as utf-8 text"), message


def test_a_server_decoding_binary_data_is_told_so_not_about_nul_bytes(harness):
    run = harness("--check", "echo::binary_bytes", server("tcp_decode_utf8.py"), "{port}")
    message = run.check("echo::binary_bytes")["message"]
    assert run.returncode == 1
    assert "hint: the server decoded the bytes it received as utf-8 text" in message, message
    assert "NUL" not in message, message


def test_a_server_that_never_closes_is_told_to_close_at_b_empty_in_its_first_failure(harness):
    run = harness("--suite", "echo", "-k", "half_close", "--reply-timeout", TEST_REPLY_TIMEOUT,
                  server("tcp_never_closes.py"), "{port}")
    message = run.check("echo::half_close")["message"]
    assert message.startswith("the server did not close the connection within"), message
    assert "when recv() returns b'' the client has finished sending" in message and "close" in message
    good = harness("--suite", "echo", "-k", "half_close", reference("tcp_echo.py"), "{port}")
    assert good.outcomes() == {"echo::half_close": "passed"}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_node_server_that_never_ends_is_told_in_nodes_terms(harness):
    """Blind 17 F5: a Node (or C) server was told about recv() returning b'' and `with conn:`."""
    run = harness("--check", "echo::half_close", "--reply-timeout", TEST_REPLY_TIMEOUT, "--", "node",
                  server("tcp_echo_never_ends.js"))
    message = run.check("echo::half_close")["message"]
    assert "when the socket emits 'end' the client has finished sending" in message, message
    assert "socket.end()" in message and "b''" not in message and "with conn" not in message, message


def test_a_slow_serial_udp_server_is_not_buried_under_copies_of_its_retried_datagrams(harness):
    """0.8 s per answer, one after another, within the default 2 s reply timeout: extra tries sent
    sooner than it answers would each cost it 0.8 s more, and every later reply would come too late."""
    checks = ("echo::single_message", "echo::binary_bytes", "echo::survives_empty_datagram", "echo::serves_next_client")
    run = harness("--protocol", "udp-echo", *(arg for check in checks for arg in ("--check", check)),
                  server("udp_echo_slow_backend.py"), "{port}")
    assert run.outcomes() == dict.fromkeys(checks, "passed"), run.stdout


def test_a_udp_server_that_binds_before_it_is_ready_is_told_so_once(harness):
    """Set-up after bind(): the first reply comes late. That one failure says so, and the checks on fresh
    instances wait out the same set-up instead of failing again for it. A silent server is not told it
    answered late (both ways)."""
    run = harness("--protocol", "udp-echo", "--reply-timeout", TEST_REPLY_TIMEOUT,
                  server("udp_echo_binds_before_ready.py"), "{port}")
    assert run.ids_with("failed") == {"echo::single_message"}, run.stdout
    message = run.check("echo::single_message")["message"]
    assert "its reply came" in message and "bind() once the server can answer" in message, message
    silent = harness("--protocol", "udp-echo", "--check", "echo::single_message", "--reply-timeout", TEST_REPLY_TIMEOUT,
                     server("udp_silent.py"), "{port}")
    assert "its reply came" not in silent.check("echo::single_message")["message"]


def test_a_udp_server_that_takes_an_empty_datagram_for_an_end_is_told_it_is_a_message(harness):
    run = harness("--protocol", "udp-echo", "--check", "echo::survives_empty_datagram", "--check", "echo::single_message",
                  server("udp_stop_on_empty.py"), "{port}")
    message = run.check("echo::survives_empty_datagram")["message"]
    assert "an empty datagram, and that is a message like any other" in message, message
    assert "accept()" not in message  # not the TCP advice
    silent = harness("--protocol", "udp-echo", "--check", "echo::survives_empty_datagram", "--reply-timeout",
                     TEST_REPLY_TIMEOUT, server("udp_silent.py"), "{port}")  # never answers: a different bug
    assert "empty datagram, and that is a message" not in silent.check("echo::survives_empty_datagram")["message"]


def test_replies_held_in_an_unflushed_buffer_are_named_as_a_cause(harness):
    """Blind 17 F7: a C stdio or Perl server without flushing was told only that it reads until end of input."""
    run = harness("--check", "echo::single_message", "--reply-timeout", TEST_REPLY_TIMEOUT,
                  server("echo_buffered_writer.py"), "{port}")
    message = run.check("echo::single_message")["message"]
    assert "then the echo came at once" in message and "wait in an output buffer" in message, message


def test_an_echo_that_stops_while_the_client_read_late_is_told_of_dropped_sends(harness):
    """Blind 17 F8: the facts (how much came back) without the fix."""
    run = harness("--check", "echo::client_reads_late", server("echo_nonblocking_drops_unsent.py"), "{port}")
    message = run.check("echo::client_reads_late")["message"]
    assert run.outcomes() == {"echo::client_reads_late": "failed"}, run.stdout
    # (On a loaded machine the client may still be sending when it reads: then the echo has a gap, not an end.)
    assert "dropped what one send() (write() in C) could not take" in message or "the echo skips bytes" in message
    assert "use sendall()" in message, message
