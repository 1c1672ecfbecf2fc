"""The result format GitHub Classroom's autograding reporter reads.

`classroom-resources/autograding-grading-reporter` takes, per runner, an
environment variable `<RUNNER>_RESULTS` holding base64 of this JSON:
`{"version": 1, "status": "pass|fail|error", "max_score": N, "tests": [{"name",
"status", "score", "message", "test_code", "line_no", "execution_time"}]}`;
the total is the sum of the tests' `score`. The workflow base64-encodes the
file we write (examples/github-actions/).
"""

from __future__ import annotations

import shlex
from typing import Any

from harness.results.feedback import explain
from harness.results.gradescope import check_output
from harness.results.grading import FULL_MARKS, Grade
from harness.results.report import Report


def classroom_results(report: Report, grade: Grade) -> dict[str, Any]:
    command = shlex.join(report.server.command)
    if report.harness_error and not report.checks:
        # Nothing was graded, and the checks are not known (blind 20: a bad harness.toml listed the default
        # protocol's 25 checks, max score 25, and said nowhere why): one entry that says why, no points.
        return {"version": 1, "status": "error", "max_score": 0, "tests": [{
            "name": "harness::error", "status": "error", "score": 0.0, "message": report.why_not_run(),
            "test_code": f"harness run ...  (server: {command})", "line_no": 0, "execution_time": "0.00s"}]}
    tests = []
    for score in grade.checks:
        ok = score.outcome in FULL_MARKS
        status = "pass" if ok else ("error" if score.outcome in ("error", "not run") else "fail")
        duration = sum(r.duration_s for r in score.results)
        message = check_output(score) if not ok or score.outcome == "warning" else explain(None, None, "passed")
        if score.outcome == "not run" and report.server.startup_error:  # (blind 20: said "did not run", not why)
            message += f"\nWhy: {report.why_not_run()}"
        tests.append({
            "name": score.id,
            "status": status,
            "score": round(score.points, 4),
            "message": message,
            "test_code": f"harness run ... -k {score.id.partition('::')[2]}  (server: {command})",
            "line_no": 0,
            "execution_time": f"{duration:.2f}s",
        })
    if report.server.startup_error and not any(s.outcome in FULL_MARKS for s in grade.checks):
        status = "error"
    elif all(s.outcome in FULL_MARKS for s in grade.checks):
        status = "pass"
    else:
        status = "fail"
    return {"version": 1, "status": status, "max_score": grade.max_points, "tests": tests}
