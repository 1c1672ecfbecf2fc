"""The assignment file (harness.toml): every option is a key, a bad file gets an
error naming the key and the problem (exit 2, report still written), and the
command line overrides the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SERVERS, reference

from harness.assignment import Assignment, load_assignment
from harness.errors import ConfigError
from harness.settings import OPTIONS


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "harness.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_assignment(write(tmp_path, text))
    return str(caught.value)


def test_every_run_option_is_a_key(tmp_path):
    for option in OPTIONS:
        sample = {bool: "true", int: "7", float: "2.5"}.get(option.type)
        if sample is None:
            if not isinstance(option.default, str):
                continue
            sample = json.dumps(option.default)  # a valid value of a string option
        assignment = load_assignment(write(tmp_path, f"{option.name} = {sample}\n"))
        assert option.name in assignment.options, option.name


def test_a_full_file_is_read(tmp_path):
    assignment = load_assignment(write(tmp_path, """
protocol = "udp-echo"
command = ["python3", "server.py", "{port}"]
suites = ["echo"]
checks = ["echo::*"]
exclude = ["echo::large_payload"]
reply-timeout = 1
max-datagram = 2048
strict = true
[points]
default = 2
echo = 40
"echo::binary_bytes" = 5
[gradescope]
visibility = "after_due_date"
[grade]
timeout = 60
jobs = 3
"""))
    assert assignment.options == {"protocol": "udp-echo", "reply-timeout": 1, "max-datagram": 2048, "strict": True}
    assert assignment.command == ["python3", "server.py", "{port}"]
    assert assignment.points == {"default": 2, "echo": 40, "echo::binary_bytes": 5}
    assert (assignment.grade_timeout, assignment.grade_jobs) == (60, 3)
    assert assignment.selects("echo::binary_bytes") and not assignment.selects("echo::large_payload")


@pytest.mark.parametrize("text, message", [
    ('reply_timeout = 2', "unknown key 'reply_timeout' (did you mean 'reply-timeout'?)"),
    ('reply-timeout = "soon"', "key 'reply-timeout': expected a number, got 'soon'"),
    ('reply-timeout = 0', "key 'reply-timeout': must be at least 0.01, got 0"),
    ('clients = 2.5', "key 'clients': expected a whole number, got 2.5"),
    ('strict = "yes"', "key 'strict': expected true or false, got 'yes'"),
    ('protocol = "tcp-ech"', "unknown protocol 'tcp-ech'"),
    ('command = "server.py"', "key 'command': expected a list of strings"),
    ('command = []', "key 'command': must not be empty"),
    ('suites = ["echo", "framin"]', "key 'suites[1]': unknown suite 'framin'"),
    ('checks = ["echo::nope"]', "key 'checks[0]': no check matches 'echo::nope'"),
    ('[points]\n"echo::binary_byte" = 3', "key 'points.\"echo::binary_byte\"': no such check or suite (did you mean 'echo::binary_bytes'?)"),
    ('[points]\necho = -1', "key 'points.echo': expected a number of points (0 or more), got -1"),
    ('suites = ["echo"]\n[points]\nframing = 10', "key 'points.framing': points for suite 'framing', which this "
                                                  "assignment does not run"),
    ('suites = ["echo"]\n[points]\n"shutdown::sigint_idle" = 1', "points for suite 'shutdown'"),
    ('reply-timeout = nan', "invalid key reply-timeout nan"),
    ('[gradescope]\nvisibility = "public"', "key 'gradescope.visibility': expected one of hidden, after_due_date"),
    ('[grade]\ntimeout = 0', "key 'grade.timeout': expected a positive number, got 0"),
    ('reply-timeout = = 2', "not valid TOML"),
])
def test_bad_file_names_the_key_and_the_problem(tmp_path, text, message):
    error = error_of(tmp_path, text)
    assert str(tmp_path / "harness.toml") in error
    assert message in error


def test_toml_syntax_error_says_where(tmp_path):
    assert "line 2" in error_of(tmp_path, 'protocol = "tcp-echo"\nreply-timeout = = 2\n')


def test_empty_assignment_without_file():
    assert load_assignment(None) == Assignment()


# -- through `harness run` ----------------------------------------------------
def submission(tmp_path: Path, server_file: str, config: str) -> Path:
    shutil.copy(SERVERS / server_file if not server_file.startswith("/") else server_file, tmp_path / "server.py")
    write(tmp_path, config)
    return tmp_path


def test_run_picks_up_harness_toml_in_the_working_directory(harness, tmp_path):
    folder = submission(tmp_path, reference("udp_echo.py"), """
protocol = "udp-echo"
command = ["server.py", "{port}"]
suites = ["echo"]
exclude = ["echo::large_payload"]
[points]
echo = 70
""")
    run = harness(cwd=folder)
    assert run.returncode == 0, run.stderr
    assert "echo::large_payload" not in run.outcomes()
    assert run.report["protocol"] == "udp-echo"
    assert run.report["score"]["points"] == pytest.approx(70)


def test_command_line_overrides_the_file(harness, tmp_path):
    folder = submission(tmp_path, "tcp_upper.py", 'protocol = "udp-echo"\ncommand = ["server.py", "{port}"]\n')
    run = harness("--protocol", "tcp-echo", "--check", "echo::single_message", cwd=folder)
    assert run.report["protocol"] == "tcp-echo"
    assert run.outcomes() == {"echo::single_message": "failed"}


def test_explicit_config_and_strict_from_the_file(harness, tmp_path):
    config = tmp_path / "assignment.toml"
    config.write_text('protocol = "udp-echo"\nstrict = true\nchecks = ["echo::empty_datagram_answered"]\n')
    run = harness("--config", str(config), str(SERVERS / "udp_ignores_empty.py"), "{port}")
    assert run.outcomes() == {"echo::empty_datagram_answered": "failed"}
    assert run.returncode == 1 and run.report["score"]["points"] == 0


def test_bad_file_exits_2_with_the_error_and_still_writes_the_report(harness, tmp_path):
    folder = submission(tmp_path, "tcp_upper.py", 'command = ["server.py", "{port}"]\nreply-timeout = "2s"\n')
    run = harness(cwd=folder)
    assert run.returncode == 2
    assert "key 'reply-timeout': expected a number, got '2s'" in run.stderr
    assert "reply-timeout" in run.report["server"]["startup_error"]


def test_missing_config_file_is_a_usage_error(harness, tmp_path):
    run = harness("--config", str(tmp_path / "nope.toml"), reference("tcp_echo.py"))
    assert run.returncode == 2 and "assignment file not found" in run.stderr
    assert json.dumps(run.report)  # written all the same


def test_a_server_missing_where_the_assignment_says_names_the_assignment(harness, tmp_path):
    config = tmp_path / "assignment.toml"
    config.write_text('command = ["server.py", "{port}"]\nsuites = ["echo"]\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = harness("--config", str(config), "--classroom", str(tmp_path / "c.json"), cwd=elsewhere)
    # The submission's doing, not the assignment's (blind 20 F5: exit 2 failed the course's CI step as a bad
    # harness.toml): the server could not be started.
    assert run.returncode == 3, run.stderr
    assert run.report.get("harness_error") is None
    assert (f"the submission ({elsewhere}) cannot be started as the assignment ({config}) says, with "
            "server.py '{port}': server not found: 'server.py' (no such file)") in run.stderr
    assert "Why: the server could not be started" in (tmp_path / "c.json").read_text()
