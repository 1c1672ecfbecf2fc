"""Every tcp-hello / udp-hello check proven both ways: the reference servers pass
all of them (line and unframed mode), each buggy server fails exactly the
checks aimed at its bug, and the seeds' own servers get the verdicts their
code deserves."""

from __future__ import annotations

import pytest
from conftest import TEST_REPLY_TIMEOUT, reference, server

SUITES = ("--suite", "conversation", "--suite", "framing", "--suite", "concurrency")
TCP_LINE = {
    "conversation::greeting", "conversation::hello_reply", "conversation::non_ascii_name", "conversation::empty_name", "conversation::long_name",
    "conversation::exit_closes_connection", "framing::coalesced_lines", "framing::split_line",
    "concurrency::simultaneous_greetings", "concurrency::exit_ends_only_its_client",
    "concurrency::idle_without_busy_loop", "concurrency::no_descriptor_leak",
}
TCP_UNFRAMED_REQUIRED = TCP_LINE - {"conversation::empty_name", "framing::coalesced_lines", "framing::split_line"}
UDP = {"conversation::hello_reply", "conversation::non_ascii_name", "conversation::empty_name", "conversation::long_name",
       "concurrency::simultaneous_greetings", "concurrency::idle_without_busy_loop"}


def test_reference_tcp_hello_passes_every_line_mode_check(harness):
    run = harness("--protocol", "tcp-hello", *SUITES, reference("tcp_hello.py"), "{port}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outcomes() == {check: "passed" for check in TCP_LINE}


def test_reference_udp_hello_passes_every_check(harness):
    run = harness("--protocol", "udp-hello", *SUITES, reference("udp_hello.py"), "{port}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outcomes() == {check: "passed" for check in UDP}


def test_unframed_mode_shows_coalesced_messages_merging_as_information(harness):
    run = harness("--protocol", "tcp-hello", "--hello-mode", "unframed", *SUITES,
                  reference("tcp_hello.py"), "{port}", "--unframed")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outcomes() == {**{check: "passed" for check in TCP_UNFRAMED_REQUIRED},
                              "framing::coalesced_messages": "info"}
    demo = run.check("framing::coalesced_messages")
    assert demo["received"] == "Hello, AliceBob!"
    assert demo["expected"] == "Hello, Alice!Hello, Bob!"
    assert "粘包" in demo["message"] and "AliceBob" in run.stdout
    assert run.report["summary"]["info"] == 1


BUGGY = [
    # (server file, protocol, checks it must fail)
    ("tcp_hello_recv_is_line.py", "tcp-hello",
     {"framing::coalesced_lines", "framing::split_line", "conversation::long_name"}),
    ("tcp_hello_wrong_greeting.py", "tcp-hello", {"conversation::greeting"}),
    ("tcp_hello_latin1.py", "tcp-hello", {"conversation::non_ascii_name"}),
    ("tcp_hello_empty_line_closes.py", "tcp-hello", {"conversation::empty_name"}),
    ("tcp_hello_exit_stops_server.py", "tcp-hello", {"concurrency::exit_ends_only_its_client"}),
    ("tcp_hello_one_at_a_time.py", "tcp-hello",
     {"concurrency::simultaneous_greetings", "concurrency::exit_ends_only_its_client"}),
    ("udp_hello_stop_on_empty.py", "udp-hello", {"conversation::empty_name"}),
    # Ignoring b'' is one bug with two symptoms: the loop spins and the socket is never closed.
    ("tcp_hello_spins_on_eof.py", "tcp-hello", {"concurrency::idle_without_busy_loop", "concurrency::no_descriptor_leak"}),
    ("tcp_hello_keeps_connections.py", "tcp-hello", {"concurrency::no_descriptor_leak"}),
    ("udp_hello_polls.py", "udp-hello", {"concurrency::idle_without_busy_loop"}),
]


@pytest.mark.parametrize("name, protocol, failing", BUGGY, ids=[b[0] for b in BUGGY])
def test_buggy_hello_server_fails_exactly_its_checks(harness, name, protocol, failing):
    run = harness("--protocol", protocol, *SUITES, "--reply-timeout", TEST_REPLY_TIMEOUT, server(name), "{port}")
    assert run.ids_with("failed") == failing, run.stdout
    assert run.ids_with("passed") == (TCP_LINE if protocol == "tcp-hello" else UDP) - failing, run.stdout
    assert run.returncode == 1, run.stdout + run.stderr
    for check_id in failing:
        assert run.check(check_id)["message"], f"{check_id} failed without an explanation"


def test_one_client_at_a_time_is_named_only_when_a_client_waits_unaccepted(harness):
    """The evidence of a one-client-at-a-time server is a connected client the server never accepted; a server
    that accepts everyone but greets only the first has another bug, and is not told to use threads."""
    concurrency = ("--protocol", "tcp-hello", "--suite", "concurrency", "--reply-timeout", TEST_REPLY_TIMEOUT)
    from harness.system import sockdiag

    if not sockdiag.available():
        pytest.skip("sock_diag is not available here: no accept queue to read")
    serial = harness(*concurrency, server("tcp_hello_one_at_a_time.py"), "{port}")
    flagged = harness(*concurrency, server("tcp_hello_greets_once.py"), "{port}")
    for check_id in ("concurrency::simultaneous_greetings", "concurrency::exit_ends_only_its_client"):
        assert "serves one client at a time" in serial.check(check_id)["message"], serial.stdout
        assert flagged.check(check_id)["outcome"] == "failed", flagged.stdout
        assert "one client at a time" not in flagged.check(check_id)["message"], flagged.stdout


def test_failure_shows_the_mojibake_reply(harness):
    run = harness("--protocol", "tcp-hello", "-k", "non_ascii", server("tcp_hello_latin1.py"), "{port}")
    failure = run.check("conversation::non_ascii_name")
    assert failure["expected"] == "Hello, 张三!\n"
    assert failure["received"].startswith("hex:48 65 6c 6c 6f 2c 20 c3 a5 c2 bc")  # "Hello, " + mojibake
    assert "first difference at byte offset 7" in failure["detail"]


def test_seed_tcp_hello_passes_unframed_mode_but_for_its_recv_1024(harness):
    # The seed sleeps 2 s before every reply: a generous reply timeout.
    run = harness("--protocol", "tcp-hello", "--hello-mode", "unframed", "--reply-timeout", "5", "-n", "2",
                  *SUITES, server("seed_001_tcp_hello.py"), "{port}")
    assert run.ids_with("failed") == {"conversation::long_name"}, run.stdout
    assert run.ids_with("passed") == TCP_UNFRAMED_REQUIRED - {"conversation::long_name"}, run.stdout
    assert run.check("framing::coalesced_messages")["received"] == "Hello, AliceBob!"
    assert "Hello, " + "a" in run.check("conversation::long_name")["received"]


def test_a_slow_unframed_server_alone_in_the_crowd_check_gets_its_whole_reply_timeout(harness):
    """The crowd check reads each greeting up to a quiet of 0 s; that quiet was taken for a whole-timeout
    silence, and the seed's replies (2 s each) were then waited for 1.25 s of the 5 s."""
    run = harness("--protocol", "tcp-hello", "--hello-mode", "unframed", "--reply-timeout", "5",
                  "--check", "concurrency::simultaneous_greetings", server("seed_001_tcp_hello.py"), "{port}")
    assert run.outcomes() == {"concurrency::simultaneous_greetings": "passed"}, run.stdout


def test_a_reply_just_past_the_timeout_is_told_as_slow_not_missing(harness):
    """The seed sleeps 2 s before each reply: with a 1.8 s reply timeout its replies come late. Once per run
    the harness looks a moment longer after a whole wait, and says when the reply came."""
    run = harness("--protocol", "tcp-hello", "--hello-mode", "unframed", "--reply-timeout", "1.8",
                  "--check", "conversation::hello_reply", server("seed_001_tcp_hello.py"), "{port}")
    message = run.check("conversation::hello_reply")["message"]
    assert "s after it was asked for, past the 1.8 s reply timeout: the server answers, but slowly" in message, message
    # The other way: a reply that never comes (an empty name, in this server's one bug) is not told as late.
    silent = harness("--protocol", "tcp-hello", "--check", "conversation::empty_name", "--reply-timeout", "1",
                     server("tcp_hello_slow.py"), "{port}", "silent-on-empty")
    assert silent.outcomes() == {"conversation::empty_name": "failed"}, silent.stdout
    assert "its reply came" not in silent.check("conversation::empty_name")["message"]


def test_seed_tcp_hello_fails_line_mode_greeting_and_replies(harness):
    run = harness("--protocol", "tcp-hello", "--reply-timeout", TEST_REPLY_TIMEOUT, "-k", "greeting and not simultaneous",
                  server("seed_001_tcp_hello.py"), "{port}")
    failure = run.check("conversation::greeting")
    assert failure["outcome"] == "failed" and failure["received"] == "Welcome"


def by_name(outcomes: dict[str, str]) -> dict[str, str]:
    """Outcomes keyed by the check's name alone (the correctness suite's name may change)."""
    return {check.partition("::")[2]: outcome for check, outcome in outcomes.items()}


def test_an_unframed_greeting_with_an_extra_byte_fails_the_greeting_only(harness):
    """b"Welcome!" (8 bytes) in unframed mode: the "!" is part of a wrong greeting,
    not a leftover blamed on every reply after it."""
    run = harness("--protocol", "tcp-hello", "--hello-mode", "unframed", *SUITES, "--reply-timeout", TEST_REPLY_TIMEOUT,
                  server("tcp_hello_unframed_bang.py"), "{port}")
    outcomes = by_name(run.outcomes())
    assert outcomes.pop("greeting") == "failed", run.stdout
    assert outcomes.pop("coalesced_messages") == "info"
    assert set(outcomes.values()) == {"passed"}, run.stdout
    greeting = next(c for c in run.report["checks"] if c["id"].endswith("::greeting"))
    assert greeting["received"] == "Welcome!" and "hello-mode" not in greeting["message"]


def test_line_mode_names_unframed_mode_when_the_greeting_has_no_newline(harness):
    seed = harness("--protocol", "tcp-hello", "--reply-timeout", TEST_REPLY_TIMEOUT, "-k", "greeting and not simultaneous",
                   server("seed_001_tcp_hello.py"), "{port}")
    assert "--hello-mode unframed" in next(c for c in seed.report["checks"] if c["id"].endswith("::greeting"))["message"]
    # The other way: a wrong greeting that is a whole line is not a mode problem.
    wrong = harness("--protocol", "tcp-hello", "--reply-timeout", TEST_REPLY_TIMEOUT, "-k", "greeting and not simultaneous",
                    server("tcp_hello_wrong_greeting.py"), "{port}")
    failure = next(c for c in wrong.report["checks"] if c["id"].endswith("::greeting"))
    assert failure["outcome"] == "failed" and "hello-mode" not in failure["message"]


def test_seed_udp_hello_fails_only_the_long_name(harness):
    run = harness("--protocol", "udp-hello", *SUITES, "--reply-timeout", TEST_REPLY_TIMEOUT,
                  server("seed_001_udp_hello.py"), "{port}")
    assert run.ids_with("failed") == {"conversation::long_name"}, run.stdout
    assert run.ids_with("passed") == UDP - {"conversation::long_name"}
    assert "greets only the first 1,024 of the 60,000 bytes of the name" in run.check("conversation::long_name")["message"]


def test_the_cut_name_hint_needs_a_reply_that_greets_a_start_of_the_name():
    from harness.suites.test_hello import name_cut_hint

    name = b"x" * 5000
    assert "first 1,024 of the 5,000 bytes" in name_cut_hint(name, b"Hello, " + name[:1024] + b"!")
    longer = b"x" * 9000
    hint = name_cut_hint(longer, b"Hello, " + longer[:8192] + b"!")
    assert "max_packet_size = 65535" in hint and "maxPacketSize=65535 to listenUDP" in hint  # (blind 19: Twisted)
    assert name_cut_hint(name, b"Hello, " + name + b"!") == ""  # whole
    assert name_cut_hint(name, b"Hello, " + name[:1024] + b"!\n") == ""  # another bug: a line ending
    assert name_cut_hint(name, b"Hi, " + name[:1024] + b"!") == ""  # another greeting
    assert name_cut_hint(name, b"Hello, " + b"y" * 1024 + b"!") == ""  # not the name's start
    assert name_cut_hint(b"", b"") == ""


def test_replies_to_pieces_of_a_line_are_hinted_and_a_wrong_reply_is_not():
    from harness.clients.reply_reader import lines_hint

    expected = b"Hello, Alice!\n"
    assert "the server answers each recv() as if it were one line" in lines_hint(expected, b"Hello, Al!\nHello, ice!\n")
    assert "3 reply lines" in lines_hint(expected, b"Hello, Alice\nBob\nCarol!\n")  # lines run together
    assert lines_hint(expected, b"Hi Alice!\n") == ""  # a wrong reply: one line
    assert lines_hint(expected, b"Hello, alice!\nHello, Bob!\n") == ""  # the first line has the right length
    assert lines_hint(b"Welcome", b"Wel\ncome\n") == ""  # not a line reply


def test_a_server_answering_each_recv_as_a_line_gets_the_hint_in_its_first_failure(harness):
    run = harness("--protocol", "tcp-hello", "-k", "long_name or coalesced_lines", server("tcp_hello_recv_is_line.py"),
                  "{port}")
    failed = [c for c in run.report["checks"] if c["outcome"] == "failed"]
    assert failed and "the server answers each recv() as if it were one line" in failed[0]["message"], run.stdout


def test_a_node_server_is_told_of_data_events_not_recv(harness):
    import shutil

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    run = harness("--protocol", "tcp-hello", "--suite", "framing", "--", node, server("tcp_hello_data_is_line.js"),
                  "{port}")
    message = run.check("framing::coalesced_lines")["message"]
    assert "the server answers each 'data' event as if it were one line" in message, message
    assert "recv()" not in message, message


def test_a_line_greeting_without_its_newline_is_told_to_add_it_not_to_change_mode(harness):
    """b'Welcome!' (the line mode's text) lacks only its \\n: --hello-mode unframed would fail it everywhere
    (blind 13, F7); the seed's b'Welcome' keeps the unframed-mode hint."""
    def greeting_message(name: str) -> str:
        run = harness("--protocol", "tcp-hello", "--check", "conversation::greeting", "--reply-timeout",
                      TEST_REPLY_TIMEOUT, server(name), "{port}")
        return run.check("conversation::greeting")["message"]

    missing = greeting_message("tcp_hello_greeting_without_newline.py")
    assert "send b'Welcome!\\n'" in missing and "--hello-mode" not in missing, missing
    seed = greeting_message("seed_001_tcp_hello.py")
    assert "--hello-mode unframed" in seed and "send b'Welcome!" not in seed, seed


def test_a_greeting_sent_twice_fails_the_greeting_check_and_is_named_in_the_replies(harness):
    """Blind 19 F3: the second greeting passed conversation::greeting, and every later reply, a line late, was
    blamed on the server's line reader (which was correct)."""
    run = harness("--protocol", "tcp-hello", "--suite", "conversation", "-k", "greeting or hello_reply",
                  server("hello_greets_twice.py"), "{port}")
    assert run.outcomes() == {"conversation::greeting": "failed", "conversation::hello_reply": "failed"}, run.stdout
    assert "then 9 more bytes before the client sent anything" in run.check("conversation::greeting")["message"]
    reply = run.check("conversation::hello_reply")["message"]
    assert "arrived before the client sent its request" in reply and "as if it were one line" not in reply, reply


def test_a_long_line_answered_by_a_close_is_told_of_a_line_length_limit(harness):
    run = harness("--protocol", "tcp-hello", "--check", "conversation::long_name", server("hello_line_limit.py"),
                  "{port}")
    message = run.check("conversation::long_name")["message"]
    assert "nothing arrived (the server" in message and "line-length limit" in message, message  # (closed or reset)
