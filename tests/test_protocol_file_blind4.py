"""Regressions found by the fourth blind tester (/work/blind4/REPORT.md,
"PROBLEMS"): each proven both ways where it is a check."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, TEST_REPLY_TIMEOUT, server
from harness.protocolfile.loader import ProtocolFileError, load_protocol_file

BLIND4 = ROOT / "tests" / "protocols" / "blind4"
CONCURRENCY = ("concurrency::simultaneous_conversations", "concurrency::idle_client_does_not_block",
               "concurrency::stalled_client_does_not_block", "concurrency::survives_abrupt_disconnect",
               "concurrency::no_descriptor_leak", "concurrency::idle_without_busy_loop")
GOOD_HEAD = 'name = "p"\ntransport = "tcp"\nframing = "line"\n'


def write(tmp_path: Path, text: str, name: str = "proto.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ProtocolFileError) as error:
        load_protocol_file(path)
    message = str(error.value)
    assert message.startswith(str(path)) and "\n" not in message, message
    return message


# -- 1: a recommended conversation's failure never fails a required check ----------------------
def test_a_failing_recommended_conversation_listed_first_fails_no_required_check(harness):
    result = harness("--protocol", str(BLIND4 / "kv_recommended_first.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                     "--suite", "conversation", "--suite", "concurrency", server("kv_wrong_help.py"), "{port}")
    outcomes = result.outcomes()
    assert outcomes["conversation::help"] == "warning", result.stdout
    assert {check: outcomes[check] for check in CONCURRENCY} == {check: "passed" for check in CONCURRENCY}, \
        result.stdout
    assert result.returncode == 0, result.stdout


def test_a_server_that_dies_in_a_recommended_conversation_fails_it(harness):
    """A recommended reply may differ (a warning, above); a server that dies on the input is a failure
    (blind tester 10: a crash hid behind a warning and exit 0)."""
    result = harness("--protocol", str(BLIND4 / "kv_recommended_first.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                     "--check", "conversation::help", server("kv_dies_on_help.py"), "{port}")
    assert result.outcomes() == {"conversation::help": "failed"}, result.stdout
    assert result.check("conversation::help")["message"].startswith("the server died during this recommended check")
    assert result.returncode == 1


def test_the_required_checks_still_run_the_required_conversation(harness, tmp_path):
    # The same file, with `help` required: the crowd, which runs every required conversation, now fails; the
    # checks of one conversation run the first required one that passes alone (blind 20 F4), set_then_get.
    text = (BLIND4 / "kv_recommended_first.toml").read_text().replace('tier = "recommended"\n', "")
    path = write(tmp_path, text)
    result = harness("--protocol", str(path), "--reply-timeout", TEST_REPLY_TIMEOUT, "--check", CONCURRENCY[0],
                     "--check", CONCURRENCY[1], server("kv_wrong_help.py"), "{port}")
    assert result.outcomes() == {CONCURRENCY[0]: "failed", CONCURRENCY[1]: "passed"}, result.stdout
    assert "the conversation 'help' already fails when run alone" in result.check(CONCURRENCY[0])["message"]


def test_a_file_with_no_required_conversation_is_a_bad_file(tmp_path):
    text = GOOD_HEAD + '[[conversation]]\nname = "c1"\ntier = "recommended"\nsteps = [{ send = "a" }]\n'
    assert "make at least one required" in load_error(tmp_path, text)


# -- 2, 10: `harness init PROTO.toml` ---------------------------------------------------------
def init(*args: str, cwd: Path):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "harness", "init", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


SLOW_FILE = GOOD_HEAD + 'reply-timeout = 4.0\n[[conversation]]\nname = "c1"\nsteps = [{ send = "a" }, { expect = "b" }]\n'


def test_init_does_not_override_the_protocol_files_reply_timeout(tmp_path):
    import tomllib

    from harness.assignment import load_assignment

    write(tmp_path, SLOW_FILE, "slow.toml")
    result = init("slow.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "harness.toml").read_text()
    assert "reply-timeout" not in tomllib.loads(text)
    assert "# reply-timeout = 4.0" in text and "the protocol file sets it" in text
    assert "reply-timeout" not in load_assignment(tmp_path / "harness.toml").options


def test_init_keeps_the_default_reply_timeout_for_a_file_that_sets_none(tmp_path):
    import tomllib

    write(tmp_path, SLOW_FILE.replace("reply-timeout = 4.0\n", ""), "plain.toml")
    assert init("plain.toml", cwd=tmp_path).returncode == 0
    assert tomllib.loads((tmp_path / "harness.toml").read_text())["reply-timeout"] == 2.0


def test_init_takes_the_protocol_path_from_the_current_directory_and_writes_it_relative_to_harness_toml(tmp_path):
    import tomllib

    (tmp_path / "course").mkdir()
    write(tmp_path / "course", SLOW_FILE, "slow.toml")
    result = init("course/slow.toml", "--dir", "course", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert tomllib.loads((tmp_path / "course" / "harness.toml").read_text())["protocol"] == "slow.toml"
    result = init(str(tmp_path / "course" / "slow.toml"), "--dir", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert tomllib.loads((tmp_path / "out" / "harness.toml").read_text())["protocol"] == "../course/slow.toml"


def test_init_with_a_missing_protocol_file_names_it_as_given_and_the_right_doc(tmp_path):
    result = init("course/nope.toml", "--dir", "course", cwd=tmp_path)
    assert result.returncode == 2
    assert "protocol file not found: 'course/nope.toml'" in result.stderr
    assert "docs/protocol-files.md" in result.stderr


# -- 3: waits the OS cannot express and messages the framing cannot carry are the file's errors -------------
def one_step(step: str, head: str = GOOD_HEAD) -> str:
    return head + f'[[conversation]]\nname = "a"\nsteps = [{{ send = "x" }}, {step}]\n'


LENGTH_B = 'name = "p"\ntransport = "tcp"\nframing = "length"\nlength-format = "{}"\n'
UDP_HEAD = 'name = "p"\ntransport = "udp"\nframing = "datagram"\n'
UNREPRESENTABLE = [
    (one_step('{ expect = "y", timeout = nan }'), ["conversation 'a', step 2", "key 'timeout'", "finite", "got nan"]),
    (one_step('{ expect = "y", timeout = inf }'), ["step 2", "at most 3600", "got inf"]),
    (one_step('{ expect = "y", timeout = 1e9 }'), ["step 2", "at most 3600"]),
    (one_step('{ expect-nothing = 10000000 }'), ["step 2", "'expect-nothing'", "at most 3600"]),
    (one_step('{ expect = "y", timeout = true }'), ["step 2", "got true"]),
    (GOOD_HEAD + 'reply-timeout = inf\n' + one_step('{ expect = "y" }', ""), ["key 'reply-timeout'", "got inf"]),
    (one_step('{ send-hex = "' + "41" * 300 + '" }', LENGTH_B.format("!B")),
     ["step 2", "a 300-byte message cannot be sent", "'!B'", "at most 255 bytes"]),
    (one_step('{ send = "' + "x" * 200 + '" }', LENGTH_B.format("!b")), ["step 2", "at most 127 bytes"]),
    (one_step('{ expect = "' + "x" * 300 + '" }', LENGTH_B.format("!B")), ["step 2", "can never arrive"]),
    (one_step('{ send = "' + "x" * 65508 + '" }', UDP_HEAD), ["step 2", "a UDP datagram carries at most 65507"]),
]


@pytest.mark.parametrize("text, fragments", UNREPRESENTABLE)
def test_waits_and_messages_that_cannot_be_made_are_rejected_at_load(tmp_path, text, fragments):
    message = load_error(tmp_path, text)
    for fragment in fragments:
        assert fragment in message, message


def test_the_largest_wait_and_frame_are_accepted(tmp_path):
    load_protocol_file(write(tmp_path, one_step('{ expect = "y", timeout = 3600 }'), "a.toml"))
    load_protocol_file(write(tmp_path, one_step('{ send-hex = "' + "41" * 255 + '" }', LENGTH_B.format("!B")), "b.toml"))


# -- 6: steps that can never run, and placeholders that are typos ------------------------------------------------
def steps(*items: str, clients: str = "") -> str:
    return GOOD_HEAD + f'[[conversation]]\nname = "a"\n{clients}steps = [{", ".join(items)}]\n'


CONTRADICTORY = [
    (steps('{ send = "x" }', '{ expect-close = true }', '{ expect = "y" }'),
     ["step 3", "'expect' after the 'expect-close' at step 2 can never run"]),
    (steps('{ send = "x" }', '{ close = true }', '{ send = "z" }'), ["step 3", "'send' after the 'close' at step 2"]),
    (steps('{ close = true }', '{ expect = "y" }'), ["step 2", "after the 'close' at step 1"]),
    (steps('{ client = "p", send = "x" }', '{ client = "p", expect-close = true }', '{ client = "p", send-hex = "00" }',
           clients='clients = ["p", "q"]\n'), ["step 3", "'send-hex' after the 'expect-close'", "of client 'p'"]),
    (steps('{ send = "HI {clinet}" }'), ["step 1", "unknown placeholder '{clinet}'", "did you mean '{client}'"]),
    (steps('{ send = "x" }', "{ expect-match = '^{name}$', example = '{name}' }"), ["step 2", "'{name}'"]),
    (steps('{ send = "x" }', clients='clients = ["p{client}"]\n'), ["key 'clients'", "{client}"]),
]


@pytest.mark.parametrize("text, fragments", CONTRADICTORY)
def test_steps_that_can_never_run_and_placeholder_typos_are_rejected_at_load(tmp_path, text, fragments):
    message = load_error(tmp_path, text)
    for fragment in fragments:
        assert fragment in message, message


def test_consistent_closes_quantifiers_and_other_clients_still_load(tmp_path):
    text = steps('{ client = "p", send = "x{client}" }', '{ client = "p", expect-close = true }',
                 '{ client = "p", close = true }', '{ client = "q", send = "y" }',
                 "{ client = \"q\", expect-match = '^y{2,3}\\d{4}$', example = 'yy1234' }", '{ client = "q", close = true }',
                 clients='clients = ["p", "q"]\n')
    assert len(load_protocol_file(write(tmp_path, text)).first.steps) == 6


# -- 4: bytes after a conversation's last expected reply ------------------------------------------------------
KV = ROOT / "examples" / "protocols" / "kv"


def test_bytes_after_the_last_expected_reply_fail_the_conversation(harness):
    result = harness("--protocol", str(KV / "kv.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                     "--check", "conversation::set_then_get", server("kv_extra_line_after_reply.py"), "{port}")
    assert result.outcomes() == {"conversation::set_then_get": "failed"}, result.stdout
    message = result.check("conversation::set_then_get")["message"]
    assert message.startswith("conversation 'set_then_get', step 6: the server sent 14 more bytes after the last "
                              "expected reply: b'DEBUG deleted\\n'"), message


def test_a_correct_server_passes_a_conversation_ending_with_an_expect(harness):
    result = harness("--protocol", str(KV / "kv.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                     "--check", "conversation::set_then_get", "--check", "framing::set_then_get.*",
                     server("kv_good_threaded.py"), "{port}")
    assert set(result.outcomes().values()) == {"passed"}, result.stdout


# -- 12, 14, 15: messages for TOML authors and students -----------------------------------------------------
def test_a_missing_reference_says_where_it_was_looked_for(tmp_path):
    from harness.protocolfile.reference import ReferenceUnavailable, reference_argv

    text = GOOD_HEAD + '[reference]\ncommand = ["ref_server.py", "{port}"]\n' + \
        '[[conversation]]\nname = "a"\nsteps = [{ send = "x" }, { expect = "@reference" }]\n'
    with pytest.raises(ReferenceUnavailable) as error:
        reference_argv(load_protocol_file(write(tmp_path, text, "guess.toml")))
    assert "'ref_server.py' is neither next to guess.toml" in str(error.value), error.value
    assert "(not on PATH)" not in str(error.value)


def test_messages_use_toml_spellings_and_patterns_as_written(tmp_path):
    assert "got false" in load_error(tmp_path, steps('{ send = "x" }', '{ expect-close = false }'))
    message = load_error(tmp_path, steps('{ send = "x" }', "{ expect-match = '^\\d+$', example = 'abc' }"))
    assert "'^\\d+$' does not match its example 'abc'" in message, message


def test_an_expect_match_failure_elides_a_long_example(tmp_path):
    from harness.errors import CheckFailed
    from harness.protocolfile.engine import ConversationRun
    from harness.protocolfile.wire import Received

    example = "ERR unknown command Z" + "x" * 3000
    protocol = load_protocol_file(write(tmp_path, steps('{ send = "x" }', f"{{ expect-match = '^ERR .*$', "
                                                        f"example = '{example}' }}")))
    run = ConversationRun(protocol, protocol.first, None, reply_timeout=1.0)  # type: ignore[arg-type]
    with pytest.raises(CheckFailed) as failure:
        run.match(protocol.first.steps[1], Received(b"nope", b"nope\n"))
    assert len(failure.value.message) < 300 and "(3021 characters)" in failure.value.message, failure.value.message


def test_list_counts_sends_in_the_singular():
    from harness.protocolfile.derive import describe
    from harness.protocolfile.model import Conversation, Step

    one = Conversation("a", (Step(1, "client", "send", text="x"),))
    assert describe(one).endswith("(1 step, 1 send)")


def test_a_concurrency_failure_with_a_different_reply_blames_shared_state_not_blocking():
    from harness.errors import CheckFailed
    from harness.protocolfile.explain import DEPENDS_ON_OTHER_CONNECTIONS, ONE_AT_A_TIME, fails_while

    different = CheckFailed("conversation 'play', step 11: the reply differs from what the protocol requires",
                            expected=b"GAMES 1 WON 1\n", received=b"GAMES 2 WON 2\n")
    told = fails_while("while another client stayed connected and silent", different, ONE_AT_A_TIME)
    assert DEPENDS_ON_OTHER_CONNECTIONS in told.message and ONE_AT_A_TIME not in told.message
    silent = CheckFailed("conversation 'play', step 2: nothing arrived: no complete message arrived within 2 s",
                         expected=b"OK\n", received=b"")
    told = fails_while("while another client stayed connected and silent", silent, ONE_AT_A_TIME)
    assert ONE_AT_A_TIME in told.message and DEPENDS_ON_OTHER_CONNECTIONS not in told.message
