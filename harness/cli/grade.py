"""`harness grade SUBMISSIONS_DIR`: grade a whole class, one submission per subfolder.

Rules of this module:
- Each submission is graded by its own `harness run` subprocess (in its own
  process group, in the submission's folder, with the assignment file passed
  explicitly so a student's own `harness.toml` is never read), under an
  overall time limit. Its interpreter is isolated (`python -I`): nothing in
  the submission's folder (a `harness/` package, `socket.py`,
  `sitecustomize.py`) is ever imported by the harness (SPEC §5.1).
- The time limit is the run's own too (`harness.cli.run_deadline`): a run stops
  itself at its deadline, and gets SIGTERM the moment `harness grade` dies,
  so a killed batch leaves no run going without its limit.
- Each run writes its report and log into the batch's private folder (0700,
  the harness's own); they are moved into `--out` afterwards. A report is
  read only from there: nothing planted in `--out` (a `NAME.json.tmp`, a
  link), nor another batch writing the same `--out`, changes a score. On the limit it gets SIGINT (it stops its server and
  writes what it has), then the group gets SIGKILL, then any process still
  carrying the submission's environment marker is killed. A hung or hostile
  submission costs at most its time limit and cannot stop the batch.
- Ports: every run uses its own randomly assigned port, and the launcher skips
  ports in use. A submission that ignores the assigned port (hard-coded, the
  report says "discovered") could collide with another such submission, so
  after the parallel pass those — and, when any exist, submissions that failed
  to start because their port was taken — are graded again one at a time,
  alone; their row says so.
  With a fixed `port` in the assignment everything runs one at a time.
- Outputs: `OUT/NAME.json` (the run's JSON report with scores), `OUT/NAME.html`
  (the same run as a page, with a sequence diagram per failure), `OUT/NAME.log`
  (its console output) and `OUT/gradebook.csv` — also when the batch is
  stopped (Ctrl+C, SIGTERM): then unfinished submissions score 0, status
  `interrupted`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from harness.cli import run_deadline
from harness.assignment import Assignment, find_assignment, load_assignment
from harness.server.command import server_file
from harness.errors import ConfigError, ExitCode
from harness.cli.folder_lock import hold_folder
from harness.results.report_files import OutputPaths, write_outputs
from harness.cli.progress import Progress
from harness.protocolfile.loader import display_name
from harness.results.report import Report, ServerInfo
from harness.system.safe_files import remove_tree

DEFAULT_TIMEOUT = 300.0
#: After SIGINT, how long a run has to stop its server and write its report.
INTERRUPT_GRACE = 10.0
MARKER_VARIABLE = "HARNESS_GRADE_SUBMISSION"
STATUS_BY_EXIT = {ExitCode.OK: "passed", ExitCode.FAILED: "failed", ExitCode.USAGE: "config error",
                  ExitCode.START: "startup error", ExitCode.INTERNAL: "harness error", ExitCode.INTERRUPTED: "interrupted"}
#: The status of a submission without the file the assignment's command runs (the student's
#: missing file, not the instructor's config).
NO_SERVER = "no server"


def add_grade_parser(commands: Any) -> None:
    grade = commands.add_parser(
        "grade",
        help="grade every submission (one per subfolder) and write a gradebook CSV",
        usage="harness grade [--config FILE] [-j N] [--out DIR] [--timeout S] SUBMISSIONS_DIR",
        description="Runs `harness run` in each subfolder of SUBMISSIONS_DIR with the assignment file "
        "(./harness.toml or --config): its `command` starts the submission's server.",
    )
    grade.add_argument("submissions", metavar="SUBMISSIONS_DIR", help="folder with one subfolder per submission")
    grade.add_argument("--config", dest="config_path", metavar="FILE", help="assignment file (default: ./harness.toml)")
    grade.add_argument("-j", "--jobs", dest="jobs", type=int, default=None, metavar="N",
                       help="submissions graded at the same time (default: [grade] jobs, else 1)")
    grade.add_argument("--out", dest="out", default="grades", metavar="DIR",
                       help="where gradebook.csv and each submission's JSON go (default: ./grades)")
    grade.add_argument("--timeout", dest="timeout", type=float, default=None, metavar="S",
                       help=f"time limit per submission in seconds (default: [grade] timeout, else {DEFAULT_TIMEOUT:g})")
    grade.add_argument("--gradebook", dest="gradebook", default=None, metavar="FILE",
                       help="gradebook CSV path (default: OUT/gradebook.csv)")


@dataclass
class Outcome:
    """What grading one submission produced."""

    name: str
    status: str
    score: dict[str, Any]
    summary: dict[str, Any]
    startup_error: str | None
    port_source: str | None
    listening: str | None
    duration_s: float
    report_path: Path
    notes: list[str] = field(default_factory=list)
    #: The server's output says its port was taken (another submission's hard-coded port?).
    port_in_use: bool = False


@dataclass
class BatchPlan:
    directory: Path
    submissions: list[Path]
    assignment: Assignment
    config: Path
    out: Path
    jobs: int
    timeout: float
    #: Runs in progress (marker -> process), so that Ctrl+C stops them all at once.
    running: dict[str, subprocess.Popen] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: The batch's own 0700 folder (next to --out): each run's report and log are born here.
    private: Path = field(default_factory=Path)
    #: Submissions graded so far (name -> outcome), for the gradebook of an interrupted batch.
    done: dict[str, Outcome] = field(default_factory=dict)

    def stop_everything(self) -> None:
        with self.lock:
            running = list(self.running.items())
        for marker, process in running:
            stop_run(process, grace=2.0)
            kill_marked(marker)


def grade_command(args: argparse.Namespace) -> int:
    try:
        plan = plan_batch(args)
    except ConfigError as error:
        print(f"harness: error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    gradebook = Path(args.gradebook) if args.gradebook else plan.out / "gradebook.csv"
    try:
        with hold_folder(plan.out):
            progress = Progress(len(plan.submissions), sys.stderr)
            stoppable()
            try:
                outcomes = grade_all(plan, progress)
            except KeyboardInterrupt:
                progress.close()  # from here on, runs still finishing stay silent
                plan.stop_everything()
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C does not cut the gradebook short
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                write_gradebook(gradebook, [plan.done.get(p.name) or _interrupted(p, plan) for p in plan.submissions])
                print(f"harness: interrupted; gradebook of the {len(plan.done)} submission(s) graded so far (the "
                      f"others score 0, status interrupted): {gradebook}", file=sys.stderr)
                return ExitCode.INTERRUPTED
            finally:
                remove_tree(plan.private)
            progress.close()
            write_gradebook(gradebook, outcomes)
    except ConfigError as error:
        print(f"harness: error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    scored = [o for o in outcomes if o.score.get("max_points")]
    mean = sum(o.score["points"] for o in scored) / len(scored) if scored else 0.0
    maximum = scored[0].score["max_points"] if scored else 0
    print(f"graded {len(outcomes)} submissions in {plan.out}; mean score {mean:.2f} / {maximum:g}", file=sys.stderr)
    print(f"gradebook: {gradebook}", file=sys.stderr)
    return ExitCode.OK


def stoppable() -> None:
    """Ctrl+C and SIGTERM stop the batch (and its runs), even when started with them ignored
    (`harness grade &` in a script inherits SIGINT ignored)."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def plan_batch(args: argparse.Namespace) -> BatchPlan:
    directory = Path(args.submissions)
    if not directory.is_dir():
        raise ConfigError(f"submissions folder not found: {args.submissions!r}")
    config = find_assignment(args.config_path)
    if config is None:
        raise ConfigError("harness grade needs an assignment file: ./harness.toml or --config FILE "
                          "(its `command` says how each submission's server starts)")
    assignment = load_assignment(config)
    if not assignment.command:
        raise ConfigError(f"{config}: key 'command' is required for grading, e.g. command = [\"server.py\", \"{{port}}\"]")
    out = Path(args.out)
    submissions = sorted(p for p in directory.iterdir()
                         if p.is_dir() and not p.name.startswith(".") and p.resolve() != out.resolve())
    if not submissions:
        raise ConfigError(f"no submissions in {str(directory)!r}: expected one subfolder per submission")
    jobs = args.jobs if args.jobs is not None else (assignment.grade_jobs or 1)
    if jobs < 1:
        raise ConfigError(f"invalid -j {jobs}: at least 1")
    if assignment.options.get("port") and jobs > 1:
        print(f"note: the assignment fixes port {assignment.options['port']}: grading one submission at a time",
              file=sys.stderr)
        jobs = 1
    timeout = args.timeout if args.timeout is not None else (assignment.grade_timeout or DEFAULT_TIMEOUT)
    if timeout <= 0:
        raise ConfigError(f"invalid --timeout {timeout:g}: must be positive")
    out.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix=".harness-grade-", dir=out))
    return BatchPlan(directory, submissions, assignment, config.resolve(), out.resolve(), jobs, timeout,
                     private=private.resolve())


def grade_all(plan: BatchPlan, progress: Progress) -> list[Outcome]:
    """The parallel pass, then the submissions that must be graded alone, one at a time."""
    results = plan.done

    def one(path: Path) -> Outcome:
        progress.started(path.name)
        outcome = grade_one(path, plan)
        progress.finished(path.name, _progress_text(outcome))
        return outcome

    if plan.jobs == 1:
        for path in plan.submissions:
            results[path.name] = one(path)
    else:
        pool = ThreadPoolExecutor(max_workers=plan.jobs)
        try:
            for outcome in pool.map(one, plan.submissions):
                results[outcome.name] = outcome
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            plan.stop_everything()
            raise
        pool.shutdown()
        again = regrade_alone(results.values())
        if again:
            progress.note(f"grading {len(again)} submission(s) again, alone (own port, or their port was taken)")
            for name in again:
                outcome = grade_one(plan.directory / name, plan)
                outcome.notes.append("graded alone after the parallel pass")
                results[name] = outcome
    return [results[p.name] for p in plan.submissions]


def regrade_alone(outcomes: Iterable[Outcome]) -> list[str]:
    """Who may have been disturbed by another submission during the parallel pass."""
    outcomes = list(outcomes)
    own_port = [o.name for o in outcomes if o.port_source == "discovered"]
    if not own_port:
        return []
    port_taken = [o.name for o in outcomes if o.status == "startup error" and o.port_in_use]
    return sorted(set(own_port + port_taken))


def grade_one(path: Path, plan: BatchPlan) -> Outcome:
    """Run `harness run` for one submission, bounded by the time limit; never raises for the submission's sake."""
    name = path.name
    report_path = plan.out / f"{name}.json"
    log_path = plan.out / f"{name}.log"
    private = Path(tempfile.mkdtemp(prefix=f"{name[:40]}-", dir=plan.private))
    own_report, own_log = private / "report.json", private / "run.log"
    own_html, html_path = private / "report.html", plan.out / f"{name}.html"
    marker = uuid.uuid4().hex
    command = [*isolated_harness(), "run", "--config", str(plan.config), "--json", str(own_report),
               "--html", str(own_html), "-q"]
    env = {**os.environ, MARKER_VARIABLE: marker, **run_deadline.environment(plan.timeout)}
    started = time.monotonic()
    timed_out = False
    with open(own_log, "wb") as log:
        process = subprocess.Popen(command, cwd=path, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=run_deadline.ends_with_parent())
        with plan.lock:
            plan.running[marker] = process
        try:
            code = process.wait(timeout=plan.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            code = stop_run(process)
        except BaseException:
            stop_run(process, grace=1.0)
            kill_marked(marker)
            raise
        finally:
            with plan.lock:
                plan.running.pop(marker, None)
    kill_marked(marker)
    duration = time.monotonic() - started
    data = _read_report(own_report)
    notes: list[str] = []
    if timed_out:
        status = "timeout"
        notes.append(f"stopped after the {plan.timeout:g} s time limit; checks that did not finish score 0")
    else:
        status = STATUS_BY_EXIT.get(code, f"exit {code}")
    if data is None or "score" not in data:
        status = "timeout" if timed_out else "harness error"
        why = (f"grading stopped after the {plan.timeout:g} s time limit" if timed_out
               else f"the harness ended without a report (exit {code}); see {log_path.name}")
        data = _zero_report(own_report, plan, why)
    os.replace(own_log, log_path)
    os.replace(own_report, report_path)
    if own_html.is_file():
        os.replace(own_html, html_path)
    else:
        html_path.unlink(missing_ok=True)
    remove_tree(private)
    server = data.get("server") or {}
    startup_error = server.get("startup_error")
    expected_file = server_file(plan.assignment.command or [])
    if expected_file and not timed_out and not (path / expected_file).exists():
        status, startup_error = NO_SERVER, f"no {expected_file} in the submission (looked for {path / expected_file})"
    elif status == "startup error" and startup_error:
        startup_error = _with_last_output_line(startup_error, data)
    if server.get("port_source") == "discovered":
        notes.append(f"ignores the assigned port ({{port}}/$PORT): listens on {server.get('listening') or server.get('port')}")
    return Outcome(
        name=name, status=status, score=data["score"], summary=data.get("summary") or {},
        startup_error=startup_error, port_source=server.get("port_source"),
        listening=server.get("listening"), duration_s=duration, report_path=report_path, notes=notes,
        port_in_use=_says_port_in_use(data),
    )


def isolated_harness() -> list[str]:
    """`python -I` running this very harness: no current folder, no PYTHON* variables on its path;
    this harness's own folder is appended (after the standard library and site-packages), so a
    harness run from a checkout (PYTHONPATH) still imports itself and nothing else."""
    home = str(Path(__file__).resolve().parent.parent)
    entry = f"import sys; sys.path.append({home!r}); from harness.cli.main import main; sys.exit(main())"
    return [sys.executable, "-I", "-c", entry]


def stop_run(process: subprocess.Popen, grace: float = INTERRUPT_GRACE) -> int:
    """SIGINT the run (it stops its server and writes its report), then SIGKILL its group."""
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            return process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    return process.returncode if process.returncode is not None else -9


def marked_processes(marker: str) -> list[int]:
    """Processes whose environment holds this submission's marker (its server, its children)."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    found = []
    if os.path.isdir("/proc/self"):
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if needle in f.read():
                        found.append(int(entry))
            except OSError:
                continue
        return found
    import psutil

    for proc in psutil.process_iter():
        try:
            if proc.environ().get(MARKER_VARIABLE) == marker:
                found.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return found


def kill_marked(marker: str) -> None:
    """Last line of defence: nothing started for a submission outlives its grading."""
    for _ in range(3):
        pids = marked_processes(marker)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)


PORT_IN_USE = ("address already in use", "eaddrinuse", "errno 98", "errno 48", "winerror 10048")


def _says_port_in_use(data: dict[str, Any]) -> bool:
    texts = [str((data.get("server") or {}).get("startup_error") or "")]
    texts += [str(c.get("server_output") or "") + str(c.get("message") or "") for c in data.get("checks") or []]
    return any(marker in text.lower() for text in texts for marker in PORT_IN_USE)


def _with_last_output_line(startup_error: str, data: dict[str, Any]) -> str:
    """The startup error with the last line the server printed, its cause as a rule
    (`...(exit code 1): SyntaxError: invalid syntax`)."""
    output = next((c.get("server_output") for c in data.get("checks") or [] if c.get("server_output")), "")
    lines = [line.strip() for line in str(output).splitlines()
             if line.strip() and not (line.strip().startswith("---") and line.strip().endswith("---"))]
    if not lines or lines[-1] in startup_error:
        return startup_error
    return f"{startup_error}: {lines[-1]}"


def _read_report(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _zero_report(path: Path, plan: BatchPlan, why: str) -> dict[str, Any]:
    """The submission's JSON when its run left none: every check 0, with the reason."""
    protocol = plan.assignment.options.get("protocol", "tcp-echo")
    report = Report(protocol=display_name(protocol), server=ServerInfo(command=list(plan.assignment.command or []), startup_error=why),
                    interrupted=True)
    write_outputs(report, OutputPaths(json=str(path)), plan.assignment, suites=plan.assignment.suites, protocol=protocol)
    return json.loads(path.read_text(encoding="utf-8"))


def _interrupted(path: Path, plan: BatchPlan) -> Outcome:
    """The row of a submission the interrupted batch did not finish: 0, with the reason."""
    report_path = plan.out / f"{path.name}.json"
    data = _zero_report(report_path, plan, "grading was interrupted before this submission was graded")
    return Outcome(name=path.name, status="interrupted", score=data["score"], summary=data.get("summary") or {},
                   startup_error=(data.get("server") or {}).get("startup_error"), port_source=None, listening=None,
                   duration_s=0.0, report_path=report_path, notes=["not graded: the batch was interrupted"])


def _progress_text(outcome: Outcome) -> str:
    score = outcome.score
    return f"{_number(score.get('points', 0))}/{_number(score.get('max_points', 0))} {outcome.status}"


GRADEBOOK_HEAD = ["submission", "score", "max_score", "percent", "status"]
GRADEBOOK_TAIL = ["passed", "failed", "warnings", "errors", "startup_error", "notes", "duration_s", "report"]


def write_gradebook(path: Path, outcomes: list[Outcome]) -> None:
    """One row per submission: total, per-suite scores (columns `SUITE` and `SUITE max`), counts, startup error."""
    suites: list[str] = []
    for outcome in outcomes:
        for suite in (outcome.score.get("suites") or {}):
            if suite not in suites:
                suites.append(suite)
    header = GRADEBOOK_HEAD + [column for suite in suites for column in (suite, f"{suite} max")] + GRADEBOOK_TAIL
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # nothing planted is followed
    with open(fd, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for o in outcomes:
            score = o.score
            maximum = score.get("max_points") or 0
            per_suite = score.get("suites") or {}
            row = [o.name, _number(score.get("points", 0)), _number(maximum),
                   f"{100 * score.get('points', 0) / maximum:.1f}" if maximum else "", o.status]
            for suite in suites:
                entry = per_suite.get(suite) or {}
                row += [_number(entry.get("points", "")), _number(entry.get("max_points", ""))]
            summary = o.summary
            row += [summary.get("passed", 0), summary.get("failed", 0), summary.get("warnings", 0), summary.get("errors", 0),
                    (o.startup_error or "").replace("\n", " ")[:500], "; ".join(o.notes), f"{o.duration_s:.1f}",
                    os.path.relpath(o.report_path, path.parent)]
            writer.writerow(row)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def _number(value: Any) -> Any:
    """4.0 -> 4, 3.3333 -> 3.33: readable in a spreadsheet."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 2)
    return value
