"""The harness itself under trouble: Ctrl+C mid-run, a stuck run, a crashed
xdist worker. Each ends with a report, the right exit code, and no server left.

The stuck run and the crashed worker are produced by a test-only plugin
(tests/plugins/misbehave.py) loaded through PYTEST_ADDOPTS, so they prove the
harness's reaction, whatever would cause such trouble in real life."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import ROOT, kill_marked_processes, leftover_server_processes, reference, server

PLUGINS = str(ROOT / "tests" / "plugins")
BOTH = pytest.mark.parametrize("workers", ["0", "2"])


def misbehaving(**variables: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [PLUGINS, os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, "PYTEST_ADDOPTS": "-p misbehave", **variables}


def start_until_a_server_runs(tmp_path: Path, marker: str, *args: str) -> subprocess.Popen:
    """`harness run ARGS` in the background, returned once its first server is ready."""
    process = subprocess.Popen([sys.executable, "-m", "harness", "run", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, cwd=tmp_path, stdin=subprocess.DEVNULL,
                               env={**os.environ, "HARNESS_TEST_RUN": marker}, start_new_session=True)
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    for line in process.stdout:  # bounded: the run itself ends within its deadlines
        if "server ready" in line or time.monotonic() > deadline:
            break
    if not leftover_server_processes(f"HARNESS_TEST_RUN={marker}"):
        process.kill()
        process.wait()
        pytest.fail("no server was running mid-run")
    return process


@pytest.mark.parametrize(
    ("workers", "target"),
    [("0", "harness"), ("2", "harness"), ("0", "group-3x"), ("2", "group-3x"), ("0", "sigterm")],
)  # `kill -INT PID`; an impatient Ctrl+C, three times, to the terminal's process group; `kill PID`
def test_sigint_mid_run_stops_the_servers_and_writes_a_partial_report(tmp_path, workers, target):
    marker = uuid.uuid4().hex
    report = tmp_path / "report.json"
    process = start_until_a_server_runs(tmp_path, marker, "-n", workers, "--json", str(report), "--suite", "shutdown",
                                        server("hostile_ignores_signals.py"), "{port}")
    try:
        if target == "harness":
            process.send_signal(signal.SIGINT)
        elif target == "sigterm":
            process.send_signal(signal.SIGTERM)
        else:
            for _ in range(3):
                os.killpg(process.pid, signal.SIGINT)
                time.sleep(0.1)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, output  # interrupted, whatever failed before the stop
    assert "--full-trace" not in output and "!!!" not in output, output  # no pytest banner
    assert "interrupted: the servers were stopped" in output
    assert output.count("already stopping") <= 1, output
    data = json.loads(report.read_text())
    assert data.get("interrupted") is True, output
    assert data["summary"]["passed"] + data["summary"]["failed"] < 7, output  # partial: the suite has 7 checks
    assert not leftover_server_processes(f"HARNESS_TEST_RUN={marker}"), output


@BOTH
def test_watchdog_ends_a_stuck_run_and_says_where(harness, workers):
    run = harness("-n", workers, "--suite", "echo", "--watchdog", "10", "--check-timeout", "300",
                  reference("tcp_echo.py"), env=misbehaving(HARNESS_TEST_HANG="echo::binary_bytes"))
    assert run.returncode == 1
    check = run.check("echo::binary_bytes")
    assert check["outcome"] == "error"
    assert "no progress for 10 s" in check["message"] and "in check echo::binary_bytes (call)" in check["message"]
    assert run.report["interrupted"] is True
    assert any("watchdog" in note for note in run.report["notes"])
    # ... and on the terminal: it fired while pytest captured the check's output, which hid it.
    assert "E echo::binary_bytes" in run.stdout and "no progress for 10 s" in run.stdout + run.stderr, run.stdout
    assert run.elapsed < 120  # far below the 300 s check timeout and the 600 s hang


def test_crashed_worker_is_reported_as_an_error(harness):
    run = harness("-n", "2", "--suite", "echo", reference("tcp_echo.py"),
                  env=misbehaving(HARNESS_TEST_CRASH="echo::single_message"))
    assert run.returncode == 1
    check = run.check("echo::single_message")
    assert check["outcome"] == "error" and "crashed" in check["message"]
    assert any("crashed" in note for note in run.report["notes"])
    assert run.report["summary"]["passed"] >= 5  # the other worker (and a replacement) ran the rest


def test_workers_crashing_at_start_are_an_internal_error_not_an_empty_success(harness):
    run = harness("-n", "2", "--suite", "echo", reference("tcp_echo.py"), env=misbehaving(HARNESS_TEST_CRASH_WORKERS="1"))
    assert run.returncode == 4
    assert "crashed" in run.stderr
    assert run.report is not None and "crashed" in run.report["server"]["startup_error"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("form", ["file.py", "-- command"])
def test_a_harness_killed_with_sigkill_takes_its_server_along(tmp_path, form):
    """No cleanup code runs after SIGKILL: the kernel's parent-death signal ends the server."""
    marker = uuid.uuid4().hex
    target = [reference("tcp_echo.py"), "{port}"] if form == "file.py" else ["--", sys.executable,
                                                                            reference("tcp_echo.py"), "{port}"]
    process = start_until_a_server_runs(tmp_path, marker, "--suite", "echo", *target)
    process.kill()
    process.wait()
    gone = time.monotonic() + 5
    while leftover_server_processes(f"HARNESS_TEST_RUN={marker}") and time.monotonic() < gone:
        time.sleep(0.05)
    survivors = leftover_server_processes(f"HARNESS_TEST_RUN={marker}")
    kill_marked_processes(f"HARNESS_TEST_RUN={marker}")  # so a failing assertion leaks nothing
    assert not survivors
