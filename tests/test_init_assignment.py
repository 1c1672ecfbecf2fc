"""`harness init`: the assignment file it writes is accepted as it is by
`harness run --config` and `harness grade`, for every built-in protocol."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import REFERENCE, ROOT

from harness.assignment import load_assignment
from harness.cli.init_assignment import TOTAL_POINTS, assignment_text
from harness.protocols import PROTOCOLS


def harness(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_every_protocols_file_is_a_valid_assignment_worth_100_points(tmp_path, protocol):
    (tmp_path / "harness.toml").write_text(assignment_text(protocol, tmp_path))
    assignment = load_assignment(tmp_path / "harness.toml")
    assert assignment.options["protocol"] == protocol
    assert assignment.command == ["server.py", "{port}"]
    assert assignment.suites and "speed" not in assignment.suites
    assert sum(assignment.points[suite] for suite in assignment.suites) == TOTAL_POINTS
    assert assignment.gradescope == {"visibility": "visible", "stdout_visibility": "hidden"}
    assert (assignment.grade_timeout, assignment.grade_jobs) == (300, 2)


def test_protocol_options_are_written_with_their_defaults_and_help():
    text = assignment_text("tcp-framed", Path("."))
    data = tomllib.loads(text)
    assert data["length-format"] == "!I" and data["max-frame"] == 16 * 1024 * 1024
    assert "struct format of the tcp-framed length header" in text  # the option's own help
    assert "hello-mode" not in data


def test_run_accepts_the_file_as_it_is(tmp_path):
    init = harness("init", "--dir", "course", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert "harness bundle gradescope --config course/harness.toml" in init.stdout
    run = harness("run", "--config", "course/harness.toml", "--suite", "echo", "--json", "report.json",
                  str(REFERENCE / "tcp_echo.py"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    score = json.loads((tmp_path / "report.json").read_text())["score"]
    assert score["points"] == score["max_points"] == 40  # the echo suite's share of 100


def test_grade_accepts_the_file_as_it_is(tmp_path):
    assert harness("init", "udp-echo", "--dir", str(tmp_path), cwd=ROOT).returncode == 0
    (tmp_path / "submissions" / "nobody").mkdir(parents=True)
    graded = harness("grade", "submissions", "--config", "harness.toml", cwd=tmp_path)
    assert graded.returncode == 0, graded.stderr
    with open(tmp_path / "grades" / "gradebook.csv", newline="") as f:
        row = next(csv.DictReader(f))
    assert (row["score"], row["max_score"], row["status"]) == ("0", "100", "no server")


def test_an_existing_file_is_kept_unless_forced(tmp_path):
    (tmp_path / "harness.toml").write_text("# mine\n")
    refused = harness("init", cwd=tmp_path)
    assert refused.returncode == 2 and "already exists (--force replaces it)" in refused.stderr
    assert (tmp_path / "harness.toml").read_text() == "# mine\n"
    assert harness("init", "--force", cwd=tmp_path).returncode == 0
    assert 'protocol = "tcp-echo"' in (tmp_path / "harness.toml").read_text()


def test_unknown_protocol_and_missing_protocol_file_are_usage_errors(tmp_path):
    unknown = harness("init", "tcp-chat", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown protocol 'tcp-chat'" in unknown.stderr
    missing = harness("init", "kv.toml", cwd=tmp_path)
    assert missing.returncode == 2 and "protocol file not found" in missing.stderr
    assert not (tmp_path / "harness.toml").exists()


def test_a_protocol_file_that_exists_is_named_relative_to_the_assignment(tmp_path):
    (tmp_path / "kv.toml").write_text('name = "kv"\ntransport = "tcp"\nframing = "line"\n[[conversation]]\n'
                                      'name = "c1"\nsteps = [{ send = "a" }]\n')
    data = tomllib.loads(assignment_text("kv.toml", tmp_path))
    assert data["protocol"] == "kv.toml" and "echo" not in data["suites"]
