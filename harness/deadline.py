"""Every wait in the harness is bounded by a `Deadline` on one monotonic clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Deadline:
    """A point in time, `seconds` from creation, on `time.monotonic()`."""

    seconds: float
    start: float = field(default_factory=time.monotonic)

    @property
    def at(self) -> float:
        return self.start + self.seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def elapsed(self) -> float:
        return time.monotonic() - self.start


def poll_until(predicate, deadline: Deadline, interval: float = 0.005, max_interval: float = 0.05):
    """Call `predicate` until it returns a truthy value or the deadline passes.

    Returns the last value. The interval grows gently so a fast event is seen
    within milliseconds while a slow one does not burn CPU.
    """
    while True:
        value = predicate()
        if value or deadline.expired():
            return value
        time.sleep(min(interval, deadline.remaining()))
        interval = min(interval * 1.2, max_interval)


def paced_count(count: int, at_least: int, budget: float) -> Iterator[int]:
    """0, 1, … count-1, but no new index once `budget` s have passed and `at_least`
    were given: a slow server gets as many repetitions as fit, never fewer than
    `at_least` (more would only repeat what those already showed)."""
    spent = Deadline(budget)
    for index in range(count):
        if index >= at_least and spent.expired():
            return
        yield index
