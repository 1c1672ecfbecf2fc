"""The report files one run writes, written in every case.

`harness run` calls `write_outputs` once, after pytest finished or when it
failed before pytest could run (bad input: the server file is missing, the
assignment file is wrong), so a Gradescope or Classroom submission always gets
a score — 0 with the reason — instead of an autograder crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

from harness.assignment import Assignment
from harness.checks import load_catalogue
from harness.results.classroom import classroom_results
from harness.results.gradescope import gradescope_results
from harness.results.grading import Grade, grade
from harness.results.junit import junit_xml
from harness.results.report import Report
from harness.system.safe_files import write_atomically


@dataclass
class OutputPaths:
    json: str | None = None
    junit: str | None = None
    gradescope: str | None = None
    classroom: str | None = None


def _write_atomically(path: str, text: str) -> None:
    write_atomically(path, text)  # a fresh private temporary, then a rename: nothing planted is followed


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_outputs(report: Report, paths: OutputPaths, assignment: Assignment,
                  suites: Iterable[str] | None = None, only_results: bool = False,
                  expected: list[str] | None = None, protocol: str | None = None) -> Grade:
    """Score the report and write every requested file; returns the grade. `protocol`:
    the run's `--protocol` (a protocol file's path), when the report shows only the file's name."""
    load_catalogue()
    result = grade(report, assignment, suites, only_results, expected, protocol)
    if paths.json:
        data = report.to_json()
        data["score"] = result.to_json()
        _write_atomically(paths.json, _json(data))
    if paths.gradescope:
        _write_atomically(paths.gradescope, _json(gradescope_results(report, result, assignment)))
    if paths.classroom:
        _write_atomically(paths.classroom, _json(classroom_results(report, result)))
    if paths.junit:
        _write_atomically(paths.junit, junit_xml(report, result))
    return result
