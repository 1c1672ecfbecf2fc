"""The command line's other faces: `harness list`, the pytest plugin, per-check timeouts."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import leftover_server_processes, reference, server


def test_list_shows_every_check_with_description_and_expectation(tmp_path):
    out = subprocess.run([sys.executable, "-m", "harness", "list", "--protocol", "udp-echo"],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0
    assert "echo::empty_datagram_answered (recommended)" in out.stdout
    assert "expect: an empty reply" in out.stdout
    assert "echo::half_close" not in out.stdout  # a TCP-only check


def test_pytest_plugin_mode(tmp_path):
    import harness.suites

    suites = os.path.dirname(harness.suites.__file__)
    report = tmp_path / "report.json"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-c", os.devnull, "--rootdir", suites,
         suites, "--server", f"{reference('udp_echo.py')} {{port}}", "--protocol", "udp-echo",
         "--suite", "echo", "--harness-json", str(report)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "HARNESS_TEST_RUN": "plugin-mode-" + tmp_path.name},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "8 passed" in out.stdout
    assert report.exists()
    assert not leftover_server_processes("HARNESS_TEST_RUN=plugin-mode-" + tmp_path.name)


def test_check_timeout_is_the_last_line_of_defence(harness):
    run = harness("--check-timeout", "1", "--reply-timeout", "30", "-k", "single_message",
                  server("tcp_wait_eof.py"), "{port}")
    assert run.check("echo::single_message")["message"] == "the check did not finish within 1 s (--check-timeout)"
    assert run.returncode == 1


def test_harness_option_after_server_is_pointed_out(harness):
    run = harness("-k", "single_message", reference("tcp_echo.py"), "{port}", "--suite", "echo")
    assert "note: --suite came after SERVER, so the server receives it" in run.stderr


def test_protocol_file_is_also_accepted_as_the_option_an_instructor_guesses(harness):
    from conftest import ROOT

    kv = ROOT / "examples" / "protocols" / "kv"
    run = harness("--protocol-file", str(kv / "kv.toml"), "--check", "conversation::set_then_get",
                  str(kv / "kv_server.py"), "{port}")
    assert run.outcomes() == {"conversation::set_then_get": "passed"}, run.stdout + run.stderr
    assert run.report["protocol"] == "kv"


def test_list_refuses_an_unknown_suite_as_run_does():
    for extra in ((), ("--protocol", "udp-echo")):
        listed = subprocess.run([sys.executable, "-m", "harness", "list", *extra, "--suite", "zzz"],
                                capture_output=True, text=True, timeout=60)
        assert listed.returncode == 2 and "unknown suite 'zzz'" in listed.stderr, listed.stderr
