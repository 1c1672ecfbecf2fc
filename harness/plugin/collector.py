"""Controller-side: gather every check's result (also from xdist workers) into
the run's `RunState`, and write the report at the end.

Rules:
- Registered only in the controller (or the only process); workers send their
  reports, which carry each check's result record (`keys.PROPERTY`).
- One result per check: a setup or teardown that passed adds nothing, and a
  teardown never replaces the check's own result.
- Session finish runs last (`trylast`): the guard's own session finish
  (`confinement.RunGuard`, `tryfirst`) has by then turned the checks a
  crashed worker never ran into errors, and these must be in the report.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import pytest

from harness import interrupts
from harness.plugin.keys import PROPERTY
from harness.plugin.runstate import RunState
from harness.plugin.terminal_ui import TerminalUI, indent, silence_pytest_banners
from harness.plugin.verdicts import check_id, check_result_id, result_id
from harness.results import html_report
from harness.results.report import CheckResult, ServerInfo
from harness.results.report_files import written


class ResultCollector:
    def __init__(self, config: pytest.Config, state: RunState, ui: TerminalUI) -> None:
        self.config = config
        self.state = state
        self.ui = ui

    def _header(self) -> None:
        self.ui.header(self.state.settings.protocol_name, self.state.server)

    def pytest_sessionstart(self) -> None:
        if self.ui.active:
            silence_pytest_banners(self.config)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.ui.say(f"harness could not load {report.nodeid}:\n{report.longrepr}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = next((v for n, v in report.user_properties if n == PROPERTY), None)
        if record is None:
            return
        state = self.state
        if "server" in record and state.server.port is None:
            state.server = ServerInfo(**record["server"])
            self._header()
            self.ui.say(
                f"server ready: {state.server.listening} ({state.server.port_source} port) "
                f"in {state.server.startup_s:.2f} s"
            )
            if state.server.port_source == "discovered":
                self.ui.say(discovered_note(state.server))
        if record.get("startup_error") and not state.server.startup_error:
            state.server.startup_error = record["startup_error"]
            self._header()
            self.ui.say(f"✗ the server could not be started: {record['startup_error']}")
            if record.get("startup_output"):
                self.ui.say(indent(record["startup_output"], width=self.ui.width))
        if record["when"] in ("setup", "teardown") and record["outcome"] == "passed":
            return  # a check that starts its own server has none yet at setup: the header waits for its port
        if state.has_result(record["id"]) and record["when"] == "teardown":
            return
        self._header()
        state.add_result(CheckResult(
            id=record["id"],
            suite=record["suite"],
            outcome=record["outcome"],
            duration_s=round(report.duration, 4),
            message=record.get("message"),
            expected=record.get("expected"),
            received=record.get("received"),
            server_output=record.get("server_output"),
            detail=record.get("detail"),
            figures=record.get("figures"),
            wire=record.get("wire"),
        ))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # Not under xdist: there the workers collect, the controller does not.
        selected = [result_id(item) for item in session.items if check_id(item)]
        self.state.expected = selected or None

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """Under xdist: what a worker selected (every worker selects the same)."""
        if self.state.expected is None and ids:
            self.state.expected = [check_result_id(nodeid)[0] for nodeid in ids]

    def pytest_keyboard_interrupt(self) -> None:
        self.state.mark_interrupted()

    @pytest.hookimpl(trylast=True)  # after RunGuard.pytest_sessionfinish (tryfirst): see the module's rules
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        state = self.state
        if interrupts.stop_requested():  # asked to stop, however pytest ended the run
            state.mark_interrupted()
        report = state.build_report()
        summary = report.summary()
        self._header()
        session.exitstatus = state.exit_status(report, exitstatus)
        state.report = report
        path = self.config.getoption("harness_json")
        path = path if path and self._written("--json", path, lambda: report.write(path)) else None
        html = state.settings.html
        html = html if html and self._written("--html", html, lambda: html_report.write(report, html)) else None
        self.ui.say(
            f"{summary['passed']} passed, {summary['failed']} failed, {summary['warnings']} warnings, "
            f"{summary['errors']} errors, {summary['skipped']} skipped"
            + (f", {summary['info']} informational" if summary["info"] else "")
            + f" in {summary['duration_s']:.2f}s"
        )
        if path:
            self.ui.say(f"report: {os.path.abspath(path)}")
        if html:
            self.ui.say(f"html report: {os.path.abspath(html)}")
        if self.ui.active:
            self.ui.end_line(session, state.interrupted and not state.stuck, bool(path))

    def _written(self, option: str, path: str, write: Callable[[], object]) -> bool:
        """Write one report file; one that cannot be written is said, and makes the exit code 2, instead of
        a traceback that loses the rest."""
        why = written(option, path, write)
        if why:
            self.state.reports_written = False
            print(f"harness: error: {why}", file=sys.stderr)
        return not why


def discovered_note(server: ServerInfo) -> str:
    """Why the server was found on a port of its own, told by its command line: a literal port where `{port}`
    belongs, no `{port}` at all (it got the port only as $PORT), or an assigned port it ignored."""
    found = f"discovered it listening on {server.listening}"
    arguments = server.command[1:]
    if server.port is not None and str(server.port) in arguments:
        return (f"note: the server listens on port {server.port}, written on its command line: write {{port}} "
                f"there instead, so that the harness can give it a free port ({found})")
    if not any("{port}" in argument for argument in arguments):
        return (f"note: the server did not take the assigned port (its command line has no {{port}}; it got the "
                f"port only as $PORT); {found}. If it reads its port from its arguments, end the harness command "
                "with {port}, e.g. harness run server.py {port}")
    return f"note: the server ignored the assigned port; {found}"
