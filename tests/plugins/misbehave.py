"""Test-only pytest plugin, loaded into `harness run` through PYTEST_ADDOPTS,
that makes the harness's own test process misbehave during one check:

- HARNESS_TEST_HANG=CHECK_ID: the check sleeps (bounded: 600 s), as if stuck.
- HARNESS_TEST_CRASH=CHECK_ID: the process running the check dies by SIGKILL
  (an xdist worker crash).
- HARNESS_TEST_CRASH_WORKERS=1: every xdist worker dies as it starts.
"""

from __future__ import annotations

import os
import signal
import time

import pytest


def _check_id(item: pytest.Item) -> str | None:
    return getattr(getattr(item, "function", None), "harness_check", None)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    check = _check_id(item)
    if check and check == os.environ.get("HARNESS_TEST_HANG"):
        time.sleep(600)
    if check and check == os.environ.get("HARNESS_TEST_CRASH"):
        os.kill(os.getpid(), signal.SIGKILL)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("HARNESS_TEST_CRASH_WORKERS") and hasattr(config, "workerinput"):
        os.kill(os.getpid(), signal.SIGKILL)
