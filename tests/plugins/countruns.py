"""Test-only pytest plugin, loaded into `harness run` through PYTEST_ADDOPTS:
with HARNESS_TEST_COUNT_RUNS=PATH, every run of a check's body (the first and
any retry on a fresh server) appends the check's node id as a line to PATH."""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    path = os.environ.get("HARNESS_TEST_COUNT_RUNS")
    if not path:
        return
    for item in items:
        run = item.runtest

        def counted(run=run, nodeid=item.nodeid) -> None:
            with open(path, "a", encoding="utf-8") as f:
                f.write(nodeid + "\n")
            run()

        item.runtest = counted  # type: ignore[method-assign]
