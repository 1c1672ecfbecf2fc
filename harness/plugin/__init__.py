"""pytest plugin: `pytest --server ./myserver.py --protocol tcp-echo SUITES`.

Thin glue (the engine is `harness.server.launcher`/`harness.server.pool`, pytest-free),
split by role as pytest-xdist does; this module is the entry point
(`-p harness.plugin`, entry point `pytest11: harness`) and only wires them:

- `options`: the options, and which checks run in which order;
- `fixtures`: what suites use (`settings`, `server`, `endpoint`, `fresh_server`,
  `server_pool`, `served_files`, `inform`) and the retry on a fresh server;
- `verdicts`: a check's result id, and the one table tier × what happened →
  outcome (a failed recommended check is a warning); `explain` says why;
- `collector` + `runstate`: the controller gathers every result (also from
  xdist workers) into one run state and writes the JSON report (SPEC §2) at
  the end, also when the server never started or the run was interrupted;
- `terminal_ui`: `harness run`'s lines; `confinement` + `watchdog`: sandbox,
  isolation, crashed workers, a stuck run, stray processes.

Rules:
- Glue only: no socket, no process, no explanation text is made here; the
  plugin calls the layers below and records what they report.
- The submodules never import this package back (`confinement` gets the
  `RunState` it writes to; nothing reaches into another object's private state).

Controller vs worker: `pytest_configure` makes the run state, the collector
and the guard only where there is no `workerinput` (the controller, or the
only process); every process that runs checks has the pool and the fixtures.
Inert unless `--server` is given.
"""

from __future__ import annotations

import pytest

from harness.errors import CheckNotRun, ConfigError
from harness.plugin import confinement
from harness.plugin.collector import ResultCollector
from harness.plugin.fixtures import (  # noqa: F401  fixtures and hooks pytest finds on this module
    endpoint,
    fresh_server,
    inform,
    pytest_runtest_call,
    served_files,
    server,
    server_pool,
    settings,
)
from harness.plugin.keys import POOL, SETTINGS
from harness.plugin.options import pytest_addoption, pytest_collection_modifyitems, pytest_generate_tests  # noqa: F401  hooks
from harness.plugin.runstate import STATE, RunState
from harness.plugin.terminal_ui import TerminalUI, pytest_report_teststatus  # noqa: F401  hook
from harness.plugin.verdicts import plain_report_for_protocol_failures, pytest_runtest_makereport  # noqa: F401  hooks
from harness.protocolfile import load_protocol_file
from harness.protocolfile.reference import answers_for
from harness.protocols import PROTOCOLS
from harness.server.command import server_argv
from harness.server.launcher import ServerSpec
from harness.server.pool import ServerPool
from harness.server.served_files import ServedFilesPool
from harness.settings import fixed_port_collides, run_settings
from harness.system import isolation
from harness.system.limits import allow_own_descriptors

#: Descriptors the harness holds besides its crowd's connections (its server's pipes, probes, spares).
OWN_DESCRIPTORS = 256

#: What pytest must find on this module: the fixtures and the hooks of the role modules, and `run_state`.
__all__ = [
    "endpoint", "fresh_server", "inform", "served_files", "server", "server_pool", "settings",
    "pytest_runtest_call", "pytest_addoption", "pytest_collection_modifyitems", "pytest_generate_tests",
    "pytest_report_teststatus", "plain_report_for_protocol_failures", "pytest_runtest_makereport",
    "pytest_configure", "pytest_unconfigure", "run_state",
]


def run_state(config: pytest.Config) -> RunState | None:
    """What the run found (the controller's, or the only process's); None in a
    worker, without `--server`, or when the options were refused."""
    return config.stash.get(STATE, None)


@pytest.hookimpl(tryfirst=True)  # before pytest-timeout reads its setting
def pytest_configure(config: pytest.Config) -> None:
    server = config.getoption("harness_server", None)
    if not server:
        return
    try:  # the same validation as `harness run` (harness.settings); its command comes resolved
        settings = run_settings(config.getoption, config.getini, config.getoption("harness_suites"))
        argv = server_argv(server, resolved=bool(config.getoption("harness_resolved", False)))
        numprocesses = getattr(config.option, "numprocesses", None)
        if fixed_port_collides(settings, numprocesses, isolation.unavailable_reason):
            raise ConfigError("--port (a fixed port) cannot be combined with -n: the workers' servers would collide")
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None
    spec = ServerSpec(
        argv=tuple(argv),
        transport=settings.transport,
        host=settings.host,
        fixed_port=settings.port,
        startup_timeout=settings.startup_timeout,
        sandbox=confinement.sandbox_for(settings, quiet=True),
    )
    config.stash[SETTINGS] = settings
    allow_own_descriptors(2 * settings.crowd_connections + OWN_DESCRIPTORS)
    protocol = PROTOCOLS.get(settings.protocol)  # None: a protocol file
    config.stash[POOL] = (ServedFilesPool if protocol is not None and protocol.serves_files else ServerPool)(spec)
    if not hasattr(config, "workerinput"):  # the controller, or the only process
        ui = TerminalUI(config.getoption("harness_ui"))
        state = config.stash[STATE] = RunState(settings, argv, ui)
        config.pluginmanager.register(ResultCollector(config, state, ui), "harness-collector")
    confinement.configure(config, settings, run_state(config))
    if config.getini("timeout") in (None, "", "0", 0) and not config.getoption("timeout", None):
        config.option.timeout = settings.check_timeout


def pytest_unconfigure(config: pytest.Config) -> None:
    pool = config.stash.get(POOL, None)
    if pool is not None:
        pool.close()


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """A protocol file's @reference answers are recorded before the first server under test starts, and
    the reference stopped: a student's server that found the reference's port asked it for the answers it
    never implemented, and scored 100 instead of 73 (blind 16, S1); one that wrote into the reference's
    state while it was recorded blamed its own failures on the protocol file."""
    config = session.config
    settings = config.stash.get(SETTINGS, None)
    if settings is None or not session.items or settings.protocol in PROTOCOLS:
        return
    if config.pluginmanager.has_plugin("dsession"):  # the xdist controller: its workers record their own
        return
    protocol = load_protocol_file(settings.protocol)
    try:
        answers_for(protocol, config.stash[POOL].spec, settings.reply_timeout)
    except CheckNotRun:
        pass  # remembered: each check that needs the answers ends as an error, and says why
