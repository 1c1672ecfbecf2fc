"""Network isolation, the unprivileged user, the limits and the scratch copy, as
seen from the server's side. Nothing here sends a byte beyond loopback: the
isolation is proven by what the server can see (`/proc/net/dev`,
`/proc/net/route`), never by trying to reach anything."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading

import pytest
from conftest import SERVERS, TEST_REPLY_TIMEOUT, leftover_server_processes, reference, run_harness, server

from harness.system import isolation

MIB = 1024 * 1024


def seen_by(run) -> dict:
    """The JSON line hostile_reports_environment.py printed before exiting."""
    assert run.returncode == 3, run.stdout + run.stderr
    output = run.report["checks"][0].get("server_output") or ""
    line = next(line for line in output.splitlines() if line.startswith("SEEN "))
    return json.loads(line[5:])


def test_isolated_server_sees_only_loopback_and_no_route(harness):
    seen = seen_by(harness("-k", "single_message", "--startup-timeout", "5", server("hostile_reports_environment.py")))
    assert seen["interfaces"] == ["lo"]
    assert seen["routes"] == []


def test_without_isolation_the_server_sees_this_machines_interfaces(harness):
    run = harness("-k", "single_message", "--no-isolate", "--startup-timeout", "5", server("hostile_reports_environment.py"))
    assert sorted(seen_by(run)["interfaces"]) == sorted(isolation.interfaces())
    assert "isolation unavailable" not in run.stderr


def test_server_runs_in_a_scratch_copy_with_the_limits_asked_for(harness):
    run = harness("-k", "single_message", "--startup-timeout", "5", "--memory-limit", "300", "--files-limit", "77",
                  "--process-limit", "33", "--cpu-limit", "9", "--file-size-limit", "5",
                  server("hostile_reports_environment.py"))
    seen = seen_by(run)
    assert seen["cwd"] != str(SERVERS) and seen["cwd"].endswith("submission")
    # The script's path, as the report shows it: relative to the scratch copy, whose folder a report never
    # names (the grader's /tmp/harness-run-... paths: blind 20); a script run from elsewhere keeps its path.
    assert seen["cwd_has_script"] and seen["script"] == "hostile_reports_environment.py", seen["script"]
    limits = seen["limits"]
    assert limits["RLIMIT_DATA"] == 300 * MIB
    assert limits["RLIMIT_AS"] == 4 * 300 * MIB  # the backstop
    assert limits["RLIMIT_NOFILE"] == 77
    assert limits["RLIMIT_CPU"] == 9
    assert limits["RLIMIT_FSIZE"] == 5 * MIB
    assert limits["RLIMIT_CORE"] == 0
    assert limits["RLIMIT_NPROC"] >= 33


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid is changed only when the harness runs as root")
def test_root_harness_runs_the_server_as_a_fresh_unprivileged_user(harness):
    seen = seen_by(harness("-k", "single_message", "--process-limit", "33", "--startup-timeout", "5",
                           server("hostile_reports_environment.py")))
    assert seen["uid"] != 0 and seen["euid"] != 0
    assert seen["limits"]["RLIMIT_NPROC"] == 33  # a fresh uid: no other task counts against it


def test_workers_with_servers_on_the_same_hard_coded_port_do_not_collide(harness):
    run = harness("-n", "2", "--suite", "echo", "--reply-timeout", TEST_REPLY_TIMEOUT, server("hostile_fixed_port.py"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.report["server"]["listening"] == "TCP 127.0.0.1:9999"


def test_two_runs_at_once_with_the_same_hard_coded_port_do_not_collide(tmp_path):
    runs = []

    def one(index: int) -> None:
        folder = tmp_path / str(index)
        folder.mkdir()
        runs.append(run_harness("--suite", "echo", "--reply-timeout", TEST_REPLY_TIMEOUT,
                                server("hostile_fixed_port.py"), tmp_path=folder))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert len(runs) == 2
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.report["server"]["listening"] == "TCP 127.0.0.1:9999"
        assert not leftover_server_processes(run.marker)


def test_entering_a_namespace_fails_cleanly_when_the_system_refuses(monkeypatch):
    class Refusing:
        def unshare(self, flags: int) -> int:
            return -1

    monkeypatch.setattr(isolation.ctypes, "CDLL", lambda *a, **k: Refusing())
    monkeypatch.delenv(isolation.MARK, raising=False)
    with pytest.raises(isolation.IsolationUnavailable):
        isolation.enter()


def test_fixed_port_runs_in_parallel_workers_when_isolated(harness):
    run = harness("-n", "2", "--port", "9999", "--suite", "echo", "--reply-timeout", TEST_REPLY_TIMEOUT,
                  server("hostile_fixed_port.py"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "one at a time" not in run.stderr
    assert run.report["server"]["port_source"] == "fixed"


def test_unavailable_reason_is_none_where_namespaces_work():
    assert isolation.unavailable_reason() is None


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare(1)")
def test_a_one_line_note_says_when_isolation_is_unavailable(tmp_path):
    # Inside a user namespace with no uid mapping, nobody may create namespaces:
    # the harness must say so once and run in the host's network.
    report = tmp_path / "report.json"
    completed = subprocess.run(
        ["unshare", "-U", sys.executable, "-m", "harness", "run", "--json", str(report), "-k", "single_message",
         reference("tcp_echo.py")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, stdin=subprocess.DEVNULL,
        env={**os.environ, "HARNESS_TEST_RUN": tmp_path.name + "-unavailable"},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert not leftover_server_processes(f"HARNESS_TEST_RUN={tmp_path.name}-unavailable")
    assert completed.stderr.count("network isolation unavailable") == 1
    notes = json.loads(report.read_text())["notes"]
    assert any("network isolation unavailable" in note for note in notes)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv(1)")
def test_root_without_setuid_capability_says_the_server_runs_as_root(tmp_path):
    # Like a hardened container: root without CAP_SETUID/CAP_SETGID cannot hand the server a uid.
    report = tmp_path / "report.json"
    marker = tmp_path.name + "-nosetuid"
    completed = subprocess.run(
        ["setpriv", "--bounding-set=-setuid,-setgid", sys.executable, "-m", "harness", "run", "--json", str(report),
         "-k", "single_message", "--startup-timeout", "5", server("hostile_reports_environment.py")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, stdin=subprocess.DEVNULL,
        env={**os.environ, "HARNESS_TEST_RUN": marker},
    )
    assert not leftover_server_processes(f"HARNESS_TEST_RUN={marker}")
    assert completed.stderr.count("the server runs as root") == 1, completed.stderr
    data = json.loads(report.read_text())
    line = next(x for x in data["checks"][0]["server_output"].splitlines() if x.startswith("SEEN "))
    assert json.loads(line[5:])["uid"] == 0
    assert any("runs as root" in note for note in data["notes"])


def test_server_gets_a_clean_environment_without_grader_tokens_or_the_check_name(harness):
    """SPEC §5.2: PATH, HOME (its scratch folder), LANG, PORT, HOST, PYTHONUNBUFFERED and the harness's markers."""
    run = harness("-k", "single_message", "--startup-timeout", "5", server("hostile_reports_environment.py"),
                  env={"GRADER_API_TOKEN": "s3cret-token", "PYTHONPATH": "/nowhere"})
    env = seen_by(run)["env"]
    assert "s3cret-token" not in json.dumps(env)
    assert "PYTEST_CURRENT_TEST" not in env and "PYTHONPATH" not in env
    assert env["HOME"] == seen_by(run)["cwd"]
    assert env["PORT"].isdigit() and env["HOST"] == "127.0.0.1" and env["PYTHONUNBUFFERED"] == "1"
    allowed = {"PATH", "HOME", "LANG", "PORT", "HOST", "PYTHONUNBUFFERED", "HARNESS_SERVER_TOKEN", "HARNESS_RUN_ID",
               "HARNESS_TEST_RUN", "LC_CTYPE"}
    assert set(env) <= allowed, set(env) - allowed
