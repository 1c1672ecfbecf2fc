"""The stop signal is never lost: also when CPython runs our handler inside a
finalizer, which drops whatever it raises (a CI run once carried on to the
end after SIGTERM and wrote a report that was not marked interrupted)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from harness import interrupts as interrupts_module

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, time
    from harness import interrupts

    {install}

    class SignalledWhileFinalizing:
        def __del__(self):
            os.kill(os.getpid(), signal.{signal})
            busy = 0
            for i in range(10_000):  # the handler runs somewhere in here
                busy += i

    try:
        SignalledWhileFinalizing()
        for _ in range(20):
            time.sleep(0.1)
        print("carried on")
    except KeyboardInterrupt:
        print("stopped")
    os.kill(os.getpid(), signal.SIGTERM)  # a second signal: noted, nothing raised
    print("cleanup done")
    """
)


def run_script(install: str, sig: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT.format(install=install, signal=sig)],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_stop_raised_inside_a_finalizer_is_raised_again(sig):
    result = run_script("interrupts.interrupt_once()", sig)
    assert result.stdout.split() == ["stopped", "cleanup", "done"], result.stderr
    assert "Exception ignored" not in result.stderr
    assert "already stopping" in result.stderr


def test_without_the_watch_a_finalizer_drops_the_stop():
    """The other way round: a plain KeyboardInterrupt-raising handler loses it."""
    install = "def plain(signum, frame):\n    raise KeyboardInterrupt\nsignal.signal(signal.SIGTERM, plain)"
    result = run_script(install, "SIGTERM")
    assert result.stdout.splitlines()[0] == "carried on"
    assert "Exception ignored" in result.stderr


SWALLOWED = textwrap.dedent(
    """
    import os, signal, time
    from harness import interrupts

    interrupts.interrupt_once()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
    except BaseException:
        pass  # code that swallows everything, KeyboardInterrupt included
    {after}
    started = time.monotonic()
    try:
        for _ in range(60):
            time.sleep(0.1)
        print("carried on")
    except KeyboardInterrupt:
        print(f"stopped {{time.monotonic() - started:.1f}}")
    """
)


def test_a_stop_swallowed_elsewhere_is_raised_again_until_pytest_takes_it():
    lost = subprocess.run([sys.executable, "-c", SWALLOWED.format(after="")], capture_output=True, text=True, timeout=30)
    assert lost.stdout.startswith("stopped"), lost.stdout + lost.stderr
    assert float(lost.stdout.split()[1]) <= interrupts_module.LOST_AFTER_S + 2  # raised again, not at the end
    taken = subprocess.run([sys.executable, "-c", SWALLOWED.format(after="interrupts.taken()")],
                           capture_output=True, text=True, timeout=30)
    assert taken.stdout.strip() == "carried on", taken.stdout + taken.stderr  # pytest has it: nothing more


EARLY = textwrap.dedent(
    """
    import os, signal, sys
    from harness.cli import entry

    class StopWhileLoading:
        '''The stop arrives while Python is still importing the harness (its first few tenths of a second).'''
        def find_spec(self, name, path=None, target=None):
            if name == "harness.cli.main":
                sys.meta_path.remove(self)
                os.kill(os.getpid(), signal.{signal})
            return None

    sys.meta_path.insert(0, StopWhileLoading())
    sys.exit(entry.main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_stop_while_the_harness_is_still_loading_is_one_line_exit_130_and_a_report(tmp_path, sig):
    import json

    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-c", EARLY.format(signal=sig), "run", "--json", str(report),
                           str(tmp_path / "server.py"), "{port}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "harness: interrupted before the first check: no check ran\n", done.stderr
    data = json.loads(report.read_text())
    assert data["interrupted"] is True and data["checks"] == []
