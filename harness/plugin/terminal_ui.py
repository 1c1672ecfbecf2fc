"""`harness run`'s terminal: one line per check, a header, a summary, one end line.

Rules:
- Active only with `--harness-ui VERBOSITY` (what `harness run` passes):
  -1 shows only checks that did not pass, 0 every check, 1 also each check's
  description and every wire log in full. Plain `pytest --server` keeps
  pytest's own output.
- Server output and replies are printed through `safe_text`: no control
  sequence reaches the terminal. The same server output is shown once
  (`OutputView`).
- pytest's banners for an early end are silenced; `end_line` says it instead.
- On a terminal, indented blocks (a failure's explanation, the server's
  output) are folded at its width, every piece keeping the indent: a line the
  terminal wrapped itself would go on at column 0, where a server's output
  padded to the width could pass for a harness line ("  ✓ echo::…", a
  summary; blind 18).
"""

from __future__ import annotations

import shlex
import shutil
import sys
import unicodedata

import pytest

from harness.checks import CATALOGUE
from harness.evidence.outputview import OutputView
from harness.plugin.explain import render
from harness.plugin.keys import PROPERTY
from harness.results.report import CheckResult, ServerInfo
from harness.terminal import safe_text

MARKS = {"passed": "✓", "failed": "✗", "warning": "!", "skipped": "-", "error": "E", "info": "i"}


class TerminalUI:
    def __init__(self, verbosity: int | None) -> None:
        self.verbosity = verbosity
        self.active = verbosity is not None
        self.out = sys.stdout
        #: The terminal's width, where the output is one (None: a file or a pipe, nothing is folded).
        self.width = shutil.get_terminal_size().columns if self.out.isatty() else None
        self.header_shown = False
        #: The servers' output already shown under earlier failures (shown once).
        self.output_view = OutputView()

    def say(self, text: str) -> None:
        if self.active:  # server output and replies are in `text`: no control sequence reaches the terminal
            print(safe_text(text), file=self.out, flush=True)

    def header(self, protocol_name: str, server: ServerInfo) -> None:
        """Said once, when the port is known (the command as it really ran)."""
        if self.header_shown:
            return
        self.header_shown = True
        command = server.command
        started_port = server.started_port or server.port  # the tested port may be one it found itself
        if started_port is not None:
            command = [arg.replace("{port}", str(started_port)) for arg in command]
        if server.started_host:
            command = [arg.replace("{host}", server.started_host) for arg in command]
        self.say(f"harness · protocol {protocol_name} · server: {shlex.join(command)}")

    def print_result(self, result: CheckResult, server: ServerInfo) -> None:
        if not self.active:
            return
        verbosity = self.verbosity or 0
        mark = MARKS.get(result.outcome, "?")
        if result.outcome != "passed" or verbosity >= 0:
            self.say(f"  {mark} {result.id:<50} {result.duration_s:6.2f}s")
        if verbosity > 0 and result.id.partition("[")[0] in CATALOGUE:
            self.say(f"      {CATALOGUE[result.id.partition('[')[0]].description}")
        if result.outcome in ("failed", "warning", "info") or (result.outcome == "error" and not server.startup_error):
            explained = self.output_view.explain(result.message, result.detail, result.expected, result.received,
                                                 result.server_output)
            explained["wire"] = (result.wire if verbosity > 0
                                 else self.output_view.timeline_once(result.wire, result.id))
            self.say(indent(render(explained), "      ", self.width))

    def end_line(self, session: pytest.Session, interrupted: bool, wrote_json: bool) -> None:
        """One plain line for how the run ended early, instead of pytest's banners."""
        if interrupted:
            self.say("interrupted: the servers were stopped" + (" and the partial report written"
                                                                 if wrote_json else ""))
        elif session.shouldfail:  # -x: pytest's maxfail of 1 was reached
            self.say("stopped at the first failed check (-x); the checks after it did not run")
        # The run is over: pytest need not announce it again ("!!! stopping after 1 failures !!!"). It refuses
        # to unset these flags with False (its runner relies on them while running); an empty reason is quiet.
        session.shouldfail = session.shouldstop = ""


def silence_pytest_banners(config: pytest.Config) -> None:
    """`harness run` says in one line how a run ended early (`end_line`):
    pytest's '!!! KeyboardInterrupt !!!' banner, with its advice to use
    --full-trace (an option `harness run` does not have), is not shown."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None and hasattr(terminal, "_report_keyboardinterrupt"):
        terminal._report_keyboardinterrupt = lambda: None
        # Nor is the banner's text prepared: formatting a KeyboardInterrupt
        # raised again from a finalizer can fail inside pytest (a frame with no
        # line number), which would turn a clean stop into an internal error.
        for impl in config.hook.pytest_keyboard_interrupt.get_hookimpls():
            if impl.plugin is terminal:
                impl.function = lambda excinfo: None


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    """A warning or info outcome gets its own letter; under `harness run` pytest prints nothing (we do)."""
    quiet = config.getoption("harness_ui", None) is not None  # our collector prints the lines
    for name, value in getattr(report, "user_properties", ()):
        if name == PROPERTY and value.get("outcome") == "warning" and report.when == "call":
            return ("warning", "", "") if quiet else ("warning", "W", "WARNING (recommended)")
        if name == PROPERTY and value.get("outcome") == "info" and report.when == "call":
            return ("info", "", "") if quiet else ("info", "i", "INFO")
    if quiet:
        return report.outcome, "", ""
    return None


def indent(text: str, prefix: str = "    ", width: int | None = None) -> str:
    """`text` with `prefix` before every line; with a `width`, lines longer than it are folded, each piece
    indented too (see the module's rule)."""
    room = (width or 0) - len(prefix)
    if room < MIN_FOLD:
        return "\n".join(prefix + line for line in text.splitlines())
    return "\n".join(prefix + piece for line in text.splitlines() for piece in fold(safe_text(line), room))


#: Narrower than this, folding would only make a long line longer.
MIN_FOLD = 20


def fold(line: str, room: int) -> list[str]:
    """`line` in pieces of at most `room` terminal columns (wide characters take two)."""
    pieces, piece, used = [], [], 0
    for char in line:
        cells = 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        if used + cells > room:
            pieces.append("".join(piece))
            piece, used = [], 0
        piece.append(char)
        used += cells
    pieces.append("".join(piece))
    return pieces
