"""Which port is tested: the assigned one whenever the server listens there in
time, even after it opened another port first (a status port, or decoys to be
graded on); a port of its own only after the grace, and once learnt, without
waiting again."""

from __future__ import annotations

import socket
import sys

import pytest

from harness.deadline import Deadline
from harness.server import readiness
from harness.server.launcher import ServerProcess, ServerSpec
from harness.server.pool import ServerPool
from harness.system.sockdiag import SocketInfo

ASSIGNED, OTHER = 24000, 25000


def listener(port: int) -> SocketInfo:
    return SocketInfo("tcp", socket.AF_INET, "127.0.0.1", port, "0.0.0.0", 0, "LISTEN", port)


class ScriptedProbe:
    """The server's listeners at each scan: `script[i]` at scan i, the last one after."""

    def __init__(self, script: list[list[int]]) -> None:
        self.script = script
        self.scans = 0

    def bound_sockets(self, pids: list[int], transport: str) -> list[SocketInfo]:
        if transport != "tcp":
            return []
        ports = self.script[min(self.scans, len(self.script) - 1)]
        self.scans += 1
        return [listener(port) for port in ports]


def wait(probe: ScriptedProbe, timeout: float, grace: float) -> readiness.Listening:
    return readiness.wait_until_listening(probe, "tcp", ASSIGNED, False, lambda _: [1], lambda: False,
                                          Deadline(timeout), grace)


def test_a_port_opened_first_waits_for_the_assigned_port():
    probe = ScriptedProbe([[OTHER]] * 5 + [[OTHER, ASSIGNED]])
    sockets, source, _ = wait(probe, timeout=30, grace=20)
    assert source == "assigned" and [s.local_port for s in sockets] == [ASSIGNED]


def test_without_grace_the_other_port_is_taken_at_once():
    probe = ScriptedProbe([[OTHER]] * 5 + [[OTHER, ASSIGNED]])
    sockets, source, _ = wait(probe, timeout=30, grace=0)
    assert source == "discovered" and [s.local_port for s in sockets] == [OTHER]
    assert probe.scans == 1


def test_the_startup_timeout_ends_the_grace_with_the_port_found():
    deadline = Deadline(1.0)
    sockets, source, since = readiness.wait_until_listening(
        ScriptedProbe([[OTHER]]), "tcp", ASSIGNED, False, lambda _: [1], lambda: False, deadline, 20)
    assert source == "discovered" and [s.local_port for s in sockets] == [OTHER]
    assert since < deadline.at  # ready when it first listened, not when the harness stopped waiting


def test_a_listener_that_went_away_is_not_taken_at_the_timeout():
    with pytest.raises(readiness.NotListening):
        wait(ScriptedProbe([[OTHER], []]), timeout=0.2, grace=20)


OWN_PORT = "import socket;s=socket.create_server(('127.0.0.1',0));s.listen();s.accept()"


def test_the_pool_waits_the_grace_once_for_a_server_on_a_port_of_its_own(monkeypatch):
    graces: list[float] = []
    original = ServerProcess.wait_until_ready

    def recording(self: ServerProcess, grace: float = readiness.ASSIGNED_PORT_GRACE):
        graces.append(grace)
        return original(self, grace)

    monkeypatch.setattr(ServerProcess, "wait_until_ready", recording)
    pool = ServerPool(ServerSpec(argv=(sys.executable, "-c", OWN_PORT)))
    try:
        first = pool.fresh()
        second = pool.fresh()
        assert first.endpoint is not None and first.endpoint.port_source == "discovered"
        assert second.endpoint is not None and second.endpoint.port_source == "discovered"
        assert graces == [readiness.ASSIGNED_PORT_GRACE, 0.0]
    finally:
        pool.close()
