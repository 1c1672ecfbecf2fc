"""Grading reports: points, Gradescope results.json (checked against the
documented schema, written out below by hand), JUnit with check ids, the
GitHub Classroom format, and the student-readable failure output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import TEST_REPLY_TIMEOUT, reference, server

from harness.assignment import Assignment
from harness.checks import load_catalogue
from harness.results.classroom import classroom_results
from harness.results.feedback import explain, shown
from harness.results.gradescope import gradescope_results
from harness.results.grading import grade
from harness.results.junit import junit_xml
from harness.results.report import CheckResult, Report, ServerInfo

load_catalogue()

# -- Gradescope's documented results.json format ------------------------------
# https://gradescope-autograders.readthedocs.io/en/latest/specs/ — "Output format".
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
NUMBER = (int, float)
TOP_LEVEL = {
    "score": NUMBER, "execution_time": NUMBER, "output": str, "output_format": str, "test_output_format": str,
    "test_name_format": str, "visibility": str, "stdout_visibility": str, "extra_data": dict, "tests": list,
    "leaderboard": list,
}
TEST_FIELDS = {
    "score": NUMBER, "max_score": NUMBER, "status": str, "name": str, "name_format": str, "number": str,
    "output": str, "output_format": str, "tags": list, "visibility": str, "extra_data": dict,
}


def gradescope_schema_errors(data: object) -> list[str]:
    """Everything in `data` that Gradescope's documented format does not allow."""
    errors: list[str] = []
    if not isinstance(data, dict):
        return ["top level must be an object"]
    for key, value in data.items():
        if key not in TOP_LEVEL:
            errors.append(f"unknown top-level key {key!r}")
        elif not isinstance(value, TOP_LEVEL[key]) or isinstance(value, bool):
            errors.append(f"{key}: wrong type {type(value).__name__}")
    tests = data.get("tests", [])
    if "score" not in data and not (tests and all(isinstance(t, dict) and "score" in t for t in tests)):
        errors.append("a score is required: top-level or on every test")
    for key in ("visibility", "stdout_visibility"):
        if key in data and data[key] not in VISIBILITY:
            errors.append(f"{key}: {data[key]!r} is not a visibility")
    for key in ("output_format", "test_output_format", "test_name_format"):
        if key in data and data[key] not in FORMATS:
            errors.append(f"{key}: {data[key]!r} is not a format")
    for index, test in enumerate(tests if isinstance(tests, list) else []):
        where = f"tests[{index}]"
        if not isinstance(test, dict):
            errors.append(f"{where}: must be an object")
            continue
        for key, value in test.items():
            if key not in TEST_FIELDS:
                errors.append(f"{where}: unknown key {key!r}")
            elif not isinstance(value, TEST_FIELDS[key]) or isinstance(value, bool):
                errors.append(f"{where}.{key}: wrong type {type(value).__name__}")
        if test.get("status", "passed") not in ("passed", "failed"):
            errors.append(f"{where}.status: {test['status']!r}")
        if test.get("visibility", "visible") not in VISIBILITY:
            errors.append(f"{where}.visibility: {test['visibility']!r}")
        if test.get("output_format", "text") not in FORMATS:
            errors.append(f"{where}.output_format: {test['output_format']!r}")
        if isinstance(test.get("score"), NUMBER) and isinstance(test.get("max_score"), NUMBER):
            if not 0 <= test["score"] <= test["max_score"] + 1e-9:
                errors.append(f"{where}: score {test['score']} outside 0..{test['max_score']}")
    return errors


def test_schema_check_rejects_what_gradescope_would():
    assert gradescope_schema_errors({"tests": [{"name": "x"}]}) == ["a score is required: top-level or on every test"]
    assert gradescope_schema_errors({"score": 1, "visibility": "public"}) == ["visibility: 'public' is not a visibility"]
    assert gradescope_schema_errors({"score": 1, "tests": [{"score": 3, "max_score": 2, "status": "ok"}]}) == [
        "tests[0].status: 'ok'", "tests[0]: score 3 outside 0..2"]
    assert gradescope_schema_errors({"score": "1"}) == ["score: wrong type str"]


# -- points -------------------------------------------------------------------
def result(check_id: str, outcome: str, **extra) -> CheckResult:
    return CheckResult(check_id, check_id.partition("::")[0], outcome, 0.01, **extra)


def echo_report(outcomes: dict[str, str], protocol: str = "tcp-echo", **server) -> Report:
    return Report(protocol, ServerInfo(command=["server.py", "{port}"], **server),
                  [result(check_id, outcome) for check_id, outcome in outcomes.items()], duration_s=1.0)


TCP_ECHO = ["echo::single_message", "echo::prompt_reply", "echo::binary_bytes", "echo::edge_sizes",
            "echo::large_payload", "echo::many_round_trips", "echo::half_close", "echo::serves_next_client",
            "echo::frees_closed_connection", "echo::client_reads_late"]


def test_each_check_is_worth_one_point_by_default_and_failures_score_zero():
    report = echo_report({c: "passed" for c in TCP_ECHO} | {"echo::binary_bytes": "failed"})
    graded = grade(report, Assignment(), suites=["echo"])
    assert (graded.points, graded.max_points) == (9, 10)
    assert graded.suites() == {"echo": (9, 10)}


def test_suite_total_is_shared_in_proportion_to_check_points():
    assignment = Assignment(points={"echo": 50, "echo::binary_bytes": 2})
    report = echo_report({c: "passed" for c in TCP_ECHO} | {"echo::binary_bytes": "failed"})
    graded = grade(report, assignment, suites=["echo"])
    assert graded.max_points == 50
    assert graded.points == pytest.approx(50 - 50 * 2 / 11, abs=0.25)  # (shares are quarter points)


def test_checks_that_never_ran_or_timed_out_score_zero_and_keep_the_maximum():
    timed_out = result("echo::large_payload", "failed", message="the check did not finish within 5 s (--check-timeout)")
    report = Report("tcp-echo", ServerInfo(command=["s"]), [result("echo::single_message", "passed"), timed_out])
    graded = grade(report, Assignment(), suites=["echo"])
    assert graded.max_points == len(TCP_ECHO)
    assert graded.points == 1
    outcomes = {c.id: c.outcome for c in graded.checks}
    assert outcomes["echo::large_payload"] == "failed"
    assert outcomes["echo::half_close"] == "not run"


def test_a_warning_costs_nothing_and_a_skip_earns_nothing():
    report = echo_report({"echo::empty_datagram_answered": "warning", "echo::single_message": "skipped"}, "udp-echo")
    graded = {c.id: c.points for c in grade(report, Assignment(), suites=["echo"]).checks}
    assert graded["echo::empty_datagram_answered"] == 1
    assert graded["echo::single_message"] == 0


def test_parametrized_instances_share_their_checks_points():
    report = Report("tcp-echo", ServerInfo(command=["s"]), [
        result("echo::edge_sizes[1]", "passed"), result("echo::edge_sizes[2]", "failed"),
    ])
    graded = grade(report, Assignment(points={"echo::edge_sizes": 4}), only_results=True)
    assert (graded.points, graded.max_points) == (2, 4)


def test_what_pytest_selected_is_what_counts_when_known():
    report = Report("tcp-echo", ServerInfo(command=["s"]), [result("echo::single_message", "passed")])
    graded = grade(report, Assignment(), suites=["echo"], expected=["echo::single_message", "echo::half_close"])
    assert (graded.points, graded.max_points) == (1, 2)
    assert {c.id: c.outcome for c in graded.checks}["echo::half_close"] == "not run"


def test_opt_in_suites_count_only_when_chosen():
    report = Report("tcp-echo", ServerInfo(command=["s"]), [])
    suites = {c.suite for c in grade(report, Assignment(exclude=["echo::half_close"])).checks}
    assert "speed" not in suites and "echo" in suites


def test_excluded_checks_do_not_count():
    report = echo_report({c: "passed" for c in TCP_ECHO})
    graded = grade(report, Assignment(exclude=["echo::large_*"]), suites=["echo"])
    assert graded.max_points == len(TCP_ECHO) - 1


# -- formats ------------------------------------------------------------------
def failing_report() -> Report:
    report = echo_report({c: "passed" for c in TCP_ECHO})
    report.checks[2] = result(
        "echo::binary_bytes", "failed", message="the echo differs from what was sent",
        expected="hex:00 01 41 42", received="hex:00 01 61 62",
        detail="expected 4 bytes, received 4 bytes; first difference at byte offset 2",
        server_output="Traceback (most recent call last):\n\x1b[31mUnicodeDecodeError\x00",
    )
    return report


def test_gradescope_results_follow_the_schema_with_one_test_per_check():
    report = failing_report()
    data = gradescope_results(report, grade(report, Assignment(), ["echo"]), Assignment(gradescope={"visibility": "hidden"}))
    assert gradescope_schema_errors(data) == []
    assert data["score"] == 9 and data["visibility"] == "hidden"
    failed = next(t for t in data["tests"] if t["name"] == "echo::binary_bytes")
    assert failed["status"] == "failed" and failed["score"] == 0 and failed["max_score"] == 1
    assert "first difference at byte offset 2" in failed["output"]
    assert "We expected: b'\\x00\\x01AB'" in failed["output"]
    assert "We got:      b'\\x00\\x01ab'" in failed["output"]


def test_student_output_shows_bytes_readably():
    assert shown("hex:00 68 69 ff") == "b'\\x00hi\\xff'"
    assert shown("hello\n") == "b'hello\\n'"
    text = explain(result("echo::single_message", "failed", message="m", expected="a", received="b"),
                   load_catalogue()["echo::single_message"], "failed")
    assert "Expected behaviour: the same bytes come back" in text


def test_junit_names_tests_by_check_id_and_survives_control_characters():
    report = failing_report()
    root = ET.fromstring(junit_xml(report, grade(report, Assignment(), ["echo"])))
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == set(TCP_ECHO)
    assert cases["echo::binary_bytes"].find("failure") is not None
    assert cases["echo::single_message"].find("failure") is None
    assert root.get("failures") == "1" and root.get("tests") == "10"


def test_classroom_results_carry_scores_the_reporter_adds_up():
    report = failing_report()
    data = classroom_results(report, grade(report, Assignment(points={"default": 2}), ["echo"]))
    assert data["version"] == 1 and data["status"] == "fail" and data["max_score"] == 20
    assert sum(t["score"] for t in data["tests"]) == 18
    assert {t["status"] for t in data["tests"]} == {"pass", "fail"}


# -- end to end ---------------------------------------------------------------
def test_run_writes_every_format_with_scores(harness, tmp_path):
    out = {name: tmp_path / name for name in ("gs.json", "junit.xml", "classroom.json")}
    run = harness("--suite", "echo", "--reply-timeout", TEST_REPLY_TIMEOUT, "--gradescope", str(out["gs.json"]),
                  "--junit-xml", str(out["junit.xml"]), "--classroom", str(out["classroom.json"]),
                  server("tcp_single_client.py"), "{port}")
    assert run.returncode == 1
    assert run.report["score"]["points"] == 9 and run.report["score"]["max_points"] == 10
    gradescope = json.loads(out["gs.json"].read_text())
    assert gradescope_schema_errors(gradescope) == []
    assert gradescope["score"] == 9
    names = {case.get("name") for case in ET.parse(out["junit.xml"]).getroot().iter("testcase")}
    assert "echo::serves_next_client" in names
    assert json.loads(out["classroom.json"].read_text())["status"] == "fail"


def test_keyword_narrows_the_maximum_to_the_checks_selected(harness):
    run = harness("--suite", "echo", "-k", "single_message or half_close", reference("tcp_echo.py"), "{port}")
    assert run.report["score"]["points"] == run.report["score"]["max_points"] == 2


def test_server_that_fails_to_start_scores_zero_with_the_startup_error(harness, tmp_path):
    gs = tmp_path / "gs.json"
    run = harness("--suite", "echo", "--gradescope", str(gs), server("crashes_at_start.py"), "{port}")
    assert run.returncode == 3
    data = json.loads(gs.read_text())
    assert gradescope_schema_errors(data) == []
    assert data["score"] == 0 and len(data["tests"]) == 10
    assert "could not be started" in data["output"] and "database connection failed" in data["output"]


def test_missing_server_file_still_writes_a_zero_score(harness, tmp_path):
    gs, junit = tmp_path / "gs.json", tmp_path / "junit.xml"
    run = harness("--gradescope", str(gs), "--junit-xml", str(junit), str(tmp_path / "server.py"))
    assert run.returncode == 2
    data = json.loads(gs.read_text())
    assert gradescope_schema_errors(data) == []
    assert data["score"] == 0 and "server not found" in data["output"]
    assert ET.parse(junit).getroot().find(".//testcase[@name='harness::server_start']/error") is not None


def test_reference_server_gets_full_marks(harness, tmp_path):
    gs = tmp_path / "gs.json"
    run = harness("--protocol", "udp-echo", "--suite", "echo", "--gradescope", str(gs), reference("udp_echo.py"), "{port}")
    data = json.loads(Path(gs).read_text())
    assert run.returncode == 0 and data["score"] == len(data["tests"]) == 8


TRICKLE = """
import socket, sys, threading, time
def handle(conn):
    with conn:
        while data := conn.recv(1):
            conn.sendall(data)
            time.sleep(0.3)
sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
"""


def test_a_check_that_times_out_scores_zero(harness, tmp_path):
    trickle = tmp_path / "trickle.py"
    trickle.write_text(TRICKLE)
    gs = tmp_path / "gs.json"
    run = harness("--check-timeout", "3", "--check", "echo::large_payload", "--gradescope", str(gs), str(trickle), "{port}")
    assert "did not finish within 3 s" in run.check("echo::large_payload")["message"]
    data = json.loads(gs.read_text())
    assert data["score"] == 0 and data["tests"][0]["max_score"] == 1 and data["tests"][0]["status"] == "failed"


def test_a_report_path_that_cannot_be_written_is_a_usage_error_before_any_server_starts(harness, tmp_path):
    """A folder, a path under a file, or one file for two reports: exit 2 at once, no traceback; the
    reports that can be written still are (a Gradescope run always gets its score)."""
    folder = tmp_path / "out"
    folder.mkdir()
    run = harness("--junit-xml", str(folder), "--suite", "echo", server("never_listens.py"), "{port}")
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"--junit-xml '{folder}' is a folder: give a file name, e.g. {folder}/junit.xml" in run.stderr
    assert run.elapsed < 8  # never_listens.py would have cost its 10 s start-up timeout
    assert run.report["server"]["startup_error"].startswith("--junit-xml")  # the --json that could be written
    under_a_file = harness("--html", reference("tcp_echo.py") + "/page.html", "--suite", "echo",
                           reference("tcp_echo.py"), "{port}")
    assert under_a_file.returncode == 2 and "is a file, not a folder" in under_a_file.stderr
    twice = harness("--gradescope", str(folder / "same"), "--classroom", str(folder / "same"), "--suite", "echo",
                    reference("tcp_echo.py"), "{port}")
    assert twice.returncode == 2
    assert "--gradescope and --classroom both write" in twice.stderr, twice.stderr


def test_a_report_that_cannot_be_written_at_the_end_is_said_and_the_others_are_written(tmp_path):
    from harness.results.report_files import OutputPaths, write_outputs

    report = Report.never_ran("tcp-echo", ["server.py"], "never ran")
    folder = tmp_path / "now-a-folder"
    folder.mkdir()
    junit = tmp_path / "junit.xml"
    _, unwritten = write_outputs(report, OutputPaths(json=str(folder), junit=str(junit)), Assignment())
    assert len(unwritten) == 1 and unwritten[0].startswith(f"--json '{folder}' could not be written")
    assert ET.parse(junit).getroot() is not None


def test_an_instructors_mistake_is_not_told_to_the_student_as_their_servers(harness, tmp_path):
    """`--suite nope` (an assignment's typo): every report is written, and says the autograder could not
    run; a server that crashes at start is still told as the server's."""
    paths = {option: str(tmp_path / name) for option, name in
             (("--gradescope", "g.json"), ("--junit-xml", "j.xml"), ("--html", "r.html"))}
    run = harness("--suite", "nope", *[x for pair in paths.items() for x in pair], reference("tcp_echo.py"), "{port}")
    assert run.returncode == 2
    output = json.loads(Path(paths["--gradescope"]).read_text())["output"]
    assert "The autograder could not run: unknown suite 'nope'" in output and "Your server" not in output
    assert "the harness could not run: unknown suite" in Path(paths["--junit-xml"]).read_text()
    assert "the harness could not run: unknown suite" in Path(paths["--html"]).read_text()
    assert run.report["harness_error"] is True
    crash = harness("--gradescope", paths["--gradescope"], server("crashes_at_start.py"), "{port}")
    assert crash.returncode == 3 and "harness_error" not in crash.report
    assert "Your server could not be started" in json.loads(Path(paths["--gradescope"]).read_text())["output"]


def test_a_k_expression_pytest_cannot_read_is_a_usage_error(harness):
    run = harness("-k", "and or (", reference("tcp_echo.py"), "{port}")
    assert run.returncode == 2 and "Wrong expression passed to '-k'" in run.stdout + run.stderr


def test_a_bad_assignment_file_leaves_classroom_one_entry_that_says_why(harness, tmp_path):
    """Blind 20 F6: the default protocol's 25 checks, max score 25, and the reason nowhere."""
    config = tmp_path / "harness.toml"
    config.write_text('command = ["server.py", "{port}"]\nreply-timeout = "2s"\n')
    run = harness("--config", str(config), "--classroom", str(tmp_path / "c.json"))
    assert run.returncode == 2
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["max_score"] == 0 and [t["name"] for t in data["tests"]] == ["harness::error"]
    assert "key 'reply-timeout': expected a number, got '2s'" in data["tests"][0]["message"]
