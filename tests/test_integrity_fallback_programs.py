"""The fallback as root: a server that is an executable of the submission (a start script, a compiled
binary) runs as its uid without any capability. Blind 22 A1: judged as "others", the program in its
scratch copy (the uid's 0700 folder) never was reachable, and every such server got CAP_DAC_READ_SEARCH
and read the instructor's, root's and classmates' files."""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import TEST_REPLY_TIMEOUT

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="the fallback drops root to a uid of its own only as root, with setpriv")


def test_an_executable_server_in_the_fallback_reads_no_root_only_file(harness, tmp_path):
    secret = tmp_path / "root-only.txt"
    secret.write_text("ROOT-ONLY-SECRET\n")
    secret.chmod(0o600)
    submission = tmp_path / "alice"
    submission.mkdir()
    script = submission / "server.sh"
    script.write_text(f"#!/bin/sh\ngrep CapEff /proc/self/status >&2\ncat {secret} >&2 || echo DENIED >&2\nexit 1\n")
    script.chmod(0o755)
    run = harness("--no-bwrap", "--startup-timeout", "10", "--reply-timeout", TEST_REPLY_TIMEOUT,
                  "-k", "single_message", str(script), "{port}", cwd=submission)
    assert run.returncode == 3, run.stdout
    shown = run.report["server"]["startup_error"] + run.stdout
    assert "DENIED" in shown and "ROOT-ONLY-SECRET" not in shown, shown
    assert "CapEff:\t0000000000000000" in shown, shown
