"""`harness run` and `harness list`: a thin wrapper that runs pytest on the suites.

Exit codes (SPEC §1): 0 all checks passed · 1 a check failed · 2 usage or
configuration error · 3 the server could not be started · 4 a bug in the
harness itself · 130 interrupted (Ctrl+C); the one table is `harness.errors.ExitCode`.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from harness import __version__
from harness.assignment import Assignment, find_assignment, load_assignment
from harness.checks import CATALOGUE, SUITES, load_catalogue
from harness.cli import run_deadline
from harness.cli.output_paths import check_output_paths, writable_paths
from harness.errors import ConfigError, ExitCode
from harness.protocolfile.loader import display_name
from harness.protocols import PROTOCOLS
from harness.results.report import Report
from harness.server.command import is_bare_command, typed_argv
from harness.settings import (
    OPTION_BY_NAME,
    OPTIONS,
    check_workers,
    fixed_port_collides,
    pytest_args,
    run_settings,
)
from harness.suitenames import OLD, correctness_suite, note
from harness.system import isolation


def suites_dir() -> Path:
    import harness.suites

    return Path(harness.suites.__file__).parent


class _RecordingParser(argparse.ArgumentParser):
    """An ArgumentParser that remembers the option flags it was given (argparse keeps its own list private)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.flags: set[str] = set()
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.flags.update(action.option_strings)
        return action


def build_parser() -> argparse.ArgumentParser:
    return _build_parsers()[0]


def _build_parsers() -> tuple[argparse.ArgumentParser, _RecordingParser]:
    """The `harness` parser, and its `run` subcommand's parser."""
    parser = argparse.ArgumentParser(
        prog="harness", description="Conformance tests for TCP/UDP socket servers."
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_RecordingParser)

    run = commands.add_parser(
        "run",
        help="start a server and run the conformance suites against it",
        usage="harness run [OPTIONS] SERVER [SERVER_ARGS...]\n       harness run [OPTIONS] -- COMMAND [ARGS...]",
        description="SERVER is a .py file (run with this Python) or an executable. "
        "{port} and {host} in arguments become the assigned port and host; $PORT and $HOST are set too.",
    )
    for option in OPTIONS:
        flag = f"--{option.name}"
        if option.type is bool:
            run.add_argument(flag, dest=option.dest, action="store_true", default=None, help=option.help)
        else:
            run.add_argument(flag, dest=option.dest, default=None, metavar=option.name.split("-")[-1].upper(),
                             help=f"{option.help} (default: {option.default})")
    # What an instructor guesses first for a protocol file: the same option, not shown twice in --help.
    run.add_argument("--protocol-file", dest="harness_protocol", default=None, metavar="FILE", help=argparse.SUPPRESS)
    run.add_argument("--suite", action="append", dest="suites", help=f"run only this suite (repeatable): {', '.join(SUITES)}")
    run.add_argument("--json", dest="json_path", metavar="FILE", help="write the JSON report to FILE")
    run.add_argument("--junit-xml", dest="junit_path", metavar="FILE", help="write a JUnit XML report to FILE (check ids as test names)")
    run.add_argument("--gradescope", dest="gradescope_path", metavar="FILE", help="write Gradescope's results.json to FILE")
    run.add_argument("--classroom", dest="classroom_path", metavar="FILE",
                     help="write GitHub Classroom autograding results (JSON; base64 it into <RUNNER>_RESULTS) to FILE")
    run.add_argument("--config", dest="config_path", metavar="FILE",
                     help="assignment file: options, command, suites, points (default: ./harness.toml if present)")
    run.add_argument("--check", action="append", dest="checks", metavar="ID",
                     help="run only the checks matching this id or glob, e.g. 'echo::*' (repeatable)")
    run.add_argument("-n", dest="workers", metavar="N", help="parallel workers (pytest-xdist); servers must honour {port}")
    run.add_argument("-k", dest="keyword", metavar="EXPR", help="only checks matching EXPR (pytest -k)")
    run.add_argument("-x", "--exitfirst", dest="exitfirst", action="store_true",
                     help="stop at the first failed check (fix one thing at a time)")
    run.add_argument("-v", dest="verbose", action="count", default=0, help="more output")
    run.add_argument("-q", dest="quiet", action="count", default=0, help="less output")
    run.add_argument("server", metavar="SERVER", nargs="?", help="the server: a .py file or an executable")
    run.add_argument("server_args", metavar="SERVER_ARGS", nargs=argparse.REMAINDER, help="its arguments")

    listing = commands.add_parser("list", help="list the checks with their ids, descriptions and expectations")
    listing.add_argument("--protocol", help=f"only checks for this protocol ({', '.join(sorted(PROTOCOLS))}) "
                         "or protocol file (path/to/proto.toml)")
    listing.add_argument("--suite", action="append", dest="suites", help="only this suite (repeatable)")

    from harness.cli.bundle import add_bundle_parser
    from harness.cli.doctor import add_doctor_parser
    from harness.cli.grade import add_grade_parser
    from harness.cli.init_assignment import add_init_parser
    from harness.protocolfile.checkfile import add_protocol_parser

    add_grade_parser(commands)
    add_doctor_parser(commands)
    add_bundle_parser(commands)
    add_init_parser(commands)
    add_protocol_parser(commands)
    return parser, run


def split_dashdash(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """`run [OPTIONS] -- COMMAND...`: the part after `--` is the server command."""
    if "--" in argv:
        index = argv.index("--")
        return argv[:index], argv[index + 1 :]
    return argv, None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, command = split_dashdash(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(own)
    except SystemExit as exit_:
        return ExitCode.USAGE if exit_.code not in (0, None) else ExitCode.OK
    if args.command == "list":
        try:
            from harness.cli.listing import list_checks

            return list_checks(args)
        except BrokenPipeError:  # `harness list | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return ExitCode.OK
    if args.command == "protocol":
        from harness.protocolfile.checkfile import protocol_command

        return protocol_command(args)
    if args.command == "doctor":
        from harness.cli.doctor import doctor_command

        return doctor_command()
    if args.command == "grade":
        from harness.cli.grade import grade_command

        return grade_command(args)
    if args.command == "bundle":
        from harness.cli.bundle import bundle_command

        return bundle_command(args)
    if args.command == "init":
        from harness.cli.init_assignment import init_command

        return init_command(args)
    return run(args, command)


def _fail_early(message: str, code: int, args: argparse.Namespace, command: list[str]) -> int:
    interrupted = code == ExitCode.INTERRUPTED
    print(f"harness: {'' if interrupted else 'error: '}{message}", file=sys.stderr)
    report = Report.never_ran(display_name(getattr(args, "harness_protocol", None) or "tcp-echo"), command, message,
                              interrupted=interrupted, harness_error=code != ExitCode.START)
    _write_outputs(report, args, writable_only=True)
    html = writable_paths(_report_paths(args))["--html"]
    if html:
        from harness.results import html_report
        from harness.results.report_files import written

        why = written("--html", html, lambda: html_report.write(report, html))
        if why:
            print(f"harness: error: {why}", file=sys.stderr)
    return code


#: Set once pytest runs: from then on the run's own interrupt handling writes the reports.
_pytest_started = False


def interrupted_before_the_run(argv: list[str]) -> int:
    """Ctrl+C or SIGTERM before the run had its own handling in place (`harness.cli.entry`): one line,
    exit 130, and for `harness run` the reports asked for, marked interrupted, with no check run."""
    own, command = split_dashdash(argv)
    try:
        args = build_parser().parse_args(own)
    except SystemExit:
        args = None
    # Once pytest ran, the run's own handling wrote (or is writing) its reports: not replaced by an empty one.
    if args is None or args.command != "run" or _pytest_started:
        print("harness: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    typed = [args.server or "", *args.server_args] if command is None else command
    return _fail_early("interrupted before the first check: no check ran", ExitCode.INTERRUPTED, args, typed)


def _report_paths(args: argparse.Namespace) -> dict[str, str | None]:
    """Every report file the run was asked for, by option."""
    return {"--json": getattr(args, "json_path", None), "--junit-xml": getattr(args, "junit_path", None),
            "--gradescope": getattr(args, "gradescope_path", None), "--classroom": getattr(args, "classroom_path", None),
            "--html": getattr(args, "harness_html", None)}


def _write_outputs(report: Report, args: argparse.Namespace, expected: list[str] | None = None,
                   writable_only: bool = False) -> bool:
    """JSON (with scores), JUnit, Gradescope and Classroom files: whichever were asked for; False (and
    said why) if one of them could not be written. `writable_only`: leave out, silently, the paths that
    cannot be written (the run failed before it began, and said so).

    `expected`: the result ids pytest selected, so that checks that never ran still count."""
    from harness.results.report_files import OutputPaths, write_outputs

    asked = _report_paths(args)
    if writable_only:
        asked = writable_paths(asked)
    paths = OutputPaths(asked["--json"], asked["--junit-xml"], asked["--gradescope"], asked["--classroom"])
    if not any((paths.json, paths.junit, paths.gradescope, paths.classroom)):
        return True
    _, unwritten = write_outputs(report, paths, getattr(args, "assignment", None) or Assignment(),
                                 suites=args.suites, only_results=bool(getattr(args, "keyword", None)),
                                 expected=expected, protocol=getattr(args, "harness_protocol", None))
    for why in unwritten:
        print(f"harness: error: {why}", file=sys.stderr)
    return not unwritten


def _apply_assignment(args: argparse.Namespace, command: list[str] | None) -> list[str] | None:
    """Fill what the command line left open from the assignment file (the command line wins).

    Returns the `--` command if the file's `command` is one (a bare program name)."""
    assignment = load_assignment(find_assignment(args.config_path))
    args.assignment = assignment
    for line in assignment.notes:
        print(line, file=sys.stderr)
    for name, value in assignment.options.items():
        dest = OPTION_BY_NAME[name].dest
        if getattr(args, dest) is None and value is not False:
            setattr(args, dest, value)
    if args.suites is None and assignment.suites:
        args.suites = list(assignment.suites)
    if args.checks is None and (assignment.checks is not None or assignment.exclude):
        load_catalogue()
        args.checks = [check.id for check in CATALOGUE.values()
                       if assignment.selects(check.id) and assignment.opts_in(check.suite, args.suites)]
    if command is None and not args.server and assignment.command:
        first, rest = assignment.command[0], assignment.command[1:]
        args.command_from = find_assignment(args.config_path)
        if is_bare_command(first):
            return list(assignment.command)
        args.server, args.server_args = first, list(rest)
    return command


def run(args: argparse.Namespace, command: list[str] | None) -> int:
    run_deadline.arm()  # graded by `harness grade`: its time limit holds even if grade dies
    try:
        command = _apply_assignment(args, command)
    except ConfigError as error:
        return _fail_early(str(error), ExitCode.USAGE, args, [args.server or "", *args.server_args] if command is None else command)
    typed = [args.server or "", *args.server_args] if command is None else command
    try:  # the same validation as `pytest --server` (harness.settings), then the command, resolved once
        settings = run_settings(lambda dest: getattr(args, dest), suites=args.suites)
        try:
            server_argv = typed_argv(args.server, args.server_args, command)
        except ConfigError as error:
            where = getattr(args, "command_from", None)
            if where is None:
                raise
            # The assignment's command is right, the submission lacks its file (or it cannot run): the server
            # could not be started, the student's result, not a bad harness.toml (blind 20 F5: exit 2 and
            # "harness_error" failed the course's workflow step as a configuration error).
            return _fail_early(f"the submission ({os.getcwd()}) cannot be started as the assignment ({where}) says, "
                               f"with {shlex.join(typed)}: {error}", ExitCode.START, args, typed)
        check_workers(args.workers)
        check_output_paths(_report_paths(args))
    except ConfigError as error:
        return _fail_early(str(error), ExitCode.USAGE, args, typed)
    workers = args.workers
    _warn_misplaced_options(args.server_args if command is None else [], parser_options())
    if OLD in (args.suites or ()) and correctness_suite(settings.protocol) != OLD and not args.assignment.notes:
        print(note(settings.protocol_name), file=sys.stderr)
    if fixed_port_collides(settings, workers, isolation.unavailable_reason):
        # Without a private network namespace per worker, their servers would collide on the port.
        print("note: a fixed --port runs checks one at a time (-n ignored)", file=sys.stderr)
        workers = None
    pytest_args = build_pytest_args(args, server_argv, workers)
    code = run_pytest(pytest_args, args, server_argv)
    from harness import interrupts

    if interrupts.stop_requested():
        interrupts.ignore_further_stops()  # the reports are written: only the exit is left
    return code


def parser_options() -> set[str]:
    """Every option `harness run` knows, e.g. {"--json", "--protocol", "-k"}."""
    return set(_build_parsers()[1].flags)


def _warn_misplaced_options(server_args: list[str], known: set[str]) -> None:
    """`harness run server.py --json r.json` passes --json to the server: say so kindly."""
    misplaced = [arg.split("=")[0] for arg in server_args if arg.split("=")[0] in known and arg not in ("-h", "-v", "-q")]
    if misplaced:
        print(
            f"note: {', '.join(misplaced)} came after SERVER, so the server receives it; "
            "put harness options before SERVER (harness run [OPTIONS] SERVER [SERVER_ARGS...])",
            file=sys.stderr,
        )


def build_pytest_args(args: argparse.Namespace, server_argv: list[str], workers: str | None) -> list[str]:
    import shlex

    directory = str(suites_dir())
    result = [
        directory, "--rootdir", directory, "-c", os.devnull,
        # pytest's terminal output is silenced (our collector prints one line per
        # check) but kept loaded: pytest-timeout and xdist write through it.
        "-p", "harness.plugin", "-p", "pytest_timeout", "-qq", "--no-header", "--no-summary",
        "-p", "no:cacheprovider",
        "-p", "no:legacypath", "--harness-ui", str(max(-1, min(1, args.verbose - args.quiet))),
        "--server", shlex.join(server_argv), "--harness-resolved",
        *pytest_args(lambda dest: getattr(args, dest)),
    ]
    for suite in args.suites or []:
        result += ["--suite", suite]
    if args.json_path:
        result += ["--harness-json", args.json_path]
    for pattern in args.checks or []:
        result += ["--check", pattern]
    if args.keyword:
        result += ["-k", args.keyword]
    if args.exitfirst:
        result.append("-x")
    if workers not in (None, "0"):
        result += ["-p", "xdist", "-n", str(workers)]
    return result


class _Observer:
    """Keeps the pytest config so the CLI can read what the run found."""

    config = None

    def pytest_configure(self, config) -> None:  # noqa: ANN001
        self.config = config


def run_pytest(pytest_args: list[str], args: argparse.Namespace, server_argv: list[str]) -> int:
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # other installed plugins cost seconds per start
    import pytest

    from harness.plugin import run_state

    global _pytest_started
    observer = _Observer()
    _pytest_started = True
    try:
        code = int(pytest.main(pytest_args, plugins=[observer]))
    except KeyboardInterrupt:  # a stop that escaped pytest (it had already ended the session)
        code = ExitCode.INTERRUPTED
    from harness import interrupts

    if interrupts.stop_requested():
        interrupts.shield_cleanup()  # a late Ctrl+C must not cut the reports short
    state = run_state(observer.config) if observer.config is not None else None
    if state is None and (code in (pytest.ExitCode.INTERRUPTED, ExitCode.INTERRUPTED) or interrupts.stop_requested()):
        return _fail_early("interrupted before the first check: no check ran", ExitCode.INTERRUPTED, args,
                           server_argv)
    if state is None:
        if code == pytest.ExitCode.USAGE_ERROR:
            return _fail_early("bad arguments (see above)", ExitCode.USAGE, args, server_argv)
        return _fail_early(f"the harness could not run (pytest exit {code})", ExitCode.INTERNAL, args, server_argv)
    crashes = state.crash_notes()
    if crashes and not state.results:
        return _fail_early(f"the harness's test processes crashed before any check ran ({crashes[0]})",
                           ExitCode.INTERNAL, args, server_argv)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED or (not state.results and code in (0, 5)):
        return _fail_early("no check selected (look at --protocol, --suite, --check and -k; harness list shows "
                           "every check id)", ExitCode.USAGE, args, server_argv)
    written = state.reports_written
    if state.report is not None:
        written = _write_outputs(state.report, args, state.expected) and written
    if code == pytest.ExitCode.INTERRUPTED:
        return ExitCode.INTERRUPTED
    if not written:
        return ExitCode.USAGE  # said above: a report asked for is missing (its path could not be written)
    if code == pytest.ExitCode.INTERNAL_ERROR and not state.server.startup_error:
        return ExitCode.INTERNAL
    if state.report is not None and state.report.harness_error:
        return ExitCode.INTERNAL  # (pytest's own 4 below means a usage error)
    if code == pytest.ExitCode.USAGE_ERROR:
        return ExitCode.USAGE  # (pytest's 4 is our "a bug in the harness"): e.g. a -k expression it cannot read
    return code


if __name__ == "__main__":
    raise SystemExit(main())
