"""Planning a `harness grade` batch: which submissions, how many at once, how
long each may take, and who is graded again alone after the parallel pass.

Rules (see `harness.cli.grade` for the batch's own):
- Every problem with the batch itself (no submissions folder, no assignment
  file or `command`, a bad `-j`/`--timeout`) is a `ConfigError`, raised
  before any submission runs.
- A fixed `port` in the assignment means one submission at a time.
- The batch's private folder (0700, inside `--out`) is made here; each run's
  report and log are born in it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from harness.assignment import Assignment, find_assignment, load_assignment
from harness.cli.gradebook import Outcome
from harness.cli.output_paths import check_writable_file, check_writable_folder
from harness.errors import ConfigError
from harness.settings import LONGEST_RUN
from harness.terminal import safe_line

DEFAULT_TIMEOUT = 300.0


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
    #: Set once the batch is stopped (Ctrl+C): no run starts after it.
    stopping: threading.Event = field(default_factory=threading.Event)


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
                         if p.is_dir() and not p.name.startswith(".") and p.name != "__MACOSX"  # (a macOS zip's)
                         and p.resolve() != out.resolve())
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
    if not 0 < timeout <= LONGEST_RUN:  # (also not nan)
        raise ConfigError(f"invalid --timeout {timeout:g}: seconds per submission, more than 0 and at most "
                          f"{LONGEST_RUN:g}")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {args.out!r} is a file: give the folder for the reports")
    if not out.exists():
        try:
            out.mkdir(parents=True, mode=0o700)  # every student's grade: no server may list it (fallback as root)
        except OSError as error:
            raise ConfigError(f"--out {args.out!r} cannot be made: {error.strerror or error}") from None
    check_writable_folder("--out", out)
    if args.gradebook:
        check_writable_file("--gradebook", args.gradebook)
    warn_if_shown(("the submissions", directory), ("the assignment", config), ("--out", out))
    private = Path(tempfile.mkdtemp(prefix=".harness-grade-", dir=out))
    return BatchPlan(directory, submissions, assignment, config.resolve(), out.resolve(), jobs, timeout,
                     private=private.resolve())


def warn_if_shown(*places: tuple[str, Path]) -> None:
    """A note for each place under a system folder the sandbox shows every server (read-only): a course kept
    under /opt is readable by every student's server (blind 18)."""
    from harness.system.bwrap import SYSTEM, interpreter_folders

    # The system, and the folders of the harness's own interpreter (blind 22: a course folder that was the
    # harness's virtualenv showed its harness.toml and the solution to every server).
    visible = [*SYSTEM, *interpreter_folders()]
    for what, place in places:
        real = os.path.realpath(place)
        shown = next((folder for folder in visible if real == folder or real.startswith(folder + "/")), None)
        if shown:
            print(f"note: {what} ({safe_line(real)}) lies under {safe_line(shown)}, which every sandboxed server "
                  f"sees (read-only): a student's server can read it; keep the course elsewhere (/srv, /home)",
                  file=sys.stderr)


def regrade_alone(outcomes: Iterable[Outcome]) -> list[str]:
    """Who may have been disturbed by another submission during the parallel pass."""
    outcomes = list(outcomes)
    own_port = [o.name for o in outcomes if o.port_source == "discovered"]
    if not own_port:
        return []
    port_taken = [o.name for o in outcomes if o.status == "startup error" and o.port_in_use]
    return sorted(set(own_port + port_taken))
