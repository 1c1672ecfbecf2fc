"""The fixtures the suites use, and the retry of a check on a fresh server.

Rules:
- Suites reach the run only through these fixtures: `settings`, `server` and
  `endpoint` (the shared instance), `fresh_server` (private instances),
  `server_pool` (the pool, e.g. for its `spec`), `served_files` (tcp-file's
  catalogue), `inform` (an informational check's findings). No suite imports
  the plugin.
- A check that never got through to the shared server (its contact record
  stays untouched: `harness.clients.contact`) while that server was quitting
  (a single-shot server) is run once more, on a fresh shared server. Every
  client reports into the record, TCP and UDP alike.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from harness.clients import contact
from harness.clients.patience import PATIENCE
from harness.deadline import Deadline, poll_until
from harness.errors import CheckFailed
from harness.evidence import wirelog
from harness.plugin.keys import INFO_OF_ITEM, POOL, SERVER_OF_ITEM, SETTINGS
from harness.results.report import render_bytes
from harness.server.launcher import Endpoint, ServerProcess
from harness.server.pool import ServerPool
from harness.server.served_files import ServedFiles
from harness.settings import Settings


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    """The run's validated settings (timeouts, limits, protocol)."""
    found = request.config.stash.get(SETTINGS, None)
    if found is None:
        pytest.skip("no --server given")
    return found


@pytest.fixture
def server_pool(request: pytest.FixtureRequest, settings: Settings) -> ServerPool:
    """The pool that starts this process's server instances (its `spec` is how they start)."""
    return request.config.stash[POOL]


@pytest.fixture
def served_files(server_pool: ServerPool) -> ServedFiles:
    """The catalogue of files the harness placed in every server's directory (tcp-file)."""
    return server_pool.served_files


@pytest.fixture
def server(request: pytest.FixtureRequest, server_pool: ServerPool) -> ServerProcess:
    """The shared running server (restarted first if it died in an earlier check)."""
    instance = server_pool.shared()
    request.node.stash[SERVER_OF_ITEM] = instance
    return warmed_up(instance, server_pool)


@pytest.fixture
def endpoint(server: ServerProcess) -> Endpoint:
    """Where to reach the shared server."""
    assert server.endpoint is not None
    return server.endpoint


def warmed_up(instance: ServerProcess, pool: ServerPool) -> ServerProcess:
    """`instance`, once it has been ready (port bound) as long as this server was learnt to need before it
    answers (PATIENCE.warm_up: its first reply came late): a check on a fresh instance must not fail again for
    what the first failure already said. Spares are then started ahead, so that they warm up meanwhile."""
    if PATIENCE.warm_up and instance.launched_at is not None:
        pool.start_ahead()
        # From its launch: a spare found listening long after its bind would count from then.
        binds_in = (pool.first_facts or {}).get("startup_s") or 0.0
        wait = instance.launched_at + binds_in + PATIENCE.warm_up - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, instance.spec.startup_timeout))
    return instance


@pytest.fixture
def fresh_server(request: pytest.FixtureRequest, server_pool: ServerPool) -> Iterator[Any]:
    """A factory of private server instances, for checks that end their server."""
    if server_pool.startup_error is not None:
        raise server_pool.startup_error  # known not to start: an error before the check, not a failure of it
    started: list[ServerProcess] = []

    def start(port: int | None = None) -> ServerProcess:
        instance = server_pool.fresh(port)
        started.append(instance)
        request.node.stash[SERVER_OF_ITEM] = instance
        return warmed_up(instance, server_pool)

    yield start
    for instance in started:
        instance.stop()


@pytest.fixture
def inform(request: pytest.FixtureRequest) -> Any:
    """For informational checks (speed figures, demonstrations): record what the
    check saw. Its result becomes outcome "info" with this message and these
    figures/bytes; with `graded=True` (an assignment turned a figure into a
    threshold) it stays "passed"/"failed" and carries them all the same."""

    def record(message: str, *, figures: dict[str, Any] | None = None, expected: bytes | None = None,
               received: bytes | None = None, detail: str = "", graded: bool = False) -> None:
        request.node.stash[INFO_OF_ITEM] = {
            "message": message, "figures": figures, "expected": render_bytes(expected),
            "received": render_bytes(received), "detail": detail or None, "graded": graded,
        }

    return record


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Retry once, on a fresh server, a check that never got through to the
    shared server because it was quitting right after the previous check (a
    single-shot server). The check aimed at that bug (serves_next_client) makes
    several connections and is not retried."""
    contacts = contact.ContactRecord()
    with contact.recording(contacts):
        wirelog.start()
        try:
            return (yield)
        except CheckFailed:
            pool = item.config.stash.get(POOL, None)
            previous = item.stash.get(SERVER_OF_ITEM, None)
            if not contacts.untouched() or pool is None or previous is not pool.current:
                raise
            if previous.still_listening() or not poll_until(lambda: not previous.pids(), Deadline(1.0)):
                raise
            replacement = pool.shared()
            funcargs = getattr(item, "funcargs", {})
            if "server" in funcargs:
                funcargs["server"] = replacement
            if "endpoint" in funcargs:
                funcargs["endpoint"] = replacement.endpoint
            item.stash[SERVER_OF_ITEM] = replacement
        with contact.recording(contact.ContactRecord()):
            wirelog.start()
            item.runtest()
            return None
