"""The report files one run writes, written in every case.

`harness run` calls `write_outputs` once, after pytest finished or when it
failed before pytest could run (bad input: the server file is missing, the
assignment file is wrong), so a Gradescope or Classroom submission always gets
a score — 0 with the reason — instead of an autograder crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable

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
    mode: int = 0o644  # `harness grade`: 0o600, a student's grade is theirs


def _write_atomically(path: str, text: str, mode: int) -> None:
    write_atomically(path, text, mode)  # a fresh private temporary, then a rename: nothing planted is followed


def written(option: str, path: str, write: Callable[[], object]) -> str:
    """Write one report file with `write`: "" if it was written, else why not, in one line for the person (a
    path checked before the run may still fail: its folder removed while the run went on)."""
    try:
        write()
    except OSError as error:
        return f"{option} {path!r} could not be written: {error.strerror or error}"
    return ""


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_outputs(report: Report, paths: OutputPaths, assignment: Assignment,
                  suites: Iterable[str] | None = None, only_results: bool = False,
                  expected: list[str] | None = None, protocol: str | None = None) -> tuple[Grade, list[str]]:
    """Score the report and write every requested file; returns the grade, and why each file that could
    not be written was not (the others are written all the same). `protocol`: the run's `--protocol`
    (a protocol file's path), when the report shows only the file's name."""
    load_catalogue()
    result = grade(report, assignment, suites, only_results, expected, protocol)
    unwritten: list[str] = []

    def write(option: str, path: str | None, text: Callable[[], str]) -> None:
        why = written(option, path, lambda: _write_atomically(path, text(), paths.mode)) if path else ""
        if why:
            unwritten.append(why)

    def json_report() -> str:
        data = report.to_json()
        data["score"] = result.to_json()
        return _json(data)

    write("--json", paths.json, json_report)
    write("--gradescope", paths.gradescope, lambda: _json(gradescope_results(report, result, assignment)))
    write("--classroom", paths.classroom, lambda: _json(classroom_results(report, result)))
    write("--junit-xml", paths.junit, lambda: junit_xml(report, result))
    return result, unwritten
