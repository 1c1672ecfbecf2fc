"""Regressions found by the fourth blind tester (/work/blind4/REPORT.md,
"PROBLEMS"): each proven both ways where it is a check."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, TEST_REPLY_TIMEOUT, server
from harness.protocolfile.loader import ProtocolFileError, load_protocol_file

BLIND4 = ROOT / "tests" / "protocols" / "blind4"
CONCURRENCY = ("concurrency::simultaneous_conversations", "concurrency::idle_client_does_not_block",
               "concurrency::stalled_client_does_not_block", "concurrency::survives_abrupt_disconnect",
               "concurrency::no_descriptor_leak", "concurrency::idle_without_busy_loop")
GOOD_HEAD = 'name = "p"\ntransport = "tcp"\nframing = "line"\n'


def write(tmp_path: Path, text: str, name: str = "proto.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ProtocolFileError) as error:
        load_protocol_file(path)
    message = str(error.value)
    assert message.startswith(str(path)) and "\n" not in message, message
    return message


# -- 1: a recommended conversation's failure never fails a required check ----------------------
def test_a_failing_recommended_conversation_listed_first_fails_no_required_check(harness):
    result = harness("--protocol", str(BLIND4 / "kv_recommended_first.toml"), "--reply-timeout", TEST_REPLY_TIMEOUT,
                     "--suite", "conversation", "--suite", "concurrency", server("kv_wrong_help.py"), "{port}")
    outcomes = result.outcomes()
    assert outcomes["conversation::help"] == "warning", result.stdout
    assert {check: outcomes[check] for check in CONCURRENCY} == {check: "passed" for check in CONCURRENCY}, \
        result.stdout
    assert result.returncode == 0, result.stdout


def test_the_required_checks_still_run_the_required_conversation(harness, tmp_path):
    # The same file, with `help` required: the same server now fails the concurrency checks that run it.
    text = (BLIND4 / "kv_recommended_first.toml").read_text().replace('tier = "recommended"\n', "")
    path = write(tmp_path, text)
    result = harness("--protocol", str(path), "--reply-timeout", TEST_REPLY_TIMEOUT, "--check", CONCURRENCY[0],
                     "--check", CONCURRENCY[1], server("kv_wrong_help.py"), "{port}")
    assert result.outcomes() == {CONCURRENCY[0]: "failed", CONCURRENCY[1]: "failed"}, result.stdout


def test_a_file_with_no_required_conversation_is_a_bad_file(tmp_path):
    text = GOOD_HEAD + '[[conversation]]\nname = "c1"\ntier = "recommended"\nsteps = [{ send = "a" }]\n'
    assert "make at least one required" in load_error(tmp_path, text)
