"""Sharing a total among weighted parts so that the parts add up to the total exactly.

Rules of this module (pure arithmetic, no I/O):
- A total is cut into grains of `GRAIN` (a quarter point) and the grains are
  handed out by the largest-remainder (Hamilton) method: each part gets the
  whole grains of its exact share, and the grains left over go to the parts
  with the largest fractional remainders, ties to the earlier part. The same
  weights always give the same shares, so every submission has the same
  maximum per check.
- Why quarters, not cents: every report format is summed by someone else in
  binary floating point (GitHub Classroom's reporter adds the tests' scores
  in JavaScript). A multiple of 0.25 is exact in binary, so any sum of them,
  in any order, is exact; cents are not (5.45 + 5.46 + ... may come out as
  59.99999999999999). A quarter also prints with at most two decimals.
- A total that is not a whole number of quarters (`echo = 10.1`) is shared
  in cents instead: the shares still add up to the total in decimal, but a
  floating-point sum of them may be off in the last bit.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

#: The smallest piece of a shared total: a quarter point.
GRAIN = Fraction(1, 4)
#: The grain for a total that is not a whole number of quarters.
FINE_GRAIN = Fraction(1, 100)


def largest_remainder(units: int, weights: Sequence[float]) -> list[int]:
    """`units` whole units shared in proportion to `weights`; the result sums to `units`.

    All-zero weights share equally."""
    if not weights:
        return []
    exact_weights = [Fraction(w) for w in weights]
    if sum(exact_weights) == 0:
        exact_weights = [Fraction(1)] * len(weights)
    weight_sum = sum(exact_weights)
    quotas = [units * w / weight_sum for w in exact_weights]
    shares = [int(q) for q in quotas]  # floor: quotas are never negative
    left = units - sum(shares)
    by_remainder = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for index in by_remainder[:left]:
        shares[index] += 1
    return shares


def share_out(total: float, weights: Sequence[float]) -> list[float]:
    """`total` points shared in proportion to `weights`, in quarters (see the module's rules)."""
    exact_total = Fraction(total).limit_denominator(10_000)
    grain = GRAIN if (exact_total / GRAIN).denominator == 1 else FINE_GRAIN
    units = round(exact_total / grain)
    return [float(n * grain) for n in largest_remainder(units, weights)]
