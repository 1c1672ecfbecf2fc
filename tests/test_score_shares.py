"""Shared points add up exactly: the per-check scores of every report format sum
to the maximum for a perfect submission, as the tools that read them add them
(left to right, binary floating point — GitHub Classroom's reporter in
JavaScript does exactly what Python's `+` does)."""

from __future__ import annotations

from fractions import Fraction
from functools import reduce

import pytest

from harness.assignment import Assignment
from harness.checks import load_catalogue
from harness.results.apportion import largest_remainder, share_out
from harness.results.classroom import classroom_results
from harness.results.gradescope import gradescope_results
from harness.results.grading import check_weights, counted_checks, grade
from harness.results.report import CheckResult, Report, ServerInfo

load_catalogue()

#: The sample assignment's points: 70 for echo's 10 checks, two of them weighing 2.
#: Shared per check these are 70/12 = 5.8333... (x8) and 11.6666... (x2), which
#: rounded per test used to add up to 69.9997 (with 60 over 9 checks, 59.9997).
SAMPLE_POINTS = {"default": 1, "echo": 70, "echo::binary_bytes": 2, "echo::half_close": 2}
TOTAL = SAMPLE_POINTS["echo"]


def float_sum(values: list[float]) -> float:
    """How a JavaScript reporter adds the scores: left to right, from 0."""
    return reduce(lambda total, value: total + value, values, 0)


def echo_report(outcome: str, failed: tuple[str, ...] = ()) -> Report:
    checks = counted_checks("tcp-echo", ["echo"], Assignment(points=SAMPLE_POINTS))
    results = [CheckResult(c.id, c.suite, "failed" if c.id in failed else outcome, 0.01) for c in checks]
    return Report("tcp-echo", ServerInfo(command=["server.py", "{port}"]), results, duration_s=1.0)


def test_largest_remainder_hands_leftover_units_to_the_largest_remainders_first():
    assert largest_remainder(240, [1] * 7 + [2] * 2) == [22] * 7 + [43] * 2
    assert largest_remainder(10, [1, 1, 1]) == [4, 3, 3]  # ties: the earlier part
    assert largest_remainder(3, [0, 0, 0]) == [1, 1, 1]
    assert largest_remainder(5, []) == []


@pytest.mark.parametrize("total, weights", [
    (60, [1] * 7 + [2] * 2), (10, [1, 1, 1]), (100, [3, 7, 11, 13]), (1, [1] * 9), (7.5, [1, 2]), (10.1, [1, 1, 1]),
])
def test_shares_add_up_to_the_total_exactly_and_stay_within_a_grain_of_the_proportion(total, weights):
    shares = share_out(total, weights)
    assert sum(Fraction(str(s)) for s in shares) == Fraction(str(total))
    for share, weight in zip(shares, weights):
        assert abs(share - total * weight / sum(weights)) <= 0.25


def test_quarter_point_shares_add_up_in_floating_point_in_any_order():
    shares = share_out(60, [1] * 7 + [2] * 2)
    assert all((share * 4).is_integer() for share in shares)
    assert float_sum(shares) == float_sum(shares[::-1]) == 60


def test_sample_assignment_checks_are_worth_exactly_the_suite_total():
    assignment = Assignment(points=SAMPLE_POINTS)
    weights = check_weights(counted_checks("tcp-echo", ["echo"], assignment), assignment)
    assert float_sum(list(weights.values())) == TOTAL
    assert weights["echo::binary_bytes"] == weights["echo::half_close"] == 11.75
    assert {w for check, w in weights.items() if check not in ("echo::binary_bytes", "echo::half_close")} == {5.75, 6}


def test_perfect_submission_sums_to_the_maximum_in_every_format():
    assignment = Assignment(points=SAMPLE_POINTS)
    report = echo_report("passed")
    graded = grade(report, assignment, ["echo"])
    assert graded.points == graded.max_points == TOTAL
    json_score = graded.to_json()
    assert float_sum([c["points"] for c in json_score["checks"].values()]) == json_score["points"] == TOTAL
    gradescope = gradescope_results(report, graded, assignment)
    assert float_sum([t["score"] for t in gradescope["tests"]]) == gradescope["score"] == TOTAL
    assert float_sum([t["max_score"] for t in gradescope["tests"]]) == TOTAL
    assert all(t["status"] == "passed" for t in gradescope["tests"])
    classroom = classroom_results(report, graded)
    assert float_sum([t["score"] for t in classroom["tests"]]) == classroom["max_score"] == TOTAL


def test_partial_submission_total_is_the_sum_of_its_tests():
    assignment = Assignment(points=SAMPLE_POINTS)
    report = echo_report("passed", failed=("echo::binary_bytes", "echo::serves_next_client"))
    graded = grade(report, assignment, ["echo"])
    weights = check_weights(counted_checks("tcp-echo", ["echo"], assignment), assignment)
    assert graded.points == TOTAL - weights["echo::binary_bytes"] - weights["echo::serves_next_client"]
    gradescope = gradescope_results(report, graded, assignment)
    assert float_sum([t["score"] for t in gradescope["tests"]]) == gradescope["score"] == graded.points
    classroom = classroom_results(report, graded)
    assert float_sum([t["score"] for t in classroom["tests"]]) == graded.points


def test_parametrized_instances_share_a_check_exactly():
    report = Report("tcp-echo", ServerInfo(command=["s"]), [
        CheckResult(f"echo::edge_sizes[{n}]", "echo", "passed", 0.01) for n in range(3)])
    graded = grade(report, Assignment(points={"echo::edge_sizes": 1}), only_results=True)
    assert graded.points == graded.max_points == 1
