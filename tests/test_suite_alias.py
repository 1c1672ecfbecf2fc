"""`echo`, the old name of the correctness suite of tcp-hello, udp-hello,
tcp-file and protocol files (SPEC §6: they say `conversation::`).

Both ways: an assignment file or command line written before the rename
selects and weighs exactly what the new names do, with a one-line note; where
`echo` is still the suite's name (tcp-echo, udp-echo) it means only the echo
checks, with no note; an old name that matches nothing is still an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import reference

from harness.assignment import load_assignment
from harness.checks import load_catalogue
from harness.errors import ConfigError
from harness.results.grading import check_weights, counted_checks
from harness.suitenames import lookup, matches, renamed, selected_suites

OLD_HELLO = """protocol = "tcp-hello"
suites = ["echo"]
checks = ["echo::*"]
exclude = ["echo::long_name"]
[points]
echo = 40
"echo::greeting" = 5
"""
NEW_HELLO = OLD_HELLO.replace('"echo', '"conversation').replace("echo = 40", "conversation = 40")


def write(tmp_path: Path, text: str, name: str = "harness.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- the rules -------------------------------------------------------------------
def test_old_patterns_select_the_renamed_checks_and_never_the_other_way():
    assert matches("conversation::greeting", "echo::greeting")
    assert matches("conversation::greeting", "echo::*")
    assert matches("echo::binary_bytes", "echo::*")
    assert not matches("echo::binary_bytes", "conversation::*")
    assert not matches("conversation::greeting", "echo::hello_reply")
    assert not matches("framing::split_line", "echo::*")


def test_old_points_keys_count_for_the_renamed_check_and_suite():
    assert lookup({"echo::greeting": 5}, "conversation::greeting") == 5
    assert lookup({"echo": 40}, "conversation") == 40
    assert lookup({"echo::greeting": 5, "conversation::greeting": 7}, "conversation::greeting") == 7  # new name wins
    assert lookup({"echo": 40}, "framing") is None
    assert lookup({"conversation": 40}, "echo") is None  # tcp-echo's suite is not renamed


def test_an_old_id_is_renamed_only_when_no_check_has_it():
    known = {"conversation::greeting", "echo::single_message", "conversation::single_message"}
    assert renamed("echo::greeting", known) == "conversation::greeting"
    assert renamed("echo::single_message", known) is None
    assert renamed("echo::nope", known) is None
    assert selected_suites(["echo"]) == {"echo", "conversation"}
    assert selected_suites(["conversation"]) == {"conversation"}


# -- the assignment file -----------------------------------------------------------
def test_an_old_hello_assignment_selects_and_weighs_as_the_new_one_with_a_note(tmp_path):
    old = load_assignment(write(tmp_path, OLD_HELLO, "old.toml"))
    new = load_assignment(write(tmp_path, NEW_HELLO, "new.toml"))
    assert len(old.notes) == 1 and "conversation::" in old.notes[0] and "old.toml" in old.notes[0]
    assert new.notes == []
    load_catalogue()
    counted = {name: [c.id for c in counted_checks("tcp-hello", a.suites, a)] for name, a in (("old", old), ("new", new))}
    assert counted["old"] == counted["new"]
    assert "conversation::greeting" in counted["old"] and "conversation::long_name" not in counted["old"]
    assert all(check_id.startswith("conversation::") for check_id in counted["old"])
    weights = {name: check_weights(counted_checks("tcp-hello", a.suites, a), a) for name, a in (("old", old), ("new", new))}
    assert weights["old"] == weights["new"]
    assert sum(weights["old"].values()) == pytest.approx(40)
    assert weights["old"]["conversation::greeting"] == pytest.approx(5 * weights["old"]["conversation::hello_reply"], abs=0.25)  # quarter points


def test_a_tcp_echo_assignment_keeps_echo_without_a_note(tmp_path):
    assignment = load_assignment(write(tmp_path, 'protocol = "tcp-echo"\nsuites = ["echo"]\n'
                                                 'checks = ["echo::*"]\n[points]\necho = 60\n'))
    assert assignment.notes == []
    load_catalogue()
    counted = [c.id for c in counted_checks("tcp-echo", assignment.suites, assignment)]
    assert counted and all(check_id.startswith("echo::") for check_id in counted)
    assert sum(check_weights(counted_checks("tcp-echo", assignment.suites, assignment), assignment).values()) == pytest.approx(60)


@pytest.mark.parametrize("text, problem", [
    ('protocol = "tcp-hello"\nchecks = ["echo::nope"]', "key 'checks[0]': no check matches 'echo::nope'"),
    ('protocol = "tcp-hello"\n[points]\n"echo::greting" = 2', "key 'points.\"echo::greting\"': no such check"),
])
def test_an_old_name_that_matches_nothing_is_still_an_error(tmp_path, text, problem):
    with pytest.raises(ConfigError) as error:
        load_assignment(write(tmp_path, text))
    assert problem in str(error.value)


# -- the command line ------------------------------------------------------------------
def test_suite_echo_runs_the_conversation_checks_of_tcp_hello_with_a_note(harness):
    old = harness("--protocol", "tcp-hello", "--suite", "echo", "-k", "greeting and not simultaneous",
                  reference("tcp_hello.py"), "{port}")
    assert old.outcomes() == {"conversation::greeting": "passed"}, old.stdout + old.stderr
    renaming_notes = [line for line in old.stderr.splitlines() if line.startswith("note:") and "echo" in line]
    assert len(renaming_notes) == 1 and "'echo' still works" in renaming_notes[0], old.stderr
    new = harness("--protocol", "tcp-hello", "--suite", "conversation", "-k", "greeting and not simultaneous",
                  reference("tcp_hello.py"), "{port}")
    assert new.outcomes() == old.outcomes()
    assert "'echo' still works" not in new.stderr


def test_suite_echo_on_tcp_echo_runs_only_echo_checks_without_a_note(harness):
    run = harness("--suite", "echo", "-k", "single_message", reference("tcp_echo.py"), "{port}")
    assert run.outcomes() == {"echo::single_message": "passed"}, run.stdout + run.stderr
    assert "still works" not in run.stderr


def test_an_old_assignment_file_grades_tcp_hello_as_before(harness, tmp_path):
    folder = tmp_path / "assignment"
    folder.mkdir()
    config = write(folder, 'protocol = "tcp-hello"\nchecks = ["echo::greeting", "echo::hello_reply"]\n'
                           '[points]\n"echo::greeting" = 3\n')
    run = harness("--config", str(config), reference("tcp_hello.py"), "{port}")
    assert run.outcomes() == {"conversation::greeting": "passed", "conversation::hello_reply": "passed"}, run.stderr
    score = run.report["score"]
    assert score["points"] == score["max_points"] == 4
    assert score["checks"]["conversation::greeting"]["max_points"] == 3
    assert "'echo' still works" in run.stderr


def test_harness_list_finds_the_renamed_checks_under_the_old_suite_name(tmp_path):
    import subprocess
    import sys

    listed = subprocess.run([sys.executable, "-m", "harness", "list", "--protocol", "tcp-file", "--suite", "echo"],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "conversation::text_file" in listed.stdout and "echo::" not in listed.stdout.replace("formerly echo::", "")


def test_suites_echo_in_a_file_without_protocol_gets_the_note_once_when_the_command_line_picks_tcp_hello(harness, tmp_path):
    folder = tmp_path / "assignment"
    folder.mkdir()
    config = write(folder, 'suites = ["echo"]\n')
    run = harness("--config", str(config), "--protocol", "tcp-hello", "-k", "greeting and not simultaneous",
                  reference("tcp_hello.py"), "{port}")
    assert run.outcomes() == {"conversation::greeting": "passed"}, run.stdout + run.stderr
    assert run.stderr.count("'echo' still works") == 1, run.stderr
