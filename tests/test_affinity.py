"""CPU placement for the speed suite: the generator apart from the servers,
and everything put back afterwards."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness.system import affinity


def test_plan_gives_the_generator_one_cpu_and_the_servers_the_rest():
    assert affinity.plan({0}) is None
    placement = affinity.plan({3, 1, 2})
    assert placement == affinity.Placement(frozenset({1}), frozenset({2, 3}))
    assert placement.describe() == "load generator on CPU 1, servers on CPU 2,3"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs sched_setaffinity and 2 CPUs")
def test_generator_apart_moves_every_server_thread_and_puts_all_back():
    code = "import threading, time; threading.Thread(target=time.sleep, args=(30,)).start(); print(flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    allowed = os.sched_getaffinity(0)
    try:
        child.stdout.readline()  # both threads exist
        with affinity.generator_apart([lambda: [child.pid]]) as apart:
            placement = apart.placement
            assert placement is not None
            assert os.sched_getaffinity(0) == placement.generator
            threads = affinity.threads_of([child.pid])
            assert len(threads) == 2
            assert all(os.sched_getaffinity(tid) == placement.servers for tid in threads)
        assert os.sched_getaffinity(0) == allowed
        assert all(os.sched_getaffinity(tid) == allowed for tid in affinity.threads_of([child.pid]))
    finally:
        child.kill()
        child.wait(timeout=10)
