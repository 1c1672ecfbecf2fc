"""Start-up advice fits what the server printed: the sandbox's 'not found' advice
answers the shell's and the OS's wording, never a server's own message."""

from __future__ import annotations

import pytest

from harness.server.startup_advice import startup_advice


@pytest.mark.parametrize("tail", [
    "FileNotFoundError: [Errno 2] No such file or directory: 'data/words.txt'",
    "sh: 1: mytool: not found",
    "bash: mytool: command not found",
    "Error: ENOENT: no such file or directory, open 'config.json'",
])
def test_a_missing_file_or_program_in_the_sandbox_gets_the_sandbox_advice(tail):
    assert "sandbox" in (startup_advice(tail, None, True, True) or "")


@pytest.mark.parametrize("tail", [
    "RuntimeError: boom at startup: database not found",
    "KeyError: 'user not found'",
])
def test_a_servers_own_not_found_message_is_not_blamed_on_the_sandbox(tail):
    assert "sandbox" not in (startup_advice(tail, None, True, True) or "")


def test_outside_the_sandbox_a_missing_file_is_not_blamed_on_it():
    assert "sandbox" not in (startup_advice("[Errno 2] No such file or directory: 'x'", None, True, False) or "")
