"""pytest glue for untrusted servers: sandbox, network isolation, watchdog,
crashed workers, and a sweep for stray server processes.

Thin: the engines are `harness.system.sandbox`, `harness.system.isolation`,
`harness.plugin.watchdog`. Rules:
- The process that runs checks enters a private network namespace before it
  starts a server (`-n 0`: this process; xdist: each worker, through its
  interpreter wrapper). Unavailable: one note, and the run goes on.
- The controller (or the only process) runs the watchdog. Stuck: it marks the
  running check(s) as errors saying where the run was, interrupts the run like
  Ctrl+C (so the partial report is written and the servers stopped), and if
  even that does not finish within `HARD_EXIT_S`, writes the report itself,
  kills the run's servers and exits with code 4.
- A crashed xdist worker's check is an error, never silence; checks it never
  got to are errors too.
- Every server inherits `HARNESS_RUN_ID`; at the very end the controller kills
  any process still carrying it (a worker killed with its servers running).
  Every process that starts servers kills its remaining children at the end
  (as a subreaper it inherits the servers' orphans, also env-less daemons).
- It tells the run what only it sees (notes, errors for crashed or stuck
  checks, the interruption) through the `RunState`'s methods, never by
  reaching into the collector, and imports nothing of the plugin but
  `verdicts` (the result id of a node id) and `watchdog`.
- The first SIGINT/SIGTERM stops the run like Ctrl+C (`harness.interrupts`,
  which also re-raises it if a finalizer drops it); later ones cannot cut
  the cleanup short.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness import interrupts
from harness.errors import ExitCode
from harness.interrupts import interrupt_once, shield_cleanup
from harness.plugin.verdicts import check_result_id
from harness.plugin.watchdog import Watchdog, main_thread_stack
from harness.results.report import CheckResult
from harness.settings import Settings
from harness.system import isolation, processes, scratch
from harness.system.limits import Limits, for_crowd
from harness.system.sandbox import Sandbox
from harness.terminal import safe_text

if TYPE_CHECKING:
    from harness.plugin.runstate import RunState

RUN_ID = "HARNESS_RUN_ID"
HARD_EXIT_S = 20.0
EXIT_INTERNAL = ExitCode.INTERNAL  # the watchdog's hard exit: the run could not end itself


def sandbox_for(settings: Settings, quiet: bool = False) -> Sandbox:
    """The Sandbox the run's settings ask for (0 means unlimited)."""
    limits = for_crowd(Limits(
        cpu_s=settings.cpu_limit or None,
        memory_mib=settings.memory_limit or None,
        open_files=settings.files_limit or None,
        processes=settings.process_limit or None,
        file_size_mib=settings.file_size_limit or None,
    ), settings.crowd_connections)
    return Sandbox(limits=limits, quiet=quiet, use_bwrap=not settings.no_bwrap)


def scratch_note(argv: list[str]) -> str | None:
    """The one-line note when the server's folder is too big to copy whole (said once, by the controller)."""
    source, first = scratch.submission_folder(argv, Path.cwd())
    return scratch.plan(source, first).truncated


def configure(config: pytest.Config, settings: Settings, state: RunState | None) -> None:
    """Called from the plugin's pytest_configure once the settings are valid;
    `state` is the run's state in the controller (or the only process), None in a worker."""
    is_worker = hasattr(config, "workerinput")
    distributed = not is_worker and config.getoption("dist", "no") != "no" and bool(config.getoption("tx", None))
    if not is_worker:
        os.environ[RUN_ID] = uuid.uuid4().hex
    if not settings.no_isolate:
        reason: str | None = None
        if distributed:
            reason = isolation.unavailable_reason()
            if reason is None:
                python = isolation.worker_python()
                config.option.tx = [_wrap_spec(spec, python) for spec in config.option.tx]
        elif not is_worker or not isolation.inside():
            try:
                isolation.enter()
            except OSError as error:
                reason = str(error)
        if reason is not None and not is_worker:
            text = (f"network isolation unavailable ({reason}); the server shares this "
                    "machine's network (--no-isolate silences this note)")
            print(f"note: {safe_text(text)}", file=sys.stderr, flush=True)
            if state is not None:
                state.note(text)
    interrupt_once(quiet=is_worker)
    if is_worker or not distributed:  # this process starts servers
        config.pluginmanager.register(ChildReaper(), "harness-child-reaper")
    if state is not None:
        truncated = scratch_note(list(state.server.command))
        for text in ([truncated] if truncated else []) + sandbox_for(settings).preflight(list(state.server.command)):
            print(f"note: {safe_text(text)}", file=sys.stderr, flush=True)
            state.note(text)
        guard = RunGuard(config, settings, state)
        config.pluginmanager.register(guard, "harness-guard")


def _wrap_spec(spec: Any, python: str) -> Any:
    text = str(spec)
    if text == "popen" or (text.startswith("popen") and "python=" not in text):
        return f"{text}//python={python}"
    return spec


class RunGuard:
    """Controller-side (or single-process) hooks: progress, crashes, the end."""

    def __init__(self, config: pytest.Config, settings: Settings, state: RunState) -> None:
        self.config = config
        self.state = state
        self.limit = settings.watchdog or (settings.check_timeout + settings.startup_timeout + 30)
        #: nodeid -> phase ("setup", "call", "teardown") of the checks running now.
        self.running: dict[str, str] = {}
        self.collected: set[str] = set()
        self.crashes: list[str] = []
        self.watchdog = Watchdog(self.limit, self._stuck)
        self.finished = threading.Event()

    # -- progress ------------------------------------------------------------
    def pytest_sessionstart(self) -> None:
        self.watchdog.start()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected.update(item.nodeid for item in session.items)
        self._progress("after collecting the checks")

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.collected.update(ids)
        self._progress(f"after worker {node.gateway.id} collected the checks")

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodeready(self, node: Any) -> None:
        self._progress(f"after worker {node.gateway.id} started")

    def _progress(self, event: str) -> None:
        """Where the run is: the checks running now (with their phase), else the last event."""
        if self.running:
            event = "in " + ", ".join(f"check {check_result_id(n)[0]} ({phase})" for n, phase in self.running.items())
        self.watchdog.progress(event)

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.running[nodeid] = "setup"
        self._progress(nodeid)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.running.pop(nodeid, None)
        self._progress(f"after check {check_result_id(nodeid)[0]}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid in self.running:
            self.running[report.nodeid] = {"setup": "call", "call": "teardown"}.get(report.when, "teardown")
        if report.when == "???" and report.failed:  # xdist: the worker died during this check
            self.running.pop(report.nodeid, None)
            self._error(report.nodeid, f"the harness's test process crashed while running this check ({report.longrepr})")
        self._progress(f"after check {check_result_id(report.nodeid)[0]}")

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        self._progress(f"after worker {node.gateway.id} stopped")
        if error is not None:
            last_line = (str(error).strip().splitlines() or ["no detail"])[-1]
            self.crashes.append(f"worker {node.gateway.id} crashed: {last_line}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self) -> None:
        shield_cleanup()
        interrupts.taken()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        """First (`tryfirst`): the collector's session finish (`trylast`) writes
        the report, which must hold the errors for the checks a crashed worker
        never ran."""
        interrupts.taken()  # however the session ends, from here on no stop is raised again
        self.watchdog.progress("writing the report")
        if self.crashes:
            for text in self.crashes:
                self._note(text)
            for nodeid in sorted(self.collected):
                result_id, _ = check_result_id(nodeid)
                if not self.state.has_result(result_id):
                    self._error(nodeid, "not run: the harness's test process crashed before this check")

    def pytest_unconfigure(self) -> None:
        self.watchdog.stop()
        self.finished.set()
        sweep(os.environ.get(RUN_ID))

    # -- trouble -------------------------------------------------------------
    def _note(self, text: str) -> None:
        self.state.note(text)
        print(f"note: {safe_text(text)}", file=sys.stderr, flush=True)

    def _error(self, nodeid: str, message: str) -> None:
        result_id, suite = check_result_id(nodeid)
        self.state.add_result(CheckResult(id=result_id, suite=suite, outcome="error", duration_s=0.0, message=message))

    def _stuck(self, where: str) -> None:
        """Watchdog thread: say where, end the run like Ctrl+C, and make sure it ends."""
        message = f"watchdog: no progress for {self.limit:g} s (--watchdog); the run was stuck {where}"
        stack = main_thread_stack()
        self._uncapture()
        self._note(message)
        if stack:
            print(stack, file=sys.stderr, flush=True)
        for nodeid in list(self.running):
            self._error(nodeid, message)
        self.state.mark_interrupted(stuck=True)
        os.kill(os.getpid(), signal.SIGINT)
        if self.finished.wait(HARD_EXIT_S):
            return
        self._note(f"watchdog: the run did not end {HARD_EXIT_S:g} s after the interrupt; exiting")
        self._write_report()
        sweep(os.environ.get(RUN_ID))
        os._exit(EXIT_INTERNAL)

    def _uncapture(self) -> None:
        """Let what the watchdog says reach the terminal: it fires while a check runs, when pytest captures
        the process's output (for the check's report) and would throw it away. The run ends right after."""
        capture = self.config.pluginmanager.getplugin("capturemanager")
        if capture is not None:
            try:
                capture.suspend_global_capture(in_=False)
            except Exception:  # noqa: BLE001 (best effort: the report holds the message all the same)
                pass

    def _write_report(self) -> None:
        path = self.config.getoption("harness_json", None)
        if path:
            self.state.build_report().write(path)


class ChildReaper:
    """In a process that starts servers: after the pool has stopped them, kill
    whatever is still our child. As a subreaper we inherit every orphan of the
    servers' trees, also a daemon that left its session and cleared its
    environment (so neither the tree nor the token finds it)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self) -> None:
        shield_cleanup()
        interrupts.taken()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        interrupts.taken()

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        for _ in range(20):  # bounded; each round kills what it finds
            children = children_of(os.getpid())
            if not children:
                return
            for pid in children:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            for pid in children:
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass


def children_of(parent: int) -> list[int]:
    """Live (non-zombie) child processes of `parent`."""
    return processes.live_children(parent)


def sweep(run_id: str | None) -> list[int]:
    """SIGKILL every process whose environment carries this run's id (stray servers)."""
    if not run_id:
        return []
    killed = processes.kill(processes.processes_with_env(RUN_ID, run_id))
    processes.reap(killed)
    return killed
