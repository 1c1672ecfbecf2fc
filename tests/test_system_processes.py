"""The process table (`harness.system.processes`): both readers, /proc and
psutil, find the same processes, so a platform without /proc sweeps the same."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest

from harness.deadline import Deadline, poll_until
from harness.system import processes

needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="the /proc reader needs /proc")


@pytest.fixture(params=[pytest.param(True, marks=needs_proc, id="proc"), pytest.param(False, id="psutil")])
def reader(request, monkeypatch):
    monkeypatch.setattr(processes, "PROC", request.param)
    return request.param


@pytest.fixture
def sleeper():
    """A child process carrying a marker of its own in its environment."""
    marker = uuid.uuid4().hex
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                             env={**os.environ, "HARNESS_TEST_SWEEP": marker}, start_new_session=True)
    yield child, marker
    child.kill()
    child.wait()


def test_processes_with_env_finds_exactly_the_marked_process(reader, sleeper):
    child, marker = sleeper
    assert processes.processes_with_env("HARNESS_TEST_SWEEP", marker) == [child.pid]
    assert processes.processes_with_env("HARNESS_TEST_SWEEP", marker[:-1]) == []  # a prefix is another marker


def test_processes_with_env_never_lists_this_process(reader, monkeypatch):
    monkeypatch.setenv("HARNESS_TEST_SWEEP_SELF", "me")
    assert os.getpid() not in processes.processes_with_env("HARNESS_TEST_SWEEP_SELF", "me")


def test_live_children_and_zombie_children(reader):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    assert child.pid in processes.live_children(os.getpid())
    os.kill(child.pid, signal.SIGKILL)
    # Dead and unreaped: a zombie, no longer live, in its own session (it is its leader).
    assert poll_until(lambda: child.pid not in processes.live_children(os.getpid()), Deadline(5))
    assert processes.zombie_children(os.getpid(), child.pid) == []  # a session's leader is never listed
    assert processes.reap([child.pid]) == 1
    child.returncode = -signal.SIGKILL  # reaped above: Popen must not wait for (or signal) it again


def test_kill_reports_which_processes_it_reached(sleeper):
    child, _ = sleeper
    gone = 2**22 + 12345  # above any pid_max: no such process
    assert processes.kill([child.pid, gone]) == [child.pid]
    child.wait(timeout=5)


def test_ignored_signals_of_a_missing_process_are_unknown():
    assert processes.ignored_signals(2**22 + 12345) == set()


def test_zombie_children_lists_the_dead_children_in_a_session(reader):
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # in this process's session
    assert poll_until(lambda: child.pid in processes.zombie_children(os.getpid(), os.getsid(0)), Deadline(5))
    assert processes.reap([child.pid]) == 1
    child.returncode = 0  # reaped above


def test_a_users_processes_and_threads(reader, sleeper):
    child, _ = sleeper
    mine = processes.pids_of_user(os.getuid())
    assert os.getpid() in mine and child.pid in mine
    assert processes.pids_of_user(2**31 - 7) == []  # nobody's uid
    assert processes.threads_of_user(os.getuid()) >= len(mine)


def test_children_by_parent(reader, sleeper):
    child, _ = sleeper
    assert child.pid in processes.children_by_parent()[os.getpid()]
