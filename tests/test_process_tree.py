"""A server's process tree never takes in a process that merely got one of its old pids.

On a busy grader (pid_max 32768, hostile servers forking thousands of processes) a pid
is given out again within seconds. The server's own process and its sandbox's init were
roots whatever ran under their pids later, and a session id matched any process on the
machine: ending one server could SIGKILL another run's server (seen once in CI: a fresh
server "exited before it listened (killed by SIGKILL)").
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from harness.server.process_tree import ProcessTree
from harness.system.probe import LinuxProbe


class FakeProbe:
    """Processes as a test says: start times and children; nothing real is touched."""

    name = "fake"
    reads_accept_queue = False

    def __init__(self) -> None:
        self.started: dict[int, float] = {}
        self.children: dict[int, list[int]] = {}

    def start_time(self, pid: int) -> float | None:
        return self.started.get(pid)

    def tree(self, roots: list[int], token: str | None = None, session: int | None = None) -> list[int]:
        found, stack = [], [pid for pid in roots if pid in self.started]
        while stack:
            pid = stack.pop(0)
            if pid not in found:
                found.append(pid)
                stack += self.children.get(pid, [])
        return found


def test_a_root_whose_pid_was_given_to_another_process_is_not_the_servers():
    probe = FakeProbe()
    probe.started = {100: 1.0, 101: 1.5}
    probe.children = {100: [101]}
    tree = ProcessTree(probe, token="t")
    tree.adopt(100)
    assert tree.pids() == [100, 101]
    probe.started = {100: 9.0, 102: 9.1}  # both ended; 100 is another program's now, with a child
    probe.children = {100: [102]}
    assert tree.pids() == []


def test_a_sandbox_init_whose_pid_was_given_to_another_process_is_not_the_servers():
    probe = FakeProbe()
    probe.started = {200: 1.0, 201: 1.1, 202: 1.2}
    probe.children = {200: [201], 201: [202]}
    tree = ProcessTree(probe, token="t")
    tree.adopt(201, init=200)
    assert sorted(tree.pids()) == [201, 202]  # never the init itself
    probe.started = {200: 7.0, 300: 7.1}  # the sandbox is gone; pid 200 is reused
    probe.children = {200: [300]}
    assert tree.pids() == []


def test_a_session_id_takes_in_only_our_own_children():
    """Another program's session leader that got the server's old pid: its session is not the server's."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time\n"
         "p = subprocess.Popen(['sleep', '30'], start_new_session=True)\n"
         "print(p.pid, flush=True)\ntime.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    leader = int(holder.stdout.readline())  # a session leader, not our child
    try:
        probe = LinuxProbe()
        assert leader not in probe.tree([], token="no-such-token", session=leader)
        assert leader not in probe.tree([], session=leader)
        assert leader in probe.tree([leader], token="no-such-token", session=leader)  # a root is taken in
    finally:
        for pid in (leader, holder.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        holder.wait()
