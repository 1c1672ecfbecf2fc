"""The pool's spares: a slow, mostly waiting server gets instances started
ahead, each on a port of its own; a fast or CPU-bound starter does not; none
outlives the pool. (Whether that saves time is for benchmarks, not tests.)"""

from __future__ import annotations

import sys

from harness.server.launcher import ServerSpec
from harness.server.pool import SPARES, ServerPool

SERVE = "import socket,sys;s=socket.create_server(('127.0.0.1',int(sys.argv[1])));s.accept()"
WAITS = "import time;time.sleep(1.2);" + SERVE


def pool_for(code: str) -> ServerPool:
    return ServerPool(ServerSpec(argv=(sys.executable, "-c", code, "{port}")))


def test_a_slow_waiting_server_gets_spares_on_ports_of_their_own():
    pool = pool_for(WAITS)
    try:
        first = pool.fresh()
        spares = list(pool._spares)
        assert len(spares) == SPARES
        ports = {first.port, *(spare.port for spare in spares)}
        assert len(ports) == SPARES + 1
        second = pool.fresh()
        assert second is spares[0] and second.endpoint is not None and second.endpoint.port == spares[0].port
        assert len(pool._spares) == SPARES  # topped up again
    finally:
        pool.close()
    assert not any(instance.alive() or instance.pids() for instance in pool._instances)


def test_no_spares_for_a_fast_start():
    pool = pool_for(SERVE)
    try:
        pool.fresh()
        assert pool._spares == []
    finally:
        pool.close()


def test_no_spares_for_a_cpu_bound_start(monkeypatch):
    """Slow, but computing all along (the CPU figure is set: a loaded machine would blur a real one)."""
    pool = pool_for(WAITS)
    try:
        first = pool._new()
        first.start()
        monkeypatch.setattr(first.probe, "cpu_seconds", lambda pids: 0.9 * (first.startup_s or 0.0))
        assert not pool._worth_spares(first)
        monkeypatch.setattr(first.probe, "cpu_seconds", lambda pids: 0.1 * (first.startup_s or 0.0))
        assert pool._worth_spares(first)
    finally:
        pool.close()


def test_a_restart_on_a_given_port_never_takes_a_spare():
    pool = pool_for(WAITS)
    try:
        first = pool.fresh()
        port = first.port
        first.stop()
        again = pool.fresh(port)
        assert again.endpoint is not None and again.endpoint.port == port
        assert again not in pool._spares and len(pool._spares) == SPARES
    finally:
        pool.close()
