"""JUnit XML written from the harness's own results, with check ids as test names.

pytest's `--junitxml` names tests after Python functions (`test_binary_bytes_tcp`)
and knows nothing of warnings, startup errors or checks that never ran; CI
dashboards should show `echo::binary_bytes`. One `<testsuite>` per suite;
a warning is a passing test case with the warning in `<system-out>`; a server
that never started is one error test case `harness::server_start`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from harness.checks import CATALOGUE
from harness.results.feedback import explain
from harness.results.grading import Grade
from harness.results.report import CheckResult, Report

#: Characters XML 1.0 cannot hold (a server's output may contain any byte).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _case(parent: ET.Element, result: CheckResult | None, check_id: str, suite: str, outcome: str) -> None:
    case = ET.SubElement(parent, "testcase", classname=f"harness.{suite}", name=result.id if result else check_id,
                         time=f"{result.duration_s if result else 0:.3f}")
    text = _clean(explain(result, CATALOGUE.get(check_id), outcome))
    message = _clean((result.message if result and result.message else outcome).splitlines()[0][:500])
    if outcome == "failed":
        ET.SubElement(case, "failure", message=message, type="CheckFailed").text = text
    elif outcome == "error":
        ET.SubElement(case, "error", message=message, type="HarnessError").text = text
    elif outcome in ("skipped", "not run"):
        ET.SubElement(case, "skipped", message=message).text = text
    elif outcome == "warning":
        ET.SubElement(case, "system-out").text = text


def junit_xml(report: Report, grade: Grade) -> str:
    root = ET.Element("testsuites", name=f"harness {report.protocol}")
    cases: dict[str, list[tuple[CheckResult | None, str, str]]] = {}
    for score in grade.checks:
        for result in score.results or [None]:
            outcome = result.outcome if result else score.outcome
            cases.setdefault(score.suite, []).append((result, score.id, outcome))
    if report.server.startup_error and not report.checks:
        startup = CheckResult("harness::server_start", "harness", "error", 0.0,
                              message=report.why_not_run())
        cases.setdefault("harness", []).insert(0, (startup, "harness::server_start", "error"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite, entries in cases.items():
        counts = {
            "tests": len(entries),
            "failures": sum(o == "failed" for _, _, o in entries),
            "errors": sum(o == "error" for _, _, o in entries),
            "skipped": sum(o in ("skipped", "not run") for _, _, o in entries),
        }
        element = ET.SubElement(root, "testsuite", name=suite, time=f"{sum(r.duration_s for r, _, _ in entries if r):.3f}",
                                **{k: str(v) for k, v in counts.items()})
        for result, check_id, outcome in entries:
            _case(element, result, check_id, suite, outcome)
        for key in totals:
            totals[key] += counts[key]
    root.attrib.update({k: str(v) for k, v in totals.items()}, time=f"{report.duration_s:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
