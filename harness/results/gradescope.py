"""Gradescope's `results.json` (the autograder specification's format).

Top level: `score`, `execution_time`, `output` (shown above the tests: the
startup error when the server did not start), `visibility`,
`stdout_visibility`, `tests[]`; each test: `name`, `number`, `score`,
`max_score`, `status` (`passed`/`failed`), `output` (the student-readable
explanation of harness.results.feedback), `visibility`. Pure: dicts in, a dict out.
"""

from __future__ import annotations

from typing import Any

from harness.assignment import Assignment
from harness.checks import CATALOGUE
from harness.evidence.sequence_diagram import clean
from harness.results.feedback import explain
from harness.results.grading import FULL_MARKS, CheckScore, Grade
from harness.results.html_report import embedded_diagrams
from harness.results.leaderboard import leaderboard
from harness.results.report import Report

STATUS = ("passed", "failed")


def check_output(score: CheckScore, why_not_run: str | None = None) -> str:
    """All instances of one check explained; the failing ones first.

    When the server never started, every check says so briefly: the startup
    error and the server's output are shown once, above the tests."""
    check = CATALOGUE.get(score.id)
    if why_not_run and score.outcome in ("error", "not run"):
        return f"Result: NOT RUN — {why_not_run} (details above the tests)"
    if not score.results:
        return explain(None, check, score.outcome)
    ordered = sorted(score.results, key=lambda r: r.outcome in FULL_MARKS)
    parts = [explain(r, check, r.outcome) if len(ordered) == 1 else f"[{r.id}]\n" + explain(r, check, r.outcome)
             for r in ordered if r.outcome != "passed" or len(ordered) == 1]
    return "\n\n".join(parts) if parts else explain(None, check, "passed")


def overall_output(report: Report, grade: Grade) -> str:
    """Text above the test list: the score, and why nothing ran if the server did not start."""
    lines = [f"Score: {grade.points:g} / {grade.max_points:g}"]
    for suite, (points, maximum) in grade.suites().items():
        lines.append(f"  {suite}: {points:g} / {maximum:g}")
    if report.server.startup_error:
        lines += ["", ("The autograder could not run: " + report.server.startup_error if report.harness_error
                       else "Your server could not be started: " + report.server.startup_error)]
        output = next((r.server_output for r in report.checks if r.server_output), None)
        if output:
            lines += ["Its output:", output]
    elif report.harness_error:
        lines += ["", "The autograder could not run some checks, through no fault of your server's (see them "
                      "below): ask for them to be graded again."]
    if report.interrupted:
        lines += ["", "Grading was stopped before every check ran; checks that did not run score 0."]
    return "\n".join(lines)


def gradescope_results(report: Report, grade: Grade, assignment: Assignment) -> dict[str, Any]:
    visibility = assignment.gradescope.get("visibility", "visible")
    test_visibility = assignment.gradescope.get("test_visibility", visibility)
    tests = []
    for number, score in enumerate(grade.checks, 1):
        passed = score.outcome in FULL_MARKS and score.points >= score.max_points - 1e-9
        output = check_output(score, report.why_not_run() if report.server.startup_error else None)
        pictures = embedded_diagrams(score.results, report)  # the wire's sequence diagram of a failure
        tests.append({
            "name": score.id,
            "number": str(number),
            "score": round(score.points, 4),
            "max_score": round(score.max_points, 4),
            "status": "passed" if passed else "failed",
            "output": f"<pre>{clean(output)}</pre>{pictures}" if pictures else output,
            "output_format": "html" if pictures else "text",
            "visibility": test_visibility,
            "tags": [score.suite],
        })
    results: dict[str, Any] = {
        "score": grade.points,
        "execution_time": round(report.duration_s, 3),
        "output": overall_output(report, grade),
        "output_format": "text",
        "visibility": visibility,
        "stdout_visibility": assignment.gradescope.get("stdout_visibility", "hidden"),
        "tests": tests,
        "extra_data": {"max_score": grade.max_points, "protocol": report.protocol,
                       "startup_error": report.server.startup_error},
    }
    board = leaderboard(report)  # the speed suite's figures, when the assignment runs it
    if board:
        results["leaderboard"] = board
    return results
