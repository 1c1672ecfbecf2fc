"""Shared helpers for the harness's own tests: run `harness run` as a user would
and read its JSON report; prove that no server process outlives a run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVERS = Path(__file__).resolve().parent / "servers"
REFERENCE = ROOT / "reference_servers"
#: Generous for a correct server on a loaded 2-core machine, short enough that
#: the checks a buggy server fails by silence do not make the suite slow.
TEST_REPLY_TIMEOUT = "1.0"
#: HARNESS_TEST_NO_BWRAP=1 runs every `harness run` of the tests in the fallback (no bubblewrap).
FALLBACK = ("--no-bwrap",) if os.environ.get("HARNESS_TEST_NO_BWRAP") else ()



def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than the machine has cores. These tests mostly wait on servers
    (sleeps, silences, timeouts): two workers on two cores kept the CPUs 58 % busy (12 min 6 s);
    three took 8 min 55 s."""
    return (os.cpu_count() or 1) + 1

@pytest.fixture(scope="session", autouse=True)
def harness_temporaries(tmp_path_factory):
    """Every harness run these tests start (and every server pool made here)
    keeps its `harness-run-*` folders in one folder of this session's, removed
    at its end: a run killed on purpose (the SIGKILL tests) cannot clean up
    after itself, and the tests must leave nothing behind in /tmp."""
    import shutil
    import tempfile

    tmp_path_factory.getbasetemp()  # pytest's own folders stay where they are
    folder = Path(tempfile.mkdtemp(prefix="harness-tests-"))
    folder.chmod(0o711)  # an unprivileged server reaches its scratch copy through it
    previous = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None  # this process's own mkdtemp() follows too
    yield folder
    if previous is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = previous
    tempfile.tempdir = None
    shutil.rmtree(folder, ignore_errors=True)


@dataclass
class HarnessRun:
    marker: str
    returncode: int
    stdout: str
    stderr: str
    report: dict | None
    elapsed: float
    pid: int = 0  # the `harness run` process (names its memory cgroups)

    def outcomes(self) -> dict[str, str]:
        assert self.report is not None, f"no JSON report; stderr:\n{self.stderr}"
        return {c["id"]: c["outcome"] for c in self.report["checks"]}

    def ids_with(self, outcome: str) -> set[str]:
        return {i for i, o in self.outcomes().items() if o == outcome}

    def check(self, check_id: str) -> dict:
        assert self.report is not None
        return next(c for c in self.report["checks"] if c["id"] == check_id)


def leftover_server_processes(marker: str = "HARNESS_SERVER_TOKEN=") -> list[str]:
    """Processes whose environment holds `marker` (by default: any harness server)."""
    needle = marker.encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if needle not in f.read():
                    continue
            with open(f"/proc/{name}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                found.append(f"{name}: " + f.read().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def run_harness(*args: str, tmp_path: Path, timeout: float = 120, cwd: Path | None = None, env: dict | None = None) -> HarnessRun:
    """Run `harness run ARGS` in a subprocess with a JSON report."""
    marker = f"HARNESS_TEST_RUN={uuid.uuid4().hex}"
    report_path = tmp_path / f"report-{time.monotonic_ns()}.json"
    command = [sys.executable, "-m", "harness", "run", "--json", str(report_path), *FALLBACK, *args]
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd or tmp_path,
        env={**os.environ, **(env or {}), "HARNESS_TEST_RUN": marker.partition("=")[2]}, stdin=subprocess.DEVNULL,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        # A hung run (or this test being timed out) must not leave servers behind:
        # SIGTERM lets the harness clean up; whatever still carries the marker is killed.
        process.terminate()
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
        kill_marked_processes(marker)
        raise
    elapsed = time.monotonic() - started
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return HarnessRun(marker, process.returncode, stdout, stderr, report, elapsed, process.pid)


def kill_marked_processes(marker: str) -> None:
    """SIGKILL every process whose environment holds `marker` (last-resort cleanup)."""
    for line in leftover_server_processes(marker):
        try:
            os.kill(int(line.partition(":")[0]), signal.SIGKILL)
        except (ProcessLookupError, PermissionError, ValueError):
            pass


@pytest.fixture
def harness(tmp_path):
    """Call as harness(*args); asserts afterwards that no server process survived."""

    def call(*args: str, **kwargs) -> HarnessRun:
        result = run_harness(*args, tmp_path=tmp_path, **kwargs)
        # The harness has exited: its servers must already be gone (no grace period).
        survivors = leftover_server_processes(result.marker)
        kill_marked_processes(result.marker)  # so a failing assertion leaks nothing either
        assert not survivors, f"server processes survived the run: {survivors}"
        return result

    return call


def server(name: str) -> str:
    path = SERVERS / name
    assert path.exists(), path
    return str(path)


def reference(name: str) -> str:
    return str(REFERENCE / name)
