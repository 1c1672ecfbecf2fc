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
import signal
import sys
from pathlib import Path
from typing import Any

from harness.cli.folder_lock import hold_folder
from harness.cli.grade_plan import DEFAULT_TIMEOUT, plan_batch
from harness.cli.grade_supervise import grade_all, interrupted_outcome, stop_everything
from harness.cli.gradebook import write_gradebook
from harness.cli.progress import Progress
from harness.errors import ConfigError, ExitCode
from harness.system.safe_files import remove_tree


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
                stop_everything(plan)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C does not cut the gradebook short
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                write_gradebook(gradebook, [plan.done.get(p.name) or interrupted_outcome(p, plan) for p in plan.submissions])
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
