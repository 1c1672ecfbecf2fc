"""tcp-hello line mode written as a protocol file (examples/protocols/hello/hello.toml)
gives the built-in `--protocol tcp-hello` verdicts on the project's hello test
servers: the good ones pass both, each buggy one fails the same checks.

The mapping, check by check (the file's conversations carry the built-in names):
- conversation::NAME ↔ conversation::NAME, for the six protocol checks;
- concurrency::exit_ends_only_its_client ↔ conversation::exit_ends_only_its_client
  (a conversation with two clients);
- framing::coalesced_lines ↔ framing::hello_reply.coalesced (three names in one
  segment) and framing::split_line ↔ framing::hello_reply.bytewise;
- concurrency::simultaneous_greetings ↔ concurrency::simultaneous_conversations,
  with one documented difference: the file's crowd runs every conversation,
  so it also fails whenever one of the file's conversations fails (a wrong
  greeting, a server that stops on exit...), where the built-in crowd only
  greets and sends one short name.
The file's long name is 2,000 bytes (the built-in's is 60,000): both lie beyond
a recv(1024), and the file's one-byte-per-segment variant stays a few seconds.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import ROOT, TEST_REPLY_TIMEOUT, reference, server

HELLO_FILE = str(ROOT / "examples" / "protocols" / "hello" / "hello.toml")
SAME_NAME = ("greeting", "hello_reply", "non_ascii_name", "empty_name", "long_name", "exit_closes_connection")
#: built-in check id -> the protocol file's check id that must agree with it.
PAIRS = {
    **{f"conversation::{name}": f"conversation::{name}" for name in SAME_NAME},
    "concurrency::exit_ends_only_its_client": "conversation::exit_ends_only_its_client",
    "framing::coalesced_lines": "framing::hello_reply.coalesced",
    "framing::split_line": "framing::hello_reply.bytewise",
}
CROWD = ("concurrency::simultaneous_greetings", "concurrency::simultaneous_conversations")
GOOD = ["tcp_hello_asyncio.py", "tcp_hello_socketserver.py"]
BUGGY = ["tcp_hello_recv_is_line.py", "tcp_hello_wrong_greeting.py", "tcp_hello_latin1.py",
         "tcp_hello_empty_line_closes.py", "tcp_hello_exit_stops_server.py", "tcp_hello_one_at_a_time.py",
         "seed_001_tcp_hello.py"]
FAILED = ("failed", "error")


#: Servers that spend their time asleep (the seed sleeps 2 s before each reply):
#: their two runs go side by side, which costs the machine nothing.
SLEEPERS = {"seed_001_tcp_hello.py"}


def verdicts(harness, path: str) -> tuple[dict[str, str], dict[str, str]]:
    """(built-in tcp-hello outcomes, protocol-file outcomes) of one server."""
    builtin = ("--protocol", "tcp-hello", "--suite", "conversation", "--suite", "framing",
               "--suite", "concurrency", "--reply-timeout", TEST_REPLY_TIMEOUT, path, "{port}")
    from_file = ("--protocol", HELLO_FILE, "--check", "conversation::*", "--check", "framing::*",
                 "--check", CROWD[1], "--reply-timeout", TEST_REPLY_TIMEOUT, path, "{port}")
    if Path(path).name in SLEEPERS:
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(lambda argv: harness(*argv), (builtin, from_file)))
    else:
        runs = [harness(*builtin), harness(*from_file)]
    return runs[0].outcomes(), runs[1].outcomes()


def disagreements(builtin: dict[str, str], from_file: dict[str, str]) -> list[str]:
    found = []
    for ours, theirs in PAIRS.items():
        if (builtin[ours] in FAILED) != (from_file[theirs] in FAILED):
            found.append(f"{ours}: {builtin[ours]} (built-in) vs {theirs}: {from_file[theirs]} (file)")
    any_conversation_failed = any(o in FAILED for i, o in from_file.items() if i.startswith("conversation::"))
    crowd_should_fail = builtin[CROWD[0]] in FAILED or any_conversation_failed
    if crowd_should_fail != (from_file[CROWD[1]] in FAILED):
        found.append(f"{CROWD[1]}: {from_file[CROWD[1]]} (file), built-in {CROWD[0]}: {builtin[CROWD[0]]}, "
                     f"a file conversation failed: {any_conversation_failed}")
    return found


@pytest.mark.parametrize("path", [reference("tcp_hello.py")] + [server(n) for n in GOOD],
                         ids=["reference"] + GOOD)
def test_good_hello_servers_pass_the_file_and_the_built_in(harness, path):
    builtin, from_file = verdicts(harness, path)
    assert set(builtin.values()) == {"passed"}, builtin
    assert set(from_file.values()) == {"passed"}, from_file
    assert set(PAIRS.values()) | {CROWD[1]} <= set(from_file)


@pytest.mark.parametrize("name", BUGGY)
def test_buggy_hello_servers_get_the_same_verdicts_from_the_file(harness, name):
    builtin, from_file = verdicts(harness, server(name))
    assert any(o in FAILED for o in builtin.values()), f"{name} should fail some built-in check: {builtin}"
    assert not disagreements(builtin, from_file), disagreements(builtin, from_file)


# -- patience: a silence waited once, not once per conversation (harness.protocolfile.wire) ------------
def test_after_a_whole_timeout_without_its_line_the_seed_is_not_waited_for_a_whole_one_again(harness):
    # The seed greets b"Welcome" without a line ending: the first conversation waits the whole reply timeout
    # for the rest of the line, the next one only PATIENCE's cut (0.5 s), and says so.
    run = harness("--protocol", HELLO_FILE, "--check", "conversation::hello_reply", "--check",
                  "conversation::greeting", "--reply-timeout", TEST_REPLY_TIMEOUT, server("seed_001_tcp_hello.py"),
                  "{port}")
    first, second = run.check("conversation::hello_reply"), run.check("conversation::greeting")
    assert run.outcomes() == {"conversation::hello_reply": "failed", "conversation::greeting": "failed"}
    assert "no complete message arrived within 1 s" in first["message"], first["message"]
    assert "no more bytes arrived within 0.5 s (not the full 1 s" in second["message"], second["message"]
    assert second["duration_s"] < 0.8 * float(TEST_REPLY_TIMEOUT), second["duration_s"]


@pytest.mark.parametrize("variant, failing", [((), set()), (("silent-on-empty",), {"conversation::empty_name"})],
                         ids=["slow", "slow-and-silent-once"])
def test_a_slow_correct_reply_gets_its_time_even_after_a_silence(harness, variant, failing):
    # Every reply 0.4 s late: never cut (never a whole-timeout silence); and after the one silence of the
    # buggy variant the cut waits keep four times the slowest reply seen (1.6 s > 1 s: the whole timeout).
    run = harness("--protocol", HELLO_FILE, "--check", "conversation::*", "--reply-timeout", TEST_REPLY_TIMEOUT,
                  server("tcp_hello_slow.py"), "{port}", *variant)
    assert run.ids_with("failed") == failing, run.stdout
    assert run.ids_with("passed") == set(run.outcomes()) - failing, run.stdout


def test_a_forking_server_capped_at_40_children_is_told_about_max_children(harness):
    run = harness("--protocol", HELLO_FILE, "--reply-timeout", TEST_REPLY_TIMEOUT, "--check", CROWD[1],
                  server("tcp_hello_forking_socketserver.py"), "{port}")
    assert run.outcomes() == {CROWD[1]: "failed"}, run.stdout
    message = run.check(CROWD[1])["message"]
    assert "max_children = 40" in message and "own thread" not in message, message
