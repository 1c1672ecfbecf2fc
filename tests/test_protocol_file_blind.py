"""Regressions found by the blind tester (protocol files written from SPEC §6
alone, /work/wt/blind): each proven both ways where it is a check."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, TEST_REPLY_TIMEOUT, server

KV = ROOT / "examples" / "protocols" / "kv"
KV_FILE = str(KV / "kv.toml")
BLIND = ROOT / "tests" / "protocols" / "blind"


# -- B4: `-n N` with a protocol file ------------------------------------------------
def test_protocol_file_suite_imports_alone():
    """The xdist controller names results by importing only this suite module: it must import on its own."""
    result = subprocess.run([sys.executable, "-c", "import harness.suites.test_protocol_file"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_parallel_run_with_a_protocol_file_reports_every_check(harness):
    result = harness("-n", "2", "--protocol", KV_FILE, "--reply-timeout", TEST_REPLY_TIMEOUT,
                     "--suite", "concurrency", str(KV / "kv_server.py"), "{port}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "INTERNALERROR" not in result.stderr
    assert {"concurrency::idle_client_does_not_block", "concurrency::simultaneous_conversations"} <= \
        result.ids_with("passed")
