"""What the controller knows about the run so far, shared through methods.

Rules:
- One `RunState` per run, made by the controller (or the only process) and
  kept on the config under `keys.STATE`. The collector fills it from the
  reports of every process; the guard (`confinement`) adds the errors and
  notes only it sees (a crashed worker, a stuck run) and marks the run
  interrupted; `harness run` reads it when pytest returns. Nobody reaches
  into another's attributes: they call these methods.
- A result stored here is printed at once (`harness run`'s line per check).
- The report is built here and only here (`build_report`), also by the guard
  when it must write it itself; the run's exit status is decided here too.
"""

from __future__ import annotations

import threading
import time

import pytest

from harness.errors import ExitCode, HarnessFault
from harness.plugin.terminal_ui import TerminalUI
from harness.results.report import CheckResult, Report, ServerInfo
from harness.settings import Settings

#: On the controller's config: the run's state (absent in a worker or without --server).
STATE = pytest.StashKey["RunState"]()


class RunState:
    def __init__(self, settings: Settings, argv: list[str], ui: TerminalUI) -> None:
        self.settings = settings
        self.ui = ui
        self.server = ServerInfo(command=argv)
        self.started = time.monotonic()
        self.results: dict[str, CheckResult] = {}
        #: One-line notes for the report (e.g. isolation unavailable, a crashed worker).
        self.notes: list[str] = []
        self.interrupted = False
        #: Ended by the watchdog (a stuck run: its checks are errors, exit 1), not by a person.
        self.stuck = False
        #: The finished report (set at session finish), for the CLI's grading reports.
        self.report: Report | None = None
        #: Result ids of the checks selected to run, for grading (None: not known).
        self.expected: list[str] | None = None
        #: False once a report file asked for (--json, --html) could not be written (exit 2).
        self.reports_written = True
        self._lock = threading.Lock()  # the watchdog's thread adds results too

    # -- what the run found ------------------------------------------------------
    def note(self, text: str) -> None:
        """Keep a one-line note for the report (once)."""
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)

    def add_result(self, result: CheckResult) -> None:
        """Keep a check's result (a later one of the same id replaces it) and print its line."""
        with self._lock:
            self.results[result.id] = result
        self.ui.print_result(result, self.server)

    def has_result(self, result_id: str) -> bool:
        return result_id in self.results

    def mark_interrupted(self, stuck: bool = False) -> None:
        """The run is ending early: by a person (Ctrl+C, SIGTERM) or, `stuck`, by the watchdog."""
        self.interrupted = True
        self.stuck = self.stuck or stuck

    def crash_notes(self) -> list[str]:
        """The notes that say a test process crashed."""
        return [note for note in self.notes if "crashed" in note]

    # -- the end -------------------------------------------------------------------
    def build_report(self) -> Report:
        return Report(
            protocol=self.settings.protocol_name,
            server=self.server,
            checks=list(self.results.values()),
            duration_s=time.monotonic() - self.started,
            interrupted=self.interrupted,
            notes=list(self.notes),
            harness_error=any((result.message or "").startswith(HarnessFault.PREFIX)
                              for result in self.results.values()),
        )

    def exit_status(self, report: Report, pytest_status: int) -> int:
        """The run's exit status (`ExitCode`, README "Exit codes"); a person's
        stop wins over whatever had failed before it; no check run at all keeps pytest's."""
        summary = report.summary()
        if self.interrupted and not self.stuck:
            return int(ExitCode.INTERRUPTED)
        if report.harness_error:
            return int(ExitCode.INTERNAL)
        if self.server.startup_error and not any(r.outcome == "passed" for r in report.checks):
            return int(ExitCode.START)
        if summary["failed"] or summary["errors"]:
            return int(ExitCode.FAILED)
        if not report.checks:
            return int(pytest_status)
        return int(ExitCode.OK)
