"""Protocol files (SPEC §6): every kind of bad file is a usage error (exit 2)
naming the file, the conversation, the step number and the problem — never a
traceback; good files load with their defaults."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.protocolfile.loader import ProtocolFileError, load_protocol_file

GOOD_HEAD = 'name = "kv"\ntransport = "tcp"\nframing = "line"\n'
ONE_CONVERSATION = '[[conversation]]\nname = "c1"\nsteps = [{ send = "PING" }, { expect = "PONG" }]\n'


def write(tmp_path: Path, text: str, name: str = "proto.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# (what is wrong, file text, fragments the message must contain)
BAD_FILES = [
    ("unknown key", GOOD_HEAD + 'colour = "blue"\n' + ONE_CONVERSATION, ["unknown key 'colour'"]),
    ("unknown step key (typo)", GOOD_HEAD + '[[conversation]]\nname = "c1"\nsteps = [{ sned = "x" }]\n',
     ["conversation 'c1', step 1", "unknown key 'sned'", "did you mean 'send'"]),
    ("missing required key", 'name = "kv"\nframing = "line"\n' + ONE_CONVERSATION, ["missing required key 'transport'"]),
    ("no conversation", GOOD_HEAD, ["no conversation"]),
    ("conversation without a name", GOOD_HEAD + '[[conversation]]\nsteps = [{ send = "x" }]\n',
     ["conversation #1", "missing required key 'name'"]),
    ("conversation without steps", GOOD_HEAD + '[[conversation]]\nname = "c1"\nsteps = []\n',
     ["conversation 'c1'", "at least one step"]),
    ("step with two actions", GOOD_HEAD + '[[conversation]]\nname = "c1"\nsteps = [{ send = "a" }, { send = "b", expect = "c" }]\n',
     ["conversation 'c1', step 2", "two actions", "'send' and 'expect'"]),
    ("step with no action", GOOD_HEAD + '[[conversation]]\nname = "c1"\nsteps = [{ send = "a" }, { timeout = 1 }]\n',
     ["conversation 'c1', step 2", "no action"]),
    ("expect-match not matching its example",
     GOOD_HEAD + '[[conversation]]\nname = "c1"\nsteps = [{ send = "GET x" }, { expect-match = "^ERR \\\\d+$", example = "ERR none" }]\n',
     ["conversation 'c1', step 2", "does not match its example 'ERR none'"]),
    ("expect-match without example",
     GOOD_HEAD + '[[conversation]]\nname = "c1"\nsteps = [{ send = "GET x" }, { expect-match = "^ERR" }]\n',
     ["conversation 'c1', step 2", "needs an 'example'"]),
    ("@reference without [reference]",
     GOOD_HEAD + '[[conversation]]\nname = "c1"\nsteps = [{ send = "HELP" }, { expect = "@reference" }]\n',
     ["conversation 'c1', step 2", "needs a [reference]"]),
    ("{client} in a file-level key", 'name = "kv{client}"\ntransport = "tcp"\nframing = "line"\n' + ONE_CONVERSATION,
     ["key 'name'", "{client}"]),
    ("client naming no client of its conversation",
     GOOD_HEAD + '[[conversation]]\nname = "c1"\nclients = ["a", "b"]\nsteps = [{ client = "a", send = "x" }, { client = "z", expect = "y" }]\n',
     ["conversation 'c1', step 2", "client 'z' is not a client of this conversation"]),
    ("framing that does not fit the transport", 'name = "kv"\ntransport = "udp"\nframing = "line"\n' + ONE_CONVERSATION,
     ["framing 'line' does not fit transport 'udp'"]),
    ("key that does not apply to the framing", 'name = "kv"\ntransport = "tcp"\nframing = "length"\nline-ending = "\\r\\n"\n' + ONE_CONVERSATION,
     ["key 'line-ending' does not apply to framing 'length'"]),
    ("bad hex", GOOD_HEAD + '[[conversation]]\nname = "c1"\nsteps = [{ send-hex = "0g 11" }]\n',
     ["conversation 'c1', step 1", "pairs of hex digits"]),
    ("invalid regular expression", GOOD_HEAD + '[[conversation]]\nname = "c1"\nsteps = [{ expect-match = "(", example = "(" }]\n',
     ["conversation 'c1', step 1", "not a valid regular expression"]),
    ("expect-match with framing none", 'name = "p"\ntransport = "tcp"\nframing = "none"\n[[conversation]]\nname = "c1"\n'
     'steps = [{ send = "x" }, { expect-match = "x", example = "x" }]\n', ["step 2", "not allowed with framing \"none\""]),
    ("duplicate conversation names", GOOD_HEAD + ONE_CONVERSATION + ONE_CONVERSATION, ["two conversations are named 'c1'"]),
    ("bad length format", 'name = "p"\ntransport = "tcp"\nframing = "length"\nlength-format = "!Q2"\n' + ONE_CONVERSATION,
     ["key 'length-format'"]),
    ("a send containing the line ending", GOOD_HEAD + '[[conversation]]\nname = "c1"\nsteps = [{ send = "a\\nb" }]\n',
     ["step 1", "contains the line ending"]),
    ("not TOML at all", "name = \n", ["not valid TOML"]),
    ("conversation name with a space", GOOD_HEAD + '[[conversation]]\nname = "two words"\nsteps = [{ send = "x" }]\n',
     ["conversation 'two words'", "not a valid conversation name", "ASCII letters, digits, '_' and '-'"]),
    ("conversation name with a dot", GOOD_HEAD + '[[conversation]]\nname = "a.b"\nsteps = [{ send = "x" }]\n',
     ["not a valid conversation name"]),
    ("an encoding that writes a byte-order mark before every piece",
     'name = "p"\ntransport = "tcp"\nframing = "line"\nencoding = "utf-16"\n' + ONE_CONVERSATION,
     ["key 'encoding'", "'utf-16' writes a byte-order mark before every piece", "'utf-16-be'"]),
    ("a codec that is not a text encoding", 'name = "p"\ntransport = "tcp"\nframing = "line"\nencoding = "rot13"\n'
     + ONE_CONVERSATION, ["key 'encoding'", "unknown text encoding 'rot13'"]),
    ("a key from another tool", GOOD_HEAD + '[[conversation]]\nname = "c1"\nsteps = [{ send = "A" }, '
     '{ expect-regex = "B.*" }]\n', ["unknown key 'expect-regex' (did you mean 'expect-match'?)"]),
]


@pytest.mark.parametrize("text,fragments", [(t, f) for _, t, f in BAD_FILES], ids=[w for w, _, _ in BAD_FILES])
def test_bad_protocol_file_names_file_conversation_step_and_problem(tmp_path, text, fragments):
    path = write(tmp_path, text)
    with pytest.raises(ProtocolFileError) as error:
        load_protocol_file(path)
    message = str(error.value)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, message


def test_good_file_gets_the_documented_defaults(tmp_path):
    protocol = load_protocol_file(write(tmp_path, GOOD_HEAD + ONE_CONVERSATION))
    assert (protocol.line_ending, protocol.encoding, protocol.length_format, protocol.pipelining) == ("\n", "utf-8", "!I", True)
    assert protocol.reply_timeout is None
    step = protocol.first.steps[0]
    assert step.client == "client" and step.payload("c00") == b"PING"


def test_client_label_is_replaced_in_sends_expects_and_patterns(tmp_path):
    text = GOOD_HEAD + ('[[conversation]]\nname = "c1"\nsteps = [{ send = "SET k{client} 1" }, '
                        '{ expect-match = "^OK {client}$", example = "OK {client}" }, { send-hex = "4A 0b" }]\n')
    protocol = load_protocol_file(write(tmp_path, text))
    send, match, raw = protocol.first.steps
    assert send.payload("c07") == b"SET kc07 1"
    assert match.regex("c07") == "^OK c07$"
    assert raw.payload("c07") == b"J\x0b"


def test_empty_send_and_expect_are_allowed(tmp_path):
    text = GOOD_HEAD + '[[conversation]]\nname = "c1"\nsteps = [{ send = "" }, { expect = "" }]\n'
    assert load_protocol_file(write(tmp_path, text)).first.steps[0].payload("c00") == b""


@pytest.mark.parametrize("command", [["run", "--protocol", "{file}", "server.py"], ["protocol", "check", "{file}"],
                                     ["list", "--protocol", "{file}"]])
def test_bad_file_on_the_command_line_exits_2_without_traceback(tmp_path, command):
    path = write(tmp_path, BAD_FILES[6][1])
    (tmp_path / "server.py").write_text("")
    argv = [sys.executable, "-m", "harness", *[a.replace("{file}", str(path)) for a in command]]
    result = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "conversation 'c1', step 2: two actions" in result.stderr


@pytest.mark.parametrize("name", ["c1", "set_then_get", "get-missing", "_private", "2nd"])
def test_identifier_like_conversation_names_are_accepted(tmp_path, name):
    path = write(tmp_path, GOOD_HEAD + ONE_CONVERSATION.replace('"c1"', f'"{name}"'))
    assert load_protocol_file(str(path)).first.name == name


def test_a_line_ending_with_literal_backslashes_is_refused_and_names_are_understood(tmp_path):
    """TOML keeps backslashes in 'single quotes': '\\r\\n' there is four characters, never a line ending."""
    head = 'name = "x"\ntransport = "tcp"\nframing = "line"\n'
    with pytest.raises(ProtocolFileError, match="holds a backslash, not a control character"):
        load_protocol_file(write(tmp_path, head + "line-ending = '\\r\\n'\n" + ONE_CONVERSATION))
    for index, (written, meant) in enumerate((('"CRLF"', "\r\n"), ('"lf"', "\n"), ('"\\r\\n"', "\r\n"))):
        text = head + f"line-ending = {written}\n" + ONE_CONVERSATION
        protocol = load_protocol_file(write(tmp_path, text, f"proto{index}.toml"))
        assert protocol.line_ending == meant, written


def derived_ids(tmp_path: Path, head: str, steps: str, clients: str = "") -> set[str]:
    from harness.protocolfile.derive import derived_checks

    text = head + f'[[conversation]]\nname = "c1"\n{clients}steps = [{steps}]\n'
    protocol = load_protocol_file(write(tmp_path, text, f"proto{abs(hash(text))}.toml"))  # (cached per path)
    return {check.id for check in derived_checks(protocol)}


TWO_IN_A_ROW = '{ send = "A" }, { expect = "1" }, { send = "B" }, { expect = "2" }'
TAKING_TURNS = ('{ client = "x", send = "A" }, { client = "x", expect = "1" }, '
                '{ client = "y", send = "B" }, { client = "y", expect = "2" }')


def test_coalesced_is_derived_only_where_a_client_sends_twice_before_it_waits(tmp_path):
    """Blind 15: where nothing can coalesce, `.coalesced` equalled the as-written run and gave a recv(1024)
    server points for the very bug it is named after."""
    framings = ("framing::c1.bytewise", "framing::c1.random")
    assert derived_ids(tmp_path, GOOD_HEAD, TWO_IN_A_ROW) == {"conversation::c1", "framing::c1.coalesced", *framings}
    assert derived_ids(tmp_path, GOOD_HEAD, '{ send = "A" }, { expect = "1" }') == {"conversation::c1", *framings}
    assert derived_ids(tmp_path, GOOD_HEAD, TAKING_TURNS, 'clients = ["x", "y"]\n') == {"conversation::c1", *framings}
    # A barrier between two sends of one client ends the stretch as well.
    assert "framing::c1.coalesced" not in derived_ids(
        tmp_path, GOOD_HEAD, '{ send = "A" }, { expect-nothing = 0.1 }, { send = "B" }, { expect = "2" }')
    unframed = 'name = "p"\ntransport = "tcp"\nframing = "none"\n'
    assert derived_ids(tmp_path, unframed, TWO_IN_A_ROW) == {"conversation::c1", "framing::c1.coalesced"}
    assert derived_ids(tmp_path, unframed, '{ send = "A" }, { expect = "1" }') == {"conversation::c1"}


def test_a_conversation_without_a_send_has_no_framing_checks(tmp_path):
    """Nothing to cut: its framing checks would be the as-written run again, points for nothing."""
    assert derived_ids(tmp_path, GOOD_HEAD, '{ expect = "Welcome!" }') == {"conversation::c1"}
