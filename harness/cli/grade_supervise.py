"""Supervising a `harness grade` batch: one `harness run` per submission,
bounded by its time limit, stopped and swept when it overruns, and its report
read into an `Outcome`.

Rules (see `harness.cli.grade` for the batch's own):
- A run is a subprocess in its own process group, in the submission's folder,
  with an isolated interpreter (`python -I`) and the submission's marker in its
  environment; on the limit it gets SIGINT, then its group SIGKILL, then every
  process still carrying the marker is killed (`harness.system.processes`).
- A report is read only from the batch's private folder, then moved into `--out`.
- Nothing here raises for a submission's sake: a run without a report scores 0,
  with the reason.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness.cli import run_deadline
from harness.cli.grade_plan import BatchPlan, regrade_alone
from harness.cli.gradebook import Outcome, readable_number
from harness.cli.progress import Progress
from harness.errors import ExitCode
from harness.protocolfile.loader import display_name
from harness.results.report import Report
from harness.results.report_files import OutputPaths, write_outputs
from harness.server.command import entry_points, server_file
from harness.system import run_folders
from harness.system.processes import kill, processes_with_env
from harness.system.safe_files import remove_tree
from harness.terminal import safe_line

#: After SIGINT, how long a run has to stop its server and write its report.
INTERRUPT_GRACE = 10.0
#: The same when the whole batch is stopped (Ctrl+C): the person is waiting.
STOP_GRACE = 2.0
MARKER_VARIABLE = "HARNESS_GRADE_SUBMISSION"
STATUS_BY_EXIT = {ExitCode.OK: "passed", ExitCode.FAILED: "failed", ExitCode.USAGE: "config error",
                  ExitCode.START: "startup error", ExitCode.INTERNAL: "harness error", ExitCode.INTERRUPTED: "interrupted"}
#: The status of a submission without the file the assignment's command runs (the student's
#: missing file, not the instructor's config).
NO_SERVER = "no server"


def grade_all(plan: BatchPlan, progress: Progress) -> list[Outcome]:
    """The parallel pass, then the submissions that must be graded alone, one at a time."""
    results = plan.done

    def one(path: Path) -> Outcome | None:
        if plan.stopping.is_set():
            return None
        progress.started(path.name)
        outcome = grade_one(path, plan)
        if outcome is not None:
            results[path.name] = outcome  # at once: an interrupted batch's gradebook shows every finished run
            progress.finished(path.name, progress_text(outcome))
        return outcome

    if plan.jobs == 1:
        for path in plan.submissions:
            one(path)
            if plan.stopping.is_set():
                raise KeyboardInterrupt
    else:
        pool = ThreadPoolExecutor(max_workers=plan.jobs)
        try:
            list(pool.map(one, plan.submissions))
        except BaseException:
            plan.stopping.set()
            pool.shutdown(wait=False, cancel_futures=True)
            stop_everything(plan)
            pool.shutdown(wait=True)  # the stopped runs' outcomes are recorded before the gradebook is written
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


#: A submission's report, log and page, and the gradebook: its owner's only. In the fallback as root a server
#: runs as a uid of its own, and files every user may read would give it its classmates' grades.
PRIVATE_FILE = 0o600


def grade_one(path: Path, plan: BatchPlan) -> Outcome | None:
    """Run `harness run` for one submission, bounded by the time limit; never raises for the submission's sake.
    None if the batch was stopped before its run could start."""
    name = path.name
    report_path = plan.out / f"{name}.json"
    log_path = plan.out / f"{name}.log"
    private = Path(tempfile.mkdtemp(prefix=f"{name[:40]}-", dir=plan.private))
    own_report, own_log = private / "report.json", private / "run.log"
    own_html, html_path = private / "report.html", plan.out / f"{name}.html"
    marker = uuid.uuid4().hex
    expected_file = server_file(plan.assignment.command or [])
    folder = entry_folder(path, expected_file)
    notes = [] if folder == path else [f"graded in {safe_line(str(folder.relative_to(path)))}/, where its "
                                       f"{expected_file} is (as Gradescope's bundle does)"]
    command = [*isolated_harness(), "run", "--config", str(plan.config), "--json", str(own_report),
               "--html", str(own_html), "-q"]
    env = {**os.environ, MARKER_VARIABLE: marker, **run_deadline.environment(plan.timeout)}
    started = time.monotonic()
    timed_out = False
    with open(own_log, "wb") as log:
        with plan.lock:  # started and registered at once, or not at all: a stop sees every run it must stop
            if plan.stopping.is_set():
                process = None
            else:
                process = subprocess.Popen(command, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True,
                                           preexec_fn=run_deadline.ends_with_parent())
                plan.running[marker] = process
        if process is None:
            remove_tree(private)
            return None
        try:
            code = process.wait(timeout=plan.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            code = stop_run(process)
        except KeyboardInterrupt:  # the batch is stopped (one at a time): this run ends with its partial report
            plan.stopping.set()
            code = stop_run(process, grace=STOP_GRACE)
            kill_marked(marker)
        except BaseException:
            stop_run(process, grace=1.0)
            kill_marked(marker)
            raise
        finally:
            with plan.lock:
                plan.running.pop(marker, None)
    kill_marked(marker)
    duration = time.monotonic() - started
    # What a run killed at its limit left (its scratch copies) goes now, on no submission's clock: the next
    # run would spend at most run_folders.STALE_BUDGET on it, and leave the rest to the one after.
    run_folders.remove_stale(tempfile.gettempdir())
    data = _read_report(own_report)
    if timed_out:
        status = "timeout"
        notes.append(f"stopped after the {plan.timeout:g} s time limit; checks that did not finish score 0")
    else:
        # A run the batch's stop reached as it ended dies of the SIGINT (exit -2): stopped, not a code to read.
        status = STATUS_BY_EXIT.get(code) or ("interrupted" if code < 0 and plan.stopping.is_set() else f"exit {code}")
    if data is None or "score" not in data:
        status = "timeout" if timed_out else "harness error"
        why = (f"grading stopped after the {plan.timeout:g} s time limit" if timed_out
               else f"the harness ended without a report (exit {code}); see {log_path.name}")
        data = _zero_report(own_report, plan, why)
    for own in (own_log, own_report, own_html):  # private before they are moved where a server might look
        if own.is_file():
            os.chmod(own, PRIVATE_FILE)
    _name_final_paths(own_log, {own_report: report_path, own_html: html_path})
    os.replace(own_log, log_path)
    os.replace(own_report, report_path)
    if own_html.is_file():
        os.replace(own_html, html_path)
    else:
        html_path.unlink(missing_ok=True)
    remove_tree(private)
    server = data.get("server") or {}
    startup_error = server.get("startup_error")
    if expected_file and not timed_out and not (folder / expected_file).exists():
        found = [safe_line(Path(entry).name) for entry in entry_points(path)]  # the submission's names
        instead = f"; it has {', '.join(found)}" if found else ""
        status, startup_error = NO_SERVER, (f"no {expected_file} in the submission (looked for "
                                            f"{path / expected_file}){instead}")
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


#: The end of a run's log that names its reports ("report: PATH").
LOG_TAIL = 4096


def _name_final_paths(log: Path, moved: dict[Path, Path]) -> None:
    """The log's last lines name the reports where the run wrote them, a private folder about to be removed:
    name them where they will be (blind 20: every NAME.log pointed at deleted paths)."""
    try:
        with open(log, "r+b") as f:
            start = max(0, f.seek(0, os.SEEK_END) - LOG_TAIL)
            f.seek(start)
            tail = f.read()
            renamed = tail
            for old, new in moved.items():
                renamed = renamed.replace(os.fsencode(old), os.fsencode(new))
            if renamed != tail:
                f.seek(start)
                f.truncate()
                f.write(renamed)
    except OSError:
        pass


#: At most this many folders of a submission are searched for its server file.
SEARCHED_FOLDERS = 2000
#: Folders never searched for the server's file: a macOS zip's resource forks, tools' and VCS folders.
NOT_SEARCHED = frozenset({"__MACOSX", "node_modules", "venv", "__pycache__"})


def entry_folder(path: Path, expected_file: str | None, depth: int = 4) -> Path:
    """The folder of the submission to run in: its top, else the first folder (in sorted order, at most
    `depth` levels down, no link followed, no hidden folder) that holds the assignment's server file —
    as Gradescope's run_autograder looks (blind 20: a nested server.py scored 0 here and 100 there)."""
    if not expected_file or (path / expected_file).exists():
        return path
    level, budget = [path], SEARCHED_FOLDERS  # (blind 22: 54,000 folders took 2 s, on no submission's clock)
    for _ in range(depth):
        deeper: list[Path] = []
        for folder in level:
            budget -= 1
            if budget < 0:
                return path
            try:
                children = sorted(e for e in folder.iterdir() if e.is_dir() and not e.is_symlink())
            except OSError:
                continue
            for child in children:
                if child.name.startswith(".") or child.name in NOT_SEARCHED:
                    continue
                candidate = child / expected_file
                if candidate.is_file() and not candidate.is_symlink():
                    return child
                deeper.append(child)
        level = deeper
    return path


def isolated_harness() -> list[str]:
    """`python -I` running this very harness: no current folder, no PYTHON* variables on its path;
    this harness's own folder is appended (after the standard library and site-packages), so a
    harness run from a checkout (PYTHONPATH) still imports itself and nothing else."""
    home = str(Path(__file__).resolve().parents[2])  # the folder holding harness/ (this is harness/cli/)
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


def kill_marked(marker: str) -> None:
    """Last line of defence: nothing started for a submission outlives its grading."""
    for _ in range(3):
        pids = processes_with_env(MARKER_VARIABLE, marker)
        if not pids:
            return
        kill(pids)
        time.sleep(0.05)


def stop_everything(plan: BatchPlan) -> None:
    """Stop every run in progress at once (Ctrl+C, or the parallel pass failing); none starts after it."""
    with plan.lock:
        plan.stopping.set()
        running = list(plan.running.items())
    for marker, process in running:
        stop_run(process, grace=STOP_GRACE)
        kill_marked(marker)


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
    report = Report.never_ran(display_name(protocol), list(plan.assignment.command or []), why, interrupted=True)
    write_outputs(report, OutputPaths(json=str(path), mode=PRIVATE_FILE), plan.assignment,
                  suites=plan.assignment.suites, protocol=protocol)
    return json.loads(path.read_text(encoding="utf-8"))


def interrupted_outcome(path: Path, plan: BatchPlan) -> Outcome:
    """The row of a submission the interrupted batch did not finish: 0, with the reason."""
    report_path = plan.out / f"{path.name}.json"
    data = _zero_report(report_path, plan, "grading was interrupted before this submission was graded")
    return Outcome(name=path.name, status="interrupted", score=data["score"], summary=data.get("summary") or {},
                   startup_error=(data.get("server") or {}).get("startup_error"), port_source=None, listening=None,
                   duration_s=0.0, report_path=report_path, notes=["not graded: the batch was interrupted"])


def progress_text(outcome: Outcome) -> str:
    score = outcome.score
    return f"{readable_number(score.get('points', 0))}/{readable_number(score.get('max_points', 0))} {outcome.status}"
