"""The shutdown engine's pure pieces: how an outcome is told, which signals a
process ignores."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from harness.shutdown import ShutdownOutcome, Survivor, ignored_signals


def outcome(**changes) -> ShutdownOutcome:
    base = dict(signal_name="SIGINT", timeout=3.0, target_pid=100, daemonized=False, exit="exit code 0",
                server_seconds=0.02, tree_seconds=0.03, survivors=())
    base.update(changes)
    return ShutdownOutcome(**base)


def test_clean_outcome_tells_how_and_how_fast():
    told = outcome().describe()
    assert told == "the server's process (pid 100) exited (exit code 0) 0.02 s after SIGINT"
    assert outcome().clean


def test_survivors_are_listed_after_the_parent_exited():
    told = outcome(tree_seconds=None, survivors=(Survivor(101, "python s.py 9000"),)).describe()
    assert "exited (exit code 0) 0.02 s after SIGINT, but 1 process it started still ran 3 s after" in told
    assert told.endswith("\n  pid 101: python s.py 9000")


def test_hung_server_with_children_and_an_ignored_signal():
    survivors = (Survivor(100, "python s.py"), Survivor(101, "python s.py"), Survivor(102, "python s.py"))
    told = outcome(signal_name="SIGTERM", exit="still running", server_seconds=None, tree_seconds=None,
                   survivors=survivors, ignored=True).describe()
    assert told.startswith("the server's process (pid 100) was still running 3 s after SIGTERM (--shutdown-timeout)")
    assert "it ignores SIGTERM (its handler is SIG_IGN), and so were 2 processes it started" in told
    assert told.count("\n  pid ") == 3


def test_daemonized_server_is_named_as_such():
    assert "(pid 100, which it daemonized to)" in outcome(daemonized=True).describe()


def test_ignored_signals_reads_the_process_mask():
    child = subprocess.Popen(
        [sys.executable, "-c", "import signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                               "print(flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    try:
        child.stdout.readline()  # the handler is set
        assert signal.SIGTERM in ignored_signals(child.pid)
        assert signal.SIGINT not in ignored_signals(child.pid)
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    assert ignored_signals(os.getpid() + 10_000_000) == set()  # no such process: unknown, not an error
