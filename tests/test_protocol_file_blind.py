"""Regressions found by the blind tester (protocol files written from SPEC §6
alone, /work/wt/blind): each proven both ways where it is a check."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, TEST_REPLY_TIMEOUT, server

KV = ROOT / "examples" / "protocols" / "kv"
KV_FILE = str(KV / "kv.toml")
BLIND = ROOT / "tests" / "protocols" / "blind"


# -- B4: `-n N` with a protocol file ------------------------------------------------
def test_protocol_file_suite_imports_alone():
    """The xdist controller names results by importing only this suite module: it must import on its own."""
    result = subprocess.run([sys.executable, "-c", "import harness.suites.test_protocol_file"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_parallel_run_with_a_protocol_file_reports_every_check(harness):
    result = harness("-n", "2", "--protocol", KV_FILE, "--reply-timeout", TEST_REPLY_TIMEOUT,
                     "--suite", "concurrency", str(KV / "kv_server.py"), "{port}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "INTERNALERROR" not in result.stderr
    assert {"concurrency::idle_client_does_not_block", "concurrency::simultaneous_conversations"} <= \
        result.ids_with("passed")


# -- B3: a missing reference server is the protocol file's problem, not the student's ----------
def test_missing_reference_errors_only_the_checks_that_need_it(harness):
    result = harness("--protocol", str(BLIND / "ref_missing.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                     "--suite", "conversation", str(BLIND / "pubsub_threads.py"), "{port}")
    outcomes = result.outcomes()
    assert outcomes == {"conversation::publish": "passed", "conversation::help": "error",
                        "conversation::leave": "passed"}, result.stdout
    message = result.check("conversation::help")["message"]
    assert message.startswith("not run: this check needs the @reference answers of ref_missing.toml")
    assert "'missing_ref.py'" in message and "not of the server under test" in message
    assert result.returncode == 1


def test_missing_reference_still_fails_a_buggy_server_on_the_other_conversations(harness):
    result = harness("--protocol", str(BLIND / "ref_missing.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                     "--suite", "conversation", str(BLIND / "pubsub_bug_broadcast.py"), "{port}")
    assert result.outcomes()["conversation::publish"] == "failed", result.stdout
    assert result.outcomes()["conversation::help"] == "error"


def test_missing_reference_of_a_recommended_conversation_does_not_stop_the_required_crowd(harness):
    """A student's copy of the file, without the instructor's reference server: the crowd runs only the
    required conversations, which need no @reference answer, so it runs (it ended as an error)."""
    result = harness("--protocol", str(BLIND / "ref_missing_recommended.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                     "--check", "concurrency::simultaneous_conversations", "--check", "conversation::help",
                     str(BLIND / "pubsub_threads.py"), "{port}")
    assert result.outcomes() == {"concurrency::simultaneous_conversations": "passed",
                                 "conversation::help": "error"}, result.stdout


# -- B2: an @reference answer that depends on the label ------------------------------------
def protocol_check(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", "protocol", "check", str(path), "--reply-timeout", "1"],
                          capture_output=True, text=True, timeout=240, cwd=str(path.parent))


def test_protocol_check_reports_a_reference_answer_that_depends_on_the_label(tmp_path):
    result = protocol_check(BLIND / "label_reference.toml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("conversation 'echo', step 2: the reference answered b'hic00', then b'hic01' with label c01"
            in result.stdout)
    assert "@reference answers are stable" not in result.stdout


def test_protocol_check_accepts_a_reference_answer_without_the_label(tmp_path):
    (tmp_path / "counter_srv.py").write_text((BLIND / "counter_srv.py").read_text())
    text = (BLIND / "label_reference.toml").read_text().replace("ECHO hi{client}", "ECHO hi")
    (tmp_path / "label_free.toml").write_text(text)
    result = protocol_check(tmp_path / "label_free.toml")
    assert "@reference answers are stable" in result.stdout, result.stdout + result.stderr
    assert "✗" not in result.stdout
    assert "report: " not in result.stdout  # the derived run's report is deleted on return: not named


# -- B1: `.bytewise` of a large send is bounded ---------------------------------------------
def test_bytewise_plan_of_a_long_send_is_bounded_and_splits_its_edges_byte_by_byte():
    from harness.clients.segmentation import BYTEWISE_EDGE, BYTEWISE_LIMIT, one_byte_per_segment_bounded

    assert one_byte_per_segment_bounded(BYTEWISE_LIMIT).sizes() == [1] * BYTEWISE_LIMIT
    sizes = one_byte_per_segment_bounded(70_004).sizes()
    assert len(sizes) == BYTEWISE_LIMIT and sum(sizes) == 70_004
    assert sizes[:BYTEWISE_EDGE] == [1] * BYTEWISE_EDGE  # the length header and the message's start
    assert sizes[-BYTEWISE_EDGE:] == [1] * BYTEWISE_EDGE  # the message's end (a line ending)


def big_frame_file(tmp_path, size: int = 10_000):
    """rev.toml's shape with one frame of `size` bytes (one byte per 2 ms would take 2 s per 1,000 bytes)."""
    for name in ("rev_ref.py", "rev_bug_recvn.py"):
        (tmp_path / name).write_text((BLIND / name).read_text())
    text = ('name = "rev"\ntransport = "tcp"\nframing = "length"\n\n[[conversation]]\nname = "big_frame"\n'
            f'steps = [ {{ send = "{"ab" * (size // 2)}" }}, {{ expect = "{"ba" * (size // 2)}" }} ]\n')
    (tmp_path / "big.toml").write_text(text)
    return str(tmp_path / "big.toml")


def test_bytewise_of_a_long_send_fits_the_check_timeout_and_still_catches_a_recv_without_loop(harness, tmp_path):
    protocol = big_frame_file(tmp_path)
    args = ("--protocol", protocol, "--reply-timeout", TEST_REPLY_TIMEOUT, "--check-timeout", "15",
            "--check", "framing::big_frame.bytewise")
    good = harness(*args, str(tmp_path / "rev_ref.py"), "{port}")
    assert good.outcomes() == {"framing::big_frame.bytewise": "passed"}, good.stdout
    bad = harness(*args, str(tmp_path / "rev_bug_recvn.py"), "{port}")
    assert bad.outcomes() == {"framing::big_frame.bytewise": "failed"}, bad.stdout
    assert "first and last 64 bytes" in bad.check("framing::big_frame.bytewise")["detail"]


# -- M1: a conversation that fails alone is not a concurrency problem -----------------------
CONCURRENCY = ("concurrency::simultaneous_conversations", "concurrency::idle_client_does_not_block",
               "concurrency::stalled_client_does_not_block", "concurrency::survives_abrupt_disconnect",
               "concurrency::no_descriptor_leak", "concurrency::idle_without_busy_loop")


def test_concurrency_checks_say_the_conversation_fails_alone_without_unrelated_hints(harness):
    """The crowd runs every required conversation: reverse_text fails alone, and it says so. The checks of
    one conversation run the first that passes alone (reverse_bytes: blind 20 F4), and pass."""
    result = harness("--protocol", str(BLIND / "rev.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                     "--suite", "concurrency", str(BLIND / "rev_bug_zero.py"), "{port}")
    message = result.check(CONCURRENCY[0])["message"]
    assert message.startswith("the conversation 'reverse_text' already fails when run alone"), message
    assert "see conversation::reverse_text" in message
    for unrelated in ("one client at a time", "ConnectionResetError", "copies waited"):
        assert unrelated not in message, message
    assert {check: result.outcomes()[check] for check in CONCURRENCY[1:]} == dict.fromkeys(CONCURRENCY[1:], "passed")


def test_a_server_serving_one_client_at_a_time_still_gets_the_blocking_hint(harness):
    result = harness("--protocol", KV_FILE, "--reply-timeout", TEST_REPLY_TIMEOUT, "--check",
                     "concurrency::idle_client_does_not_block", server("kv_one_at_a_time.py"), "{port}")
    message = result.check("concurrency::idle_client_does_not_block")["message"]
    assert message.startswith("while another client stayed connected and silent")
    assert "serve one client at a time" in message and "fails when run alone" not in message


# -- M4: a crowd that cannot connect to a one-at-a-time server ------------------------------
def test_crowd_that_cannot_connect_blames_one_client_at_a_time_not_the_accept_queue(harness):
    args = ("--protocol", str(BLIND / "calc.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
            "--check", "concurrency::simultaneous_conversations")
    good = harness(*args, str(BLIND / "calc_ref.py"), "{port}")
    assert good.outcomes() == {"concurrency::simultaneous_conversations": "passed"}, good.stdout
    bad = harness(*args, str(BLIND / "calc_bug_serial.py"), "{port}")
    message = bad.check("concurrency::simultaneous_conversations")["message"]
    assert "stopped accepting new connections while it served the first ones" in message, message
    assert "it serves one client at a time" in message


# -- M2: framing failures lead with the likely cause ----------------------------------------
def test_framing_failures_of_a_server_that_takes_one_recv_as_one_message_lead_with_that(harness):
    args = ("--protocol", str(BLIND / "calc.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT, "--check",
            "framing::arith.*")
    good = harness(*args, str(BLIND / "calc_ref.py"), "{port}")
    assert set(good.outcomes().values()) == {"passed"}, good.stdout
    bad = harness(*args, str(BLIND / "calc_bug_onerecv.py"), "{port}")
    assert bad.check("framing::arith.coalesced")["message"].startswith(
        "the server does not answer messages that arrive together in one segment as it answers them one by one: "
        "it treats one recv() as one message")
    for plan in ("bytewise", "random"):
        message = bad.check(f"framing::arith.{plan}")["message"]
        assert message.startswith("the server fails when a message arrives"), message
        assert "Keep receiving until the line ending has arrived" in message


def test_a_recv_without_loop_on_a_length_header_leads_with_the_pieces(harness):
    bad = harness("--protocol", str(BLIND / "rev.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT, "--check",
                  "framing::reverse_text.bytewise", str(BLIND / "rev_bug_recvn.py"), "{port}")
    message = bad.check("framing::reverse_text.bytewise")["message"]
    assert message.startswith("the server fails when a message arrives in pieces (one byte per segment)"), message
    assert "the whole header, then as many bytes as it says" in message


def test_framing_failure_of_a_conversation_that_fails_as_written_blames_no_cuts(harness):
    bad = harness("--protocol", str(BLIND / "rev.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT, "--check",
                  "framing::reverse_text.*", str(BLIND / "rev_bug_zero.py"), "{port}")
    for plan in ("coalesced", "bytewise", "random"):
        message = bad.check(f"framing::reverse_text.{plan}")["message"]
        # conversation::reverse_text did not run here: the conversation was run again, and that is said.
        assert message.startswith("the conversation 'reverse_text' fails as written too, so the cuts are not the "
                                  "cause (run again as written just now"), message


def test_a_conversation_known_to_fail_as_written_is_not_run_again_by_its_framing_checks(harness):
    # conversation::reverse_text failed as written in this run: the framing checks say so without a second
    # run (FAILED_AS_WRITTEN in suites/test_protocol_file.py); the explanations are the same as with it.
    bad = harness("--protocol", str(BLIND / "rev.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT, "--check",
                  "conversation::reverse_text", "--check", "framing::reverse_text.*",
                  str(BLIND / "rev_bug_zero.py"), "{port}")
    assert bad.outcomes()["conversation::reverse_text"] == "failed"
    for plan in ("coalesced", "bytewise", "random"):
        message = bad.check(f"framing::reverse_text.{plan}")["message"]
        assert message.startswith("the conversation 'reverse_text' fails as written too, so the cuts are not the "
                                  "cause (see conversation::reverse_text)"), message
    # The seed greets without a line ending: each run of the conversation waits a whole reply timeout (1 s) for
    # the rest of the line. A framing check now waits for it once (its cut run), not twice (2.0 s before).
    seed = harness("--protocol", str(ROOT / "examples" / "protocols" / "hello" / "hello.toml"), "--reply-timeout",
                   TEST_REPLY_TIMEOUT, "--check", "conversation::hello_reply", "--check", "framing::hello_reply.*",
                   server("seed_001_tcp_hello.py"), "{port}")
    assert set(seed.outcomes().values()) == {"failed"}, seed.stdout
    for plan in ("coalesced", "bytewise", "random"):
        framing = seed.check(f"framing::hello_reply.{plan}")
        assert "fails as written too" in framing["message"], framing["message"]
        assert framing["duration_s"] < 1.7 * float(TEST_REPLY_TIMEOUT), framing["duration_s"]


def test_a_conversation_that_passed_as_written_still_lets_its_framing_failures_blame_the_cuts(harness):
    # The other way: conversation::arith passed, so a failing framing check runs it as written again and
    # leads with the cuts, as without conversation:: in the run.
    bad = harness("--protocol", str(BLIND / "calc.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT, "--check",
                  "conversation::arith", "--check", "framing::arith.*", str(BLIND / "calc_bug_onerecv.py"), "{port}")
    assert bad.outcomes()["conversation::arith"] == "passed", bad.stdout
    assert bad.check("framing::arith.coalesced")["message"].startswith(
        "the server does not answer messages that arrive together in one segment as it answers them one by one")


def test_udp_reply_cut_after_a_long_request_blames_a_small_recvfrom_and_marks_the_request(harness):
    args = ("--protocol", str(BLIND / "reg.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT, "--check",
            "conversation::long_address")
    good = harness(*args, str(BLIND / "reg_ref.py"), "{port}")
    assert good.outcomes() == {"conversation::long_address": "passed"}, good.stdout
    bad = harness(*args, str(BLIND / "reg_bug_small.py"), "{port}")
    check = bad.check("conversation::long_address")
    assert check["message"].startswith("conversation 'long_address', step 1: the server likely cut this "
                                       "1511-byte datagram"), check["message"]
    assert "use recvfrom(65535)" in check["message"]
    assert ">>  1  send" in check["detail"] and "<<  4  expect" in check["detail"]


# -- M5/M6: steps shown as written, long ones elided -------------------------------------------
def test_steps_show_patterns_as_written_and_elide_long_bytes():
    from harness.protocolfile.model import MATCH, SEND, Step

    assert Step(1, "client", MATCH, pattern=r"^ERR \d+$").shown() == r"expect-match '^ERR \d+$'"
    long_send = Step(2, "client", SEND, text="x" * 1500).shown()
    assert len(long_send) < 120 and "(1500 bytes)" in long_send
    long_hex = Step(3, "client", SEND, raw=bytes(range(256)) * 4).shown()
    assert len(long_hex) < 120 and "(1024 bytes)" in long_hex


def test_list_shows_a_regex_without_doubled_backslashes(tmp_path):
    (tmp_path / "p.toml").write_text('name = "p"\ntransport = "tcp"\nframing = "line"\n[[conversation]]\n'
                                     'name = "c"\nsteps = [{ send = "X" }, { expect-match = \'^ERR \\d+$\', '
                                     'example = "ERR 1" }]\n')
    result = subprocess.run([sys.executable, "-m", "harness", "list", "--protocol", str(tmp_path / "p.toml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert r"expect-match '^ERR \d+$'" in result.stdout
    assert "\\\\d" not in result.stdout


# -- M3: "Address already in use" for a server that binds the port it is given -------------
def test_startup_advice_for_a_taken_port_tells_hard_coding_only_without_port():
    from harness.server.startup_advice import startup_advice

    tail = "OSError: [Errno 98] Address already in use"
    assert "instead of hard-coding it" in startup_advice(tail, port_given=False)
    given = startup_advice(tail, port_given=True)
    assert "hard-coding" not in given and "SO_REUSEADDR" in given


def test_port_reusable_failure_does_not_tell_a_server_using_port_to_stop_hard_coding(harness):
    args = ("--protocol", str(BLIND / "calc.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT, "--check",
            "shutdown::port_reusable")
    bad = harness(*args, str(BLIND / "calc_bug_noreuse.py"), "{port}")
    check = bad.check("shutdown::port_reusable")
    assert check["outcome"] == "failed"
    shown = check["message"] + (check.get("detail") or "")
    assert "SO_REUSEADDR" in shown and "hard-coding" not in shown, shown


# -- minor: the same lines shown once -------------------------------------------------------
def test_traceback_warning_shows_the_traceback_once(harness):
    run = harness("--suite", "shutdown", "-k", "no_traceback", server("double_fork_daemon.py"), "{port}")
    check = run.check("shutdown::no_traceback")
    assert "KeyboardInterrupt" in check["detail"]
    assert not check.get("server_output"), check.get("server_output")
    assert run.stdout.count("conn, _ = sk.accept()") == 1, run.stdout


def test_a_server_dying_of_a_reset_is_said_to_have_exited_once(harness):
    run = harness("--protocol", str(BLIND / "calc.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT, "--check",
                  "concurrency::survives_abrupt_disconnect", str(BLIND / "calc_bug_rst.py"), "{port}")
    message = run.check("concurrency::survives_abrupt_disconnect")["message"]
    assert message.startswith("the server exited (exit code 1) after a client vanished with a reset"), message
    assert message.count("exited") == 1


def test_protocol_check_counts_in_the_singular(tmp_path):
    (tmp_path / "one.toml").write_text('name = "one"\ntransport = "tcp"\nframing = "line"\n[[conversation]]\n'
                                       'name = "c"\nsteps = [{ send = "X" }, { expect-match = \'^Y$\', '
                                       'example = "Y" }]\n')
    result = protocol_check(tmp_path / "one.toml")
    assert result.returncode == 0, result.stderr
    assert "1 conversation, 1 expect-match pattern matching its example" in result.stdout


def test_list_says_plainly_which_conversation_each_copy_runs():
    result = subprocess.run([sys.executable, "-m", "harness", "list", "--protocol", KV_FILE],
                            capture_output=True, text=True, timeout=60)
    assert "c01 runs the first required conversation, c02 the second" in result.stdout
    assert "c04 'set_then_get'" in result.stdout  # three conversations: the fourth copy starts over


def test_udp_shutdown_checks_do_not_say_clients_are_connected():
    result = subprocess.run([sys.executable, "-m", "harness", "list", "--protocol",
                             str(ROOT / "tests" / "protocols" / "udp_hello.toml")],
                            capture_output=True, text=True, timeout=60)
    assert "shutdown::sigint_with_clients" in result.stdout
    assert "clients are connected" not in result.stdout


def test_the_framing_rerun_starts_after_the_failed_attempt_has_left(harness):
    """Blind 15: the rerun as written began while the cut attempt's client still held a lock (its connection
    open), got BUSY, and told a recv-as-message server that the cuts were not the cause, quoting the cut
    attempt's step."""
    args = ("--protocol", str(BLIND / "lock.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT, "--check", "framing::*")
    good = harness(*args, str(BLIND / "lock_ref.py"), "{port}")
    assert good.outcomes() == {"framing::hold.bytewise": "passed", "framing::hold.random": "passed"}, good.stdout
    bad = harness(*args, str(BLIND / "lock_bug_recv_after_first.py"), "{port}")
    for plan in ("bytewise", "random"):
        message = bad.check(f"framing::hold.{plan}")["message"]
        assert message.startswith("the server fails when a message arrives"), message
        assert "Keep receiving until the line ending has arrived — conversation 'hold', step 4:" in message


# -- a server that daemonizes at its start ----------------------------------------------------------
DAEMONIZE = """import os, runpy, sys
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
HELP = '\n[[conversation]]\nname = "help"\ntier = "recommended"\nsteps = [{ send = "HELP" }, { expect = "usage" }]\n'


def test_a_daemon_is_judged_by_its_tree_not_by_its_exited_first_process(harness, tmp_path):
    """A double fork leaves the first process exited from the start: the reset check said the server died
    of the reset, and a recommended reply that differed was made a failure for "the server died"."""
    (tmp_path / "calc_ref.py").write_bytes((BLIND / "calc_ref.py").read_bytes())
    (tmp_path / "daemon.py").write_text(DAEMONIZE)
    protocol = tmp_path / "calc.toml"
    protocol.write_text((BLIND / "calc.toml").read_text().replace('[reference]\ncommand = ["calc_ref.py", "{port}"]', "")
                        + HELP)
    checks = ("concurrency::survives_abrupt_disconnect", "conversation::help")
    run = harness("--protocol", str(protocol), "--reply-timeout", TEST_REPLY_TIMEOUT, *_checks(checks),
                  str(tmp_path / "daemon.py"), "calc_ref.py", "{port}")
    assert run.outcomes() == {checks[0]: "passed", checks[1]: "warning"}, run.stdout
    assert "exited" not in run.check(checks[1])["message"], run.check(checks[1])["message"]


def _checks(ids: tuple[str, ...]) -> list[str]:
    return [arg for check in ids for arg in ("--check", check)]


def test_a_framing_failure_is_marked_on_the_cut_attempt_not_on_the_rerun_as_written(harness):
    """Blind 20 F1: the ✗ fell on the rerun's correct reply (the latest connection), the failure's own
    connection lost when the message was restated."""
    run = harness("--protocol", str(BLIND / "calc.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT, "--check",
                  "framing::arith.coalesced", str(BLIND / "calc_bug_onerecv.py"), "{port}")
    wire = run.check("framing::arith.coalesced")["wire"]
    labels = {c["id"]: c["label"] for c in wire["connections"]}
    assert labels[wire["verdict"]["conn"]] == "client 1", wire
    assert "rerun" in labels.values(), labels


def test_a_server_that_closes_after_one_reply_is_told_to_keep_the_connection(harness):
    """Blind 20 F12: "nothing arrived: the server closed the connection", and no word on the cause."""
    run = harness("--protocol", str(BLIND / "calc.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                  "--check", "conversation::arith", str(BLIND / "calc_bug_oneshot.py"), "{port}")
    message = run.check("conversation::arith")["message"]
    assert "step 4: nothing arrived: the server closed the connection" in message, message
    assert "it serves one request per connection" in message, message


def test_concurrency_checks_use_a_conversation_that_passes_alone_when_the_first_does_not(harness):
    """Blind 20 F4: one wrong reply in the first conversation failed every concurrency check ("already fails
    when run alone"), though the server served its other conversations concurrently."""
    checks = ("conversation::arith", "concurrency::idle_client_does_not_block",
              "concurrency::stalled_client_does_not_block")
    run = harness("--protocol", str(BLIND / "calc.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT, *_checks(checks),
                  str(BLIND / "calc_bug_mul.py"), "{port}")
    assert run.outcomes() == {checks[0]: "failed", checks[1]: "passed", checks[2]: "passed"}, run.stdout
    serial = harness("--protocol", str(BLIND / "calc.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                     "--check", checks[1], str(BLIND / "calc_bug_serial.py"), "{port}")
    assert serial.outcomes() == {checks[1]: "failed"}, serial.stdout  # a one-at-a-time server still fails
