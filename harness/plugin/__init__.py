"""pytest plugin: `pytest --server ./myserver.py --protocol tcp-echo SUITES`.

Thin glue (the engine is `harness.server.launcher`/`harness.server.pool`, pytest-free):
- registers the options of `harness.settings` and the fixtures the suites use
  (`settings`, `server`, `endpoint`, `fresh_server`);
- keeps only the checks that apply to the chosen protocol and suites;
- turns a check's `CheckFailed` into a clean explanation (no traceback), a failed
  recommended check into a warning, and attaches the server's output;
- collects every result and writes the JSON report (SPEC §2) at the end, also
  when the server never started or the run was interrupted.
Inert unless `--server` is given.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from typing import Any, Collection, Iterator

import pytest

from harness.checks import CATALOGUE, INFORMATIONAL, OPT_IN_SUITES, RECOMMENDED, SUITES
from harness.plugin import confinement
from harness.evidence import hints, timeline
from harness.results import html_report
from harness import interrupts
from harness.system import isolation
from harness.evidence import wirelog
from harness.clients.connection import ContactCounter
from harness.server.command import server_argv
from harness.deadline import Deadline, poll_until
from harness.errors import CheckFailed, CheckNotRun, ConfigError, ServerStartError
from harness.server.launcher import Endpoint, ServerProcess, ServerSpec
from harness.evidence.outputview import OutputView
from harness.results.report import CheckResult, Report, ServerInfo, render_bytes
from harness.server.served_files import ServedFilesPool
from harness.server.pool import ServerPool
from harness.settings import OPTIONS, Settings, fixed_port_collides, run_settings
from harness.terminal import safe_text
from harness.suitenames import matches, selected_suites as _selected_suites

POOL = pytest.StashKey[ServerPool]()
SETTINGS = pytest.StashKey[Settings]()
COLLECTOR = pytest.StashKey["ResultCollector"]()
PROPERTY = "harness"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "socket server conformance (harness)")
    group.addoption("--server", dest="harness_server", default=None,
                    help="the server to test: a .py file, an executable, or a quoted command line with {port}")
    for option in OPTIONS:
        flag = option.pytest_option
        if option.type is bool:
            group.addoption(flag, dest=option.dest, action="store_true", default=None, help=option.help)
        else:
            group.addoption(flag, dest=option.dest, default=None, help=f"{option.help} (default: {option.default})")
        parser.addini(option.dest, option.help, default=None)
    group.addoption("--suite", dest="harness_suites", action="append", default=None,
                    help=f"run only this suite (repeatable): {', '.join(SUITES)}")
    group.addoption("--check", dest="harness_checks", action="append", default=None, metavar="ID",
                    help="run only the checks matching this id or glob, e.g. 'echo::*' (repeatable)")
    group.addoption("--harness-json", dest="harness_json", default=None, help="write the JSON report here")
    group.addoption("--harness-resolved", dest="harness_resolved", action="store_true", default=False,
                    help="--server is the argv `harness run` resolved: run it as it is (used by `harness run`)")
    group.addoption("--harness-ui", dest="harness_ui", type=int, default=None, metavar="VERBOSITY",
                    help="print one line per check at this verbosity (-1 quiet, 0, 1 verbose; used by `harness run`)")


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
    # tcp-file servers each run in their own directory of files to serve.
    config.stash[POOL] = (ServedFilesPool if settings.protocol == "tcp-file" else ServerPool)(spec)
    if not hasattr(config, "workerinput"):
        collector = ResultCollector(config, settings, argv)
        config.stash[COLLECTOR] = collector
        config.pluginmanager.register(collector, "harness-collector")
    confinement.configure(config, settings, config.stash.get(COLLECTOR, None))
    if config.getini("timeout") in (None, "", "0", 0) and not config.getoption("timeout", None):
        config.option.timeout = settings.check_timeout


def pytest_unconfigure(config: pytest.Config) -> None:
    pool = config.stash.get(POOL, None)
    if pool is not None:
        pool.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash.get(SETTINGS, None)
    selected_suites = _selected_suites(config.getoption("harness_suites", None))  # `echo` brings `conversation`
    selected_checks = config.getoption("harness_checks", None)
    keep, drop = [], []
    for item in items:
        check_id = _check_id(item)
        if check_id is None:
            # A protocol file's derived check with nothing to derive (no protocol file) is dropped.
            (drop if getattr(getattr(item, "function", None), "harness_derived", False) else keep).append(item)
            continue
        check = CATALOGUE[check_id]
        item.extra_keyword_matches.update({check.suite, check_id.partition("::")[2]})
        applies = settings is not None and settings.protocol_kind in getattr(item.function, "harness_protocols", ())
        when = getattr(item.function, "harness_when", None)
        applies = applies and (when is None or when(settings))
        if settings is None:
            item.add_marker(pytest.mark.skip(reason="no --server given"))
            keep.append(item)
        elif (applies and (not selected_suites or check.suite in selected_suites)
              and (not selected_checks or any(matches(check_id, p) for p in selected_checks))
              and _opted_in(check.suite, selected_suites, selected_checks)):
            keep.append(item)
        else:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    # From the basics outwards (SPEC §7): correctness, framing, concurrency,
    # shutdown — the order of SUITES, whatever the files' names.
    items[:] = sorted(keep, key=_suite_rank)


def _suite_rank(item: pytest.Item) -> int:
    check_id = _check_id(item)
    suite = check_id.partition("::")[0] if check_id is not None else ""  # derived ids are not in CATALOGUE
    return SUITES.index(suite) if suite in SUITES else len(SUITES)


def _opted_in(suite: str, suites: Collection[str] | None, checks: list[str] | None) -> bool:
    """An opt-in suite (speed) runs only when named: `--suite speed`, or a check
    pattern starting with `speed::`."""
    if suite not in OPT_IN_SUITES:
        return True
    return suite in (suites or ()) or any(p.startswith(f"{suite}::") for p in checks or ())


def _check_id(item: pytest.Item) -> str | None:
    function = getattr(item, "function", None)
    if getattr(function, "harness_derived", False):  # a protocol file's check: its id is its parameter's
        callspec = getattr(item, "callspec", None)
        return getattr(callspec.params.get("derived"), "id", None) if callspec is not None else None
    return getattr(function, "harness_check", None)


def result_id(item: pytest.Item) -> str:
    check_id = _check_id(item) or item.nodeid
    if getattr(getattr(item, "function", None), "harness_derived", False):
        return check_id
    callspec = getattr(item, "callspec", None)
    return f"{check_id}[{callspec.id}]" if callspec is not None else check_id


# -- fixtures ------------------------------------------------------------------
@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    """The run's validated settings (timeouts, limits, protocol)."""
    found = request.config.stash.get(SETTINGS, None)
    if found is None:
        pytest.skip("no --server given")
    return found


@pytest.fixture
def server(request: pytest.FixtureRequest, settings: Settings) -> ServerProcess:
    """The shared running server (restarted first if it died in an earlier check)."""
    pool = request.config.stash[POOL]
    instance = pool.shared()
    request.node.stash[SERVER_OF_ITEM] = instance
    return instance


@pytest.fixture
def endpoint(server: ServerProcess) -> Endpoint:
    """Where to reach the shared server."""
    assert server.endpoint is not None
    return server.endpoint


@pytest.fixture
def fresh_server(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Any]:
    """A factory of private server instances, for checks that end their server."""
    pool = request.config.stash[POOL]
    if pool.startup_error is not None:
        raise pool.startup_error  # known not to start: an error before the check, not a failure of it
    started: list[ServerProcess] = []

    def start(port: int | None = None) -> ServerProcess:
        instance = pool.fresh(port)
        started.append(instance)
        request.node.stash[SERVER_OF_ITEM] = instance
        return instance

    yield start
    for instance in started:
        instance.stop()


SERVER_OF_ITEM = pytest.StashKey[ServerProcess]()
INFO_OF_ITEM = pytest.StashKey[dict[str, Any]]()


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
    ContactCounter.reset()
    wirelog.start()
    try:
        return (yield)
    except CheckFailed as failure:
        pool = item.config.stash.get(POOL, None)
        previous = item.stash.get(SERVER_OF_ITEM, None)
        if not ContactCounter.untouched() or pool is None or previous is not pool.current:
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
        ContactCounter.reset()
        wirelog.start()
        item.runtest()
        return None


# -- results -------------------------------------------------------------------
def _explain(excinfo: pytest.ExceptionInfo[BaseException], settings: Settings) -> dict[str, Any]:
    error = excinfo.value
    if isinstance(error, CheckFailed):
        return {
            "message": error.message,
            "expected": render_bytes(error.expected),
            "received": render_bytes(error.received),
            "detail": error.detail or None,
        }
    if isinstance(error, ServerStartError):
        return {"message": f"the server could not be started: {error}", "server_output": error.output_tail or None}
    if isinstance(error, CheckNotRun):
        return {"message": str(error)}
    text = str(error).strip()
    if "Timeout" in text and ">" in text:
        return {"message": f"the check did not finish within {settings.check_timeout:g} s (--check-timeout)"}
    if isinstance(error, (OSError, EOFError)):
        return {"message": f"network error talking to the server: {error!r}"}
    return {"message": f"{type(error).__name__}: {text}"}


def _not_shown_yet(output: str, detail: str | None) -> str:
    """The server's output, unless the check's detail already quotes every line of it (a traceback shown by
    shutdown::no_traceback): the same lines twice bury the message."""
    lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith("--- ")]
    if detail and lines and all(line in detail for line in lines):
        return ""
    return output


def _render(explained: dict[str, Any]) -> str:
    lines = [explained.get("message") or ""]
    if explained.get("detail"):
        lines.append(explained["detail"])
    elif explained.get("received") == "":
        expected = explained.get("expected")
        if expected is not None:
            shown = expected if expected.startswith("hex:") else repr(expected)
            lines.append(f"  expected: {shown[:300]} · received nothing")
    else:
        for key in ("expected", "received"):
            value = explained.get(key)
            if value is not None:
                shown = value if value.startswith("hex:") else repr(value)
                lines.append(f"  {key}: {shown[:300]}")
    if explained.get("wire"):
        lines.append(timeline.render(explained["wire"]))
    if explained.get("server_output"):
        lines.append(explained["server_output"])
    return "\n".join(lines)


@pytest.hookimpl(tryfirst=True, specname="pytest_runtest_makereport")
def plain_report_for_protocol_failures(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport | None:
    """A plain report for a check that failed the protocol's way (CheckFailed,
    ServerStartError): pytest's traceback formatting costs 0.2–0.4 s a check,
    and the wrapper below replaces that text anyway."""
    excinfo = call.excinfo
    if excinfo is None or _check_id(item) is None or not isinstance(excinfo.value, (CheckFailed, ServerStartError, CheckNotRun)):
        return None
    return pytest.TestReport(
        nodeid=item.nodeid,
        location=item.location,
        keywords=dict.fromkeys(item.keywords, 1),
        outcome="failed",
        longrepr=str(excinfo.value),
        when=call.when,
        sections=list(item._report_sections),
        duration=call.duration,
        start=call.start,
        stop=call.stop,
        user_properties=list(item.user_properties),
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    log = wirelog.stop() if call.when == "call" else None
    check_id = _check_id(item)
    settings = item.config.stash.get(SETTINGS, None)
    if check_id is None or settings is None:
        return report
    check = CATALOGUE[check_id]
    pool = item.config.stash[POOL]
    instance = item.stash.get(SERVER_OF_ITEM, None)
    record: dict[str, Any] = {"id": result_id(item), "suite": check.suite, "when": call.when}
    if report.failed and call.excinfo is not None:
        explained = _explain(call.excinfo, settings)
        if instance is not None and not isinstance(call.excinfo.value, (ServerStartError, CheckNotRun)):
            # Give a crashing server a moment to finish dying and printing its traceback.
            poll_until(lambda: not instance.alive(), Deadline(0.2))
            # In the shutdown suite the exit is the check's own subject, already explained.
            if not instance.alive() and check.suite != "shutdown" and "the server exited" not in explained["message"]:
                explained["message"] += f" — the server exited during this check ({instance.exit_description()})"
            if not instance.alive() and not instance.pids():
                instance.stop()  # drains its output pipes to EOF: the whole traceback is in the tail
            explained["server_output"] = _not_shown_yet(instance.output_tail(), explained.get("detail")) or None
            explained["message"] = hints.revise(explained["message"], explained["server_output"] or "", check.suite)
        if log is not None and log.total:
            explained["wire"] = _wire_of(log, call.excinfo.value, instance)
        record.update(explained)
        info = item.stash.get(INFO_OF_ITEM, None)
        if info is not None and info.get("figures"):
            record["figures"] = info["figures"]
        if isinstance(call.excinfo.value, (ServerStartError, CheckNotRun)):
            record["outcome"] = "error"  # the check could not run: its own instance (fresh_server) did not start
        elif call.when == "call" and check.tier == RECOMMENDED and not settings.strict:
            record["outcome"] = "warning"
            report.outcome = "passed"
        elif (call.when == "call" and check.tier == INFORMATIONAL and isinstance(call.excinfo.value, CheckFailed)
              and not (info or {}).get("graded")):
            record["outcome"] = "info"  # what the server did is the finding, not a failure
            report.outcome = "passed"
        else:
            record["outcome"] = "failed" if call.when == "call" else "error"
        report.longrepr = _render(explained)
    elif report.skipped:
        record["outcome"] = "skipped"
        if isinstance(report.longrepr, tuple):
            record["message"] = str(report.longrepr[2])
    else:
        record["outcome"] = "passed"
        info = item.stash.get(INFO_OF_ITEM, None) if call.when == "call" else None
        if info is not None:
            record.update({k: v for k, v in info.items() if k != "graded" and v is not None})
            if check.tier == INFORMATIONAL and not info["graded"]:
                record["outcome"] = "info"
    if pool.first_info is not None:
        record["server"] = vars(pool.first_info)
    if pool.startup_error is not None and not pool.ever_started:
        record["startup_error"] = str(pool.startup_error)
        record["startup_output"] = pool.startup_error.output_tail
    report.user_properties.append((PROPERTY, record))
    return report


def _wire_of(log: wirelog.WireLog, error: BaseException, instance: ServerProcess | None) -> dict[str, Any]:
    """The report's wire log of a check that did not pass, with the server's exit if it was seen."""
    if instance is not None and not instance.alive():
        wirelog.server_exited(log, instance.exit_description())
    return wirelog.snapshot(log, getattr(error, "expected", None), getattr(error, "received", None))


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    quiet = config.getoption("harness_ui", None) is not None  # our collector prints the lines
    for name, value in getattr(report, "user_properties", ()):
        if name == PROPERTY and value.get("outcome") == "warning" and report.when == "call":
            return ("warning", "", "") if quiet else ("warning", "W", "WARNING (recommended)")
        if name == PROPERTY and value.get("outcome") == "info" and report.when == "call":
            return ("info", "", "") if quiet else ("info", "i", "INFO")
    if quiet:
        return report.outcome, "", ""
    return None


class ResultCollector:
    """Controller-side: gathers results (also from xdist workers) and writes the report."""

    MARKS = {"passed": "✓", "failed": "✗", "warning": "!", "skipped": "-", "error": "E", "info": "i"}

    def __init__(self, config: pytest.Config, settings: Settings, argv: list[str]) -> None:
        self.config = config
        self.settings = settings
        self.results: dict[str, CheckResult] = {}
        self.server = ServerInfo(command=argv)
        self.started = time.monotonic()
        self.verbosity = config.getoption("harness_ui")
        self.ui = self.verbosity is not None
        self.interrupted = False
        #: Ended by the watchdog (a stuck run: its checks are errors, exit 1), not by a person.
        self.stuck = False
        #: One-line notes for the report (e.g. isolation unavailable, a crashed worker).
        self.notes: list[str] = []
        self.announced = False
        self.header_shown = False
        #: The finished report (set at session finish), for the CLI's grading reports.
        self.report: Report | None = None
        #: Result ids of the checks selected to run (None under xdist), for grading.
        self.expected: list[str] | None = None
        self.out = sys.stdout
        #: The servers' output already shown under earlier failures (shown once).
        self.output_view = OutputView()

    def _say(self, text: str) -> None:
        if self.ui:  # server output and replies are in `text`: no control sequence reaches the terminal
            print(safe_text(text), file=self.out, flush=True)

    def pytest_sessionstart(self) -> None:
        if self.ui:
            silence_pytest_banners(self.config)
        self.header_shown = False  # said once the port is known (the command as it really ran)

    def _header(self) -> None:
        if self.header_shown:
            return
        self.header_shown = True
        command = self.server.command
        if self.server.port is not None:
            command = [arg.replace("{port}", str(self.server.port)) for arg in command]
        self._say(f"harness · protocol {self.settings.protocol_name} · server: {shlex.join(command)}")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self._say(f"harness could not load {report.nodeid}:\n{report.longrepr}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = next((v for n, v in report.user_properties if n == PROPERTY), None)
        if record is None:
            return
        if "server" in record and self.server.port is None:
            self.server = ServerInfo(**record["server"])
            self._header()
            self._say(
                f"server ready: {self.server.listening} ({self.server.port_source} port) "
                f"in {self.server.startup_s:.2f} s"
            )
            if self.server.port_source == "discovered":
                self._say(f"note: the server ignored the assigned port; discovered it listening on {self.server.listening}")
        self._header()
        if record.get("startup_error") and not self.server.startup_error:
            self.server.startup_error = record["startup_error"]
            self._say(f"✗ the server could not be started: {record['startup_error']}")
            if record.get("startup_output"):
                self._say(_indent(record["startup_output"]))
        if record["when"] == "teardown" and record["outcome"] == "passed":
            return
        if record["when"] == "setup" and record["outcome"] == "passed":
            return
        if record["id"] in self.results and record["when"] == "teardown":
            return
        result = CheckResult(
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
        )
        self.results[result.id] = result
        self._print(result)

    def _print(self, result: CheckResult) -> None:
        if not self.ui:
            return
        mark = self.MARKS.get(result.outcome, "?")
        if result.outcome != "passed" or self.verbosity >= 0:
            self._say(f"  {mark} {result.id:<50} {result.duration_s:6.2f}s")
        if self.verbosity > 0 and result.id.partition("[")[0] in CATALOGUE:
            self._say(f"      {CATALOGUE[result.id.partition('[')[0]].description}")
        if result.outcome in ("failed", "warning", "info") or (result.outcome == "error" and not self.server.startup_error):
            explained = self.output_view.explain(result.message, result.detail, result.expected, result.received,
                                                 result.server_output)
            explained["wire"] = (result.wire if self.verbosity > 0
                                 else self.output_view.timeline_once(result.wire, result.id))
            self._say(_indent(_render(explained), "      "))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # Not under xdist: there the workers collect, the controller does not.
        selected = [result_id(item) for item in session.items if _check_id(item)]
        self.expected = selected or None

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """Under xdist: what a worker selected (every worker selects the same)."""
        if self.expected is None and ids:
            from harness.plugin.confinement import check_result_id

            self.expected = [check_result_id(nodeid)[0] for nodeid in ids]

    def pytest_keyboard_interrupt(self) -> None:
        self.interrupted = True

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if interrupts.stop_requested():  # asked to stop, however pytest ended the run
            self.interrupted = True
        report = Report(
            protocol=self.settings.protocol_name,
            server=self.server,
            checks=list(self.results.values()),
            duration_s=time.monotonic() - self.started,
            interrupted=self.interrupted,
            notes=self.notes,
        )
        summary = report.summary()
        self._header()
        if self.interrupted and not self.stuck:  # whatever had failed before the stop (exit codes: README)
            status = 130
        elif self.server.startup_error and not any(r.outcome == "passed" for r in report.checks):
            status = 3
        elif summary["failed"] or summary["errors"]:
            status = 1
        elif not report.checks:
            status = int(exitstatus)
        else:
            status = 0
        session.exitstatus = status
        self.report = report
        path = self.config.getoption("harness_json")
        if path:
            report.write(path)
        if self.settings.html:
            html_report.write(report, self.settings.html)
        self._say(
            f"{summary['passed']} passed, {summary['failed']} failed, {summary['warnings']} warnings, "
            f"{summary['errors']} errors, {summary['skipped']} skipped"
            + (f", {summary['info']} informational" if summary["info"] else "")
            + f" in {summary['duration_s']:.2f}s"
        )
        if path:
            self._say(f"report: {os.path.abspath(path)}")
        if self.settings.html:
            self._say(f"html report: {os.path.abspath(self.settings.html)}")
        if self.ui:
            self._end_line(session)

    def _end_line(self, session: pytest.Session) -> None:
        """One plain line for how the run ended early, instead of pytest's banners."""
        if self.interrupted and not self.stuck:
            self._say("interrupted: the servers were stopped" + (" and the partial report written"
                                                                 if self.config.getoption("harness_json") else ""))
        elif session.shouldfail:  # -x: pytest's maxfail of 1 was reached
            self._say("stopped at the first failed check (-x); the checks after it did not run")
        # The run is over: pytest need not announce it again ("!!! stopping after 1 failures !!!"). It refuses
        # to unset these flags with False (its runner relies on them while running); an empty reason is quiet.
        session.shouldfail = session.shouldstop = ""


def silence_pytest_banners(config: pytest.Config) -> None:
    """`harness run` says in one line how a run ended early (`_end_line`):
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


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())
