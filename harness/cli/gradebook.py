"""The gradebook of a `harness grade` batch: one row per submission, written atomically.

Rules:
- Columns: the total, then each suite's points and maximum (`SUITE`, `SUITE max`),
  then counts, the startup error, notes, duration and the report's path.
- Numbers are written as a spreadsheet reads them best (4.0 -> 4, 3.3333 -> 3.33).
- The file is written to a fresh temporary name beside it and renamed: nothing
  planted at the path is followed, and a reader never sees half a gradebook.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.system.safe_files import write_atomically
from harness.terminal import safe_line


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
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    for o in outcomes:
        score = o.score
        maximum = score.get("max_points") or 0
        per_suite = score.get("suites") or {}
        row = [safe_line(o.name), readable_number(score.get("points", 0)), readable_number(maximum),
               f"{100 * score.get('points', 0) / maximum:.1f}" if maximum else "", o.status]
        for suite in suites:
            entry = per_suite.get(suite) or {}
            row += [readable_number(entry.get("points", "")), readable_number(entry.get("max_points", ""))]
        summary = o.summary
        row += [summary.get("passed", 0), summary.get("failed", 0), summary.get("warnings", 0), summary.get("errors", 0),
                safe_line(o.startup_error or "")[:500], safe_line("; ".join(o.notes)), f"{o.duration_s:.1f}",
                safe_line(os.path.relpath(o.report_path, path.parent))]
        writer.writerow(row)
    # A fresh private temporary beside it (nothing planted is followed); the whole class's grades: owner only.
    write_atomically(path, text.getvalue(), mode=0o600)


def readable_number(value: Any) -> Any:
    """4.0 -> 4, 3.3333 -> 3.33: readable in a spreadsheet."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 2)
    return value
