"""Points: from a run's check results and the assignment's `[points]` to a score.

Rules (pure data in, pure data out; no I/O):
- The checks that count are the catalogue's checks for the run's protocol,
  suites and `checks`/`exclude` patterns — not only those that produced a
  result — so the maximum is the same for every submission and a check that
  never ran (server did not start, run stopped) scores 0.
- A check's points: `points."suite::name"`, else `points.default`, else 1.
  A suite given a total (`points.echo = 40`) shares it among its checks in
  proportion to those points, in quarter points that add up to the total
  exactly (harness.results.apportion: largest remainder).
- Informational checks (figures, demonstrations) count only if `[points]`
  names them.
- passed → full points; warning (a failed recommended check, not strict) →
  full points; failed, error, skipped, not run → 0. Never full marks by accident.
- A parametrized check (`id[param]`) shares its points among its instances
  (the same way, so all instances passed is exactly the check's points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from harness.assignment import DEFAULT_POINTS, Assignment
from harness.checks import CATALOGUE, PROTOCOL_FILE, SUITES, Check
from harness.errors import ConfigError
from harness.protocolfile.derive import register
from harness.protocolfile.loader import is_protocol_file, load_protocol_file
from harness.results.apportion import share_out
from harness.results.report import CheckResult, Report
from harness.suitenames import lookup, selected_suites

FULL_MARKS = ("passed", "warning")
INFORMATIONAL = "informational"  # harness.checks' tier name (figures, demonstrations)


@dataclass
class CheckScore:
    id: str  # catalogue id, no [param]
    suite: str
    points: float
    max_points: float
    outcome: str  # the worst outcome among its instances, or "not run"
    results: list[CheckResult] = field(default_factory=list)


@dataclass
class Grade:
    checks: list[CheckScore]
    strict: bool = False

    @property
    def points(self) -> float:
        return round(math.fsum(c.points for c in self.checks), 4)

    @property
    def max_points(self) -> float:
        return round(math.fsum(c.max_points for c in self.checks), 4)

    def suites(self) -> dict[str, tuple[float, float]]:
        """Suite name -> (points, max points), in SUITES order."""
        totals: dict[str, tuple[float, float]] = {}
        for suite in [*SUITES, *sorted({c.suite for c in self.checks} - set(SUITES))]:
            members = [c for c in self.checks if c.suite == suite]
            if members:
                totals[suite] = (round(sum(c.points for c in members), 4), round(sum(c.max_points for c in members), 4))
        return totals

    def to_json(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "max_points": self.max_points,
            "strict": self.strict,
            "suites": {name: {"points": p, "max_points": m} for name, (p, m) in self.suites().items()},
            "checks": {c.id: {"points": round(c.points, 4), "max_points": round(c.max_points, 4), "outcome": c.outcome}
                       for c in self.checks},
        }


def counted_checks(protocol: str, suites: Iterable[str] | None, assignment: Assignment,
                   expected: list[str] | None = None) -> list[Check]:
    """The checks this run is graded on (the catalogue must be loaded).

    `protocol` is a built-in protocol's name or a protocol file's path (its
    derived checks are then put into the catalogue).

    `expected` — the result ids pytest selected — is the truth when known (it
    applies every selection rule, e.g. checks that only apply to some
    settings); otherwise the catalogue is filtered by the same rules as far
    as they are known without pytest (protocol, suites, patterns, opt-in)."""
    graded = lambda check: check.tier != INFORMATIONAL or check.id in assignment.points  # noqa: E731
    if expected is not None:
        ids = dict.fromkeys(e.partition("[")[0] for e in expected)
        return [CATALOGUE[i] for i in ids if i in CATALOGUE and graded(CATALOGUE[i])]
    chosen = selected_suites(suites) if suites else None  # `echo` brings `conversation` along
    kind = _catalogue_protocol(protocol)
    return [
        check for check in list(CATALOGUE.values())
        if kind in check.protocols
        and (chosen is None or check.suite in chosen)
        and assignment.selects(check.id)
        and assignment.opts_in(check.suite, chosen)
        and graded(check)
    ]


def _catalogue_protocol(protocol: str) -> str:
    """What checks declare they apply to: the protocol's name, or "protocol-file" for a
    protocol file that loads (its derived checks registered first)."""
    if not is_protocol_file(protocol):
        return protocol
    try:
        register(load_protocol_file(protocol))
    except ConfigError:
        return protocol
    return PROTOCOL_FILE


def check_weights(checks: list[Check], assignment: Assignment) -> dict[str, float]:
    """Max points of each check id, after sharing out suite totals."""
    default = assignment.points.get("default", DEFAULT_POINTS)
    found = {c.id: lookup(assignment.points, c.id) for c in checks}  # also under an old name (`echo::X`)
    weights = {check_id: default if points is None else points for check_id, points in found.items()}
    for suite in {c.suite for c in checks}:
        total = lookup(assignment.points, suite)
        if total is None:
            continue
        members = [c.id for c in checks if c.suite == suite]
        for member, share in zip(members, share_out(total, [weights[m] for m in members])):
            weights[member] = share
    return weights


_SEVERITY = {"passed": 0, "warning": 1, "skipped": 2, "failed": 3, "error": 4}


def grade(report: Report, assignment: Assignment, suites: Iterable[str] | None = None,
          only_results: bool = False, expected: list[str] | None = None, protocol: str | None = None) -> Grade:
    """Score a report. `only_results` (e.g. `-k` narrowed the run) grades only checks that ran;
    `expected` lists the result ids selected to run, if known; `protocol` is the run's
    `--protocol` when the report shows only a protocol file's name."""
    by_id: dict[str, list[CheckResult]] = {}
    for result in report.checks:
        by_id.setdefault(result.id.partition("[")[0], []).append(result)
    instances: dict[str, int] = {}
    for result_id in expected or []:
        base = result_id.partition("[")[0]
        instances[base] = instances.get(base, 0) + 1
    checks = [] if only_results and expected is None else counted_checks(protocol or report.protocol, suites, assignment, expected)
    known = {c.id for c in checks}
    for check_id, results in by_id.items():
        if check_id in known or not assignment.selects(check_id):
            continue
        if all(r.outcome == "info" for r in results) and check_id not in assignment.points:
            continue  # an informational finding, not graded unless the assignment gives it points
        entry = CATALOGUE.get(check_id) or Check(check_id, results[0].suite, "", "")
        checks.append(entry)
        known.add(check_id)
    weights = check_weights(checks, assignment)
    scores = []
    for check in checks:
        results = by_id.get(check.id, [])
        maximum = weights[check.id]
        if results:
            shares = share_out(maximum, [1.0] * max(len(results), instances.get(check.id, 0)))
            points = math.fsum(share for share, r in zip(shares, results) if r.outcome in FULL_MARKS)
            outcome = max((r.outcome for r in results), key=lambda o: _SEVERITY.get(o, 5))
        else:
            points, outcome = 0.0, "not run"
        scores.append(CheckScore(check.id, check.suite, points, maximum, outcome, results))
    return Grade(scores, strict=assignment.strict)
