"""Protocol files (SPEC §6), proven both ways on the key-value example
(examples/protocols/kv): its reference and another correct server pass every
derived check; each buggy server fails exactly the checks aimed at its bug."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, TEST_REPLY_TIMEOUT, server

KV = ROOT / "examples" / "protocols" / "kv"
KV_FILE = str(KV / "kv.toml")
FRAMING = {f"framing::{c}.{p}" for c in ("set_then_get", "unknown_key", "shared_store")
           for p in ("coalesced", "bytewise", "random")}
SHARED_STORE = {"conversation::shared_store", *(f"framing::shared_store.{p}" for p in ("coalesced", "bytewise", "random"))}
UNKNOWN_KEY = {"conversation::unknown_key", *(f"framing::unknown_key.{p}" for p in ("coalesced", "bytewise", "random"))}
SIMULTANEOUS = "concurrency::simultaneous_conversations"

#: server -> the exact set of checks it must fail (nothing else).
EXPECTED_FAILURES = {
    "kv_good_threaded.py": set(),
    "kv_recv_is_message.py": FRAMING,
    "kv_one_at_a_time.py": SHARED_STORE | {SIMULTANEOUS, "concurrency::idle_client_does_not_block",
                                           "concurrency::stalled_client_does_not_block"},
    "kv_global_conn.py": SHARED_STORE | {SIMULTANEOUS},
    "kv_crash_on_reset.py": {"concurrency::survives_abrupt_disconnect"},
    "kv_no_reuseaddr.py": {"shutdown::port_reusable"},
    "kv_quit_stays_open.py": UNKNOWN_KEY | {SIMULTANEOUS},
    "kv_wrong_help.py": UNKNOWN_KEY | {SIMULTANEOUS},
    "kv_leaks_connections.py": {"concurrency::no_descriptor_leak"},
    "kv_spins_on_eof.py": {"concurrency::no_descriptor_leak", "concurrency::idle_without_busy_loop"},
    # Two workers, each held by a connected client: silent clients and the crowd block the rest, and its
    # non-daemon workers keep the process alive after Ctrl+C while clients stay connected.
    "kv_pool_of_two.py": {SIMULTANEOUS, "concurrency::idle_client_does_not_block", "shutdown::sigint_with_clients"},
}


def test_kv_reference_passes_every_derived_check(harness):
    result = harness("--protocol", KV_FILE, "--reply-timeout", TEST_REPLY_TIMEOUT, str(KV / "kv_server.py"), "{port}")
    assert result.returncode == 0, result.stdout + result.stderr
    ids = set(result.outcomes())
    assert {"conversation::set_then_get", "conversation::unknown_key", "conversation::shared_store", SIMULTANEOUS,
            "concurrency::no_descriptor_leak", "shutdown::port_reusable"} | FRAMING <= ids
    assert result.ids_with("passed") == ids
    assert result.report["protocol"] == "kv"


def test_the_blocking_client_checks_wait_only_until_the_server_took_that_client(harness):
    # They waited the whole reply timeout for every server (a QueueState compared with 0); now only until the
    # server has accepted the idle/stalled client and read its bytes. The one-at-a-time server still fails both
    # (EXPECTED_FAILURES above); the correct one passes both without the wait.
    # (A long reply timeout, so that "not the whole timeout" holds however loaded the machine is.)
    checks = ("concurrency::idle_client_does_not_block", "concurrency::stalled_client_does_not_block")
    good = harness("--protocol", KV_FILE, "--reply-timeout", "6", "--check", checks[0], "--check",
                   checks[1], str(KV / "kv_server.py"), "{port}")
    assert good.outcomes() == {check: "passed" for check in checks}, good.stdout
    for check in checks:
        assert good.check(check)["duration_s"] < 3, good.check(check)
    bad = harness("--protocol", KV_FILE, "--reply-timeout", TEST_REPLY_TIMEOUT, "--check", checks[0], "--check",
                  checks[1], server("kv_one_at_a_time.py"), "{port}")
    assert bad.outcomes() == {check: "failed" for check in checks}, bad.stdout


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILURES))
def test_kv_server_fails_exactly_the_checks_aimed_at_its_bug(harness, name):
    result = harness("--protocol", KV_FILE, "--reply-timeout", TEST_REPLY_TIMEOUT, server(name), "{port}")
    failed = result.ids_with("failed") | result.ids_with("error")
    assert failed == EXPECTED_FAILURES[name], result.stdout
    assert result.returncode == (1 if failed else 0)


def test_shared_input_buffer_fails_the_stalled_client_check(harness):
    result = harness("--protocol", KV_FILE, "--reply-timeout", TEST_REPLY_TIMEOUT, server("kv_shared_buffer.py"), "{port}")
    assert result.outcomes()["concurrency::stalled_client_does_not_block"] == "failed"
    assert all(result.outcomes()[c] == "passed" for c in ("conversation::set_then_get", "conversation::shared_store"))


def test_failure_shows_the_conversation_with_the_failing_step_and_first_differing_byte(harness):
    result = harness("--protocol", KV_FILE, "--reply-timeout", TEST_REPLY_TIMEOUT, "--check", "conversation::*",
                     server("kv_wrong_help.py"), "{port}")
    check = result.check("conversation::unknown_key")
    assert check["message"].startswith("conversation 'unknown_key', step 4: the reply differs")
    detail = check["detail"]
    assert ">>  4  expect @reference" in detail
    assert "sent:     step 3 sent b'HELP\\n'" in detail
    assert "expected: b'COMMANDS SET GET DEL HELP QUIT\\n'" in detail
    assert "first difference at byte offset 0" in detail


def test_bytewise_failure_names_its_segmentation(harness):
    result = harness("--protocol", KV_FILE, "--reply-timeout", TEST_REPLY_TIMEOUT, "--check", "framing::set_then_get.*",
                     "--seed", "7", server("kv_recv_is_message.py"), "{port}")
    assert "one byte per segment" in result.check("framing::set_then_get.bytewise")["detail"]
    assert "seed 7; replay with --seed 7" in result.check("framing::set_then_get.random")["detail"]


def test_assignment_file_names_the_protocol_file_relative_to_itself(harness, tmp_path):
    result = harness("--config", str(KV / "harness.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                     "--suite", "conversation", str(KV / "kv_server.py"), "{port}")
    assert result.returncode == 0, result.stderr
    assert set(result.outcomes()) == {"conversation::set_then_get", "conversation::unknown_key",
                                      "conversation::shared_store"}


def protocol_check(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", "protocol", "check", str(path), "--reply-timeout", "1"],
                          capture_output=True, text=True, timeout=240, cwd=str(path.parent))


def test_protocol_check_passes_the_kv_example():
    result = protocol_check(KV / "kv.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the reference server passes every derived check" in result.stdout


def test_protocol_check_reports_a_wrong_expectation_and_a_conversation_that_cannot_rerun(tmp_path):
    shutil.copy(KV / "kv_server.py", tmp_path / "kv_server.py")
    text = (KV / "kv.toml").read_text().replace('{ expect = "VALUE blue" }', '{ expect = "VALUE red" }')
    text += ('\n[[conversation]]\nname = "leaves_a_key"\nsteps = [\n  { send = "GET once{client}" },\n'
             '  { expect-match = "^ERR .+$", example = "ERR no such key" },\n  { send = "SET once{client} 1" },\n'
             '  { expect = "OK" },\n]\n')
    (tmp_path / "kv.toml").write_text(text)
    result = protocol_check(tmp_path / "kv.toml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "conversation 'set_then_get': the reference server fails it" in result.stdout
    assert "conversation 'leaves_a_key': it passes once but not when run again" in result.stdout
    assert "✗ conversation::set_then_get" in result.stdout


CHAT = ROOT / "examples" / "protocols" / "chat"


def test_chat_reference_passes_and_a_silent_leave_fails_the_room_conversation(harness):
    good = harness("--protocol", str(CHAT / "chat.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                   "--suite", "conversation", "--suite", "framing", str(CHAT / "chat_server.py"), "{port}")
    assert good.returncode == 0, good.stdout
    bad = harness("--protocol", str(CHAT / "chat.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                  "--suite", "conversation", server("chat_no_leave_notice.py"), "{port}")
    room = bad.check("conversation::room")
    assert room["outcome"] == "failed"
    assert "step 17 (client 'ann')" in room["message"]
    assert "expected: b'LEFT cat\\n'" in room["detail"]


UDP_HELLO = ROOT / "tests" / "protocols" / "udp_hello.toml"


def test_datagram_protocol_file_both_ways(harness):
    good = harness("--protocol", str(UDP_HELLO), "--reply-timeout", TEST_REPLY_TIMEOUT,
                   str(ROOT / "reference_servers" / "udp_hello.py"), "{port}")
    assert good.returncode == 0, good.stdout
    assert not any(i.startswith("framing::") for i in good.outcomes())  # none for datagrams
    bad = harness("--protocol", str(UDP_HELLO), "--reply-timeout", TEST_REPLY_TIMEOUT,
                  server("udp_hello_stop_on_empty.py"), "{port}")
    assert bad.outcomes()["conversation::greeting"] == "failed"


def test_a_pool_of_two_workers_is_told_by_how_many_silent_clients_stop_it(harness):
    result = harness("--protocol", KV_FILE, "--reply-timeout", TEST_REPLY_TIMEOUT, "--check",
                     "concurrency::idle_client_does_not_block", server("kv_pool_of_two.py"), "{port}")
    message = result.check("concurrency::idle_client_does_not_block")["message"]
    assert message.startswith("while 2 other clients stayed connected and silent (with 1 it was served)"), message
    assert "at most 2 clients at a time" in message


def test_a_slow_serial_udp_server_gets_each_reply_of_a_conversation(harness):
    """Each answer 0.8 s, one after another: the copies its retried datagrams cost are waited for
    and skipped, never read as the answer to the next step (the default 2 s reply timeout)."""
    run = harness("--protocol", str(UDP_HELLO), "--check", "conversation::greeting",
                  server("udp_hello_slow_backend.py"), "{port}")
    assert run.outcomes() == {"conversation::greeting": "passed"}, run.stdout


def test_a_server_killed_by_sigpipe_when_a_client_leaves_before_its_reply_fails_the_reset_check(harness):
    """The classic C crash: SIGPIPE not ignored, a reply written in two writes, a client that closes
    before reading it. The reset check's second client does exactly that."""
    run = harness("--protocol", KV_FILE, "--reply-timeout", TEST_REPLY_TIMEOUT,
                  "--check", "concurrency::survives_abrupt_disconnect", server("kv_dies_of_sigpipe.py"), "{port}")
    assert run.outcomes() == {"concurrency::survives_abrupt_disconnect": "failed"}, run.stdout
    message = run.check("concurrency::survives_abrupt_disconnect")["message"]
    assert message.startswith("the server exited (killed by SIGPIPE) after a client sent its first request and "
                              "closed its connection without reading the reply"), message
    assert "signal(SIGPIPE, SIG_IGN)" in message


def test_a_udp_reply_from_another_port_is_named_in_a_conversation(harness):
    run = harness("--protocol", str(UDP_HELLO), "--reply-timeout", TEST_REPLY_TIMEOUT, "--check",
                  "conversation::greeting", server("udp_hello_replies_from_other_port.py"), "{port}")
    assert run.outcomes() == {"conversation::greeting": "failed"}, run.stdout
    message = run.check("conversation::greeting")["message"]
    assert "the reply came from 127.0.0.1:" in message and "not from the server's port" in message, message


TRIO = ROOT / "tests" / "protocols" / "trio"


def test_limits_grow_with_a_crowd_of_multi_client_conversations(harness):
    """Three clients per conversation: 150 connections at once, 300 threads for a reader-and-writer server
    (blind tester 10: a correct chat server failed, and an instructor's 7-client reference failed its own
    protocol check). The default limits grow with the crowd; limits the user set are kept, and then bite."""
    args = ("--protocol", str(TRIO / "trio.toml"), "--suite", "concurrency", "--reply-timeout", "5")
    grown = harness(*args, str(TRIO / "writer_threads.py"), "{port}")
    assert grown.ids_with("failed") == set(), grown.stdout
    kept = harness(*args, "--memory-limit", "1500", "--process-limit", "200", str(TRIO / "writer_threads.py"),
                   "{port}")
    assert "concurrency::simultaneous_conversations" in kept.ids_with("failed"), kept.stdout


def test_for_crowd_grows_only_the_default_limits():
    from harness.system.limits import Limits, for_crowd

    assert for_crowd(Limits(), 50) == Limits()
    grown = for_crowd(Limits(), 150)
    assert grown.processes == 364 and grown.open_files == 1024 and grown.stack_reserve_mib == 1600
    assert grown.memory_mib == 2048  # the memory cgroup's limit (real use) is not grown, only the reservation
    mine = for_crowd(Limits(processes=100, memory_mib=512, open_files=64), 600)
    assert (mine.processes, mine.memory_mib, mine.open_files, mine.stack_reserve_mib) == (100, 512, 64, 0)


def test_a_crowd_failure_is_marked_on_the_failing_copys_connection(harness):
    """The wire log marked the 'first difference' on the latest connection with a reply (another copy's,
    e.g. 'OK sc50 deleted' for a failure of copy c04). It is marked on the failing copy's own reply."""
    counter = ROOT / "tests" / "protocols" / "counter"
    good = harness("--protocol", str(counter / "counter.toml"), "--suite", "concurrency",
                   str(counter / "per_name.py"), "{port}")
    assert good.ids_with("failed") == set(), good.stdout
    run = harness("--protocol", str(counter / "counter.toml"), "--check", "concurrency::simultaneous_conversations",
                  str(counter / "global_count.py"), "{port}")
    failure = run.check("concurrency::simultaneous_conversations")
    assert failure["outcome"] == "failed" and failure.get("received"), failure
    wire = failure["wire"]
    marked = wire["events"][wire["verdict"]["event"]]
    assert marked["conn"] == wire["verdict"]["conn"] and marked["kind"] == "recv", marked
    received = failure["received"].encode() if not failure["received"].startswith("hex:") else \
        bytes.fromhex(failure["received"][4:].replace(" ", ""))
    head = bytes.fromhex(marked["head"])
    assert head and head == received[:len(head)], (marked, failure["received"])  # its own label, its own count
    # The connections are named by their copy's label, as the message names the copy.
    label = next(c["label"] for c in wire["connections"] if c["id"] == marked["conn"])
    assert f"copy {label}:" in failure["message"], (label, failure["message"][:200])


def test_a_crowd_failure_of_a_conversation_without_client_names_it(harness, tmp_path):
    """The copies of a conversation that never uses {client} share every name: a correct server fails the crowd
    for the file's reason, and the failure says so (blind tester 10); with {client} the same server passes
    (test_a_crowd_failure_is_marked_on_the_failing_copys_connection)."""
    counter = ROOT / "tests" / "protocols" / "counter"
    shared = tmp_path / "shared.toml"
    shared.write_text((counter / "counter.toml").read_text().replace("n{client}", "shared"))
    run = harness("--protocol", str(shared), "--check", "concurrency::simultaneous_conversations",
                  str(counter / "per_name.py"), "{port}")
    message = run.check("concurrency::simultaneous_conversations")["message"]
    assert "conversation 'count_twice' never uses {client}, so its copies" in message, message


def test_protocol_check_suggests_the_files_byte_order_when_the_reference_reads_the_other(tmp_path):
    """The reference is the instructor's: when it fails on byte order, the file may be what is wrong (blind
    tester 10 wrote length-format = "I", the machine's order, for a big-endian reference)."""
    shutil.copy(ROOT / "tests" / "servers" / "tlv_little_endian.py", tmp_path / "ref.py")
    text = (ROOT / "tests" / "protocols" / "tlv_big_endian.toml").read_text()
    (tmp_path / "tlv.toml").write_text(text + '\n[reference]\ncommand = ["ref.py", "{port}"]\n')
    result = protocol_check(tmp_path / "tlv.toml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "if it is right, the file's length-format '!H' is the other byte order — write length-format = \"<H\"" \
        in result.stdout, result.stdout


def test_protocol_check_tells_a_conversation_that_fails_only_sometimes():
    """blind tester 10: a step right after another client's close is a race, and `protocol check` called it the
    reference's failure. A conversation that fails and then passes when run again is said to fail only sometimes."""
    result = protocol_check(ROOT / "tests" / "protocols" / "flaky" / "flaky.toml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "conversation 'ping': it fails only sometimes (it passed 1 of 2 runs again right after): a step " \
           "depends on timing" in result.stdout, result.stdout


def test_the_race_hint_names_another_clients_close_just_before():
    from harness.protocolfile.checkfile import race_hint
    from harness.protocolfile.loader import load_protocol_file

    path = ROOT / "tests" / "protocols" / "flaky" / "race.toml"
    protocol = load_protocol_file(path)
    racy, calm = protocol.conversations
    assert "step 5 comes right after client 's2' closed (step 4)" in race_hint(racy, racy.steps[4])
    assert race_hint(calm, calm.steps[3]) == ""  # no client closed before it


def test_a_header_counting_characters_is_named_and_marked_at_its_byte(harness):
    """The reply's header says 12 for 16 bytes: the hint names characters, and the wire log marks byte 3 of the
    chunk (the header's last byte), not byte 7 (it counted back from the chunk's end, past the 4 bytes left)."""
    frames = ROOT / "tests" / "protocols" / "frames"
    run = harness("--protocol", str(frames / "echo_text.toml"), "--check", "conversation::accents",
                  str(frames / "len_in_characters.py"), "{port}")
    failure = run.check("conversation::accents")
    assert "the payload's length in characters; in bytes (UTF-8) it is 16" in failure["message"], failure["message"]
    verdict = failure["wire"]["verdict"]
    assert (verdict["reply_offset"], verdict["chunk_offset"]) == (3, 3), verdict
