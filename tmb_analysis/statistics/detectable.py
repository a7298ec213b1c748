"""The smallest change the statistics can detect, and the test a follow-up applies to a change.

A kommun that decides a priority should know beforehand whether its statistics could ever show
success. For reported crime the follow-up compares the rate of a follow-up year with the baseline
year. Crime counts vary more than Poisson from year to year within a kommun (the dispersion ``phi``
of the results table's model, :mod:`tmb_analysis.statistics.variation`), so the comparison is a Wald test of
the log rate ratio with variance ``phi * (1/c0 + 1/c1)`` (quasi-Poisson). The *minimum detectable
change* is the relative change whose expected counts make that test reject at level ``alpha``
(two-sided) with probability ``power``::

    |log(1 + d)| = (z_{1-alpha/2} + z_{power}) * sqrt(phi * (1/mu0 + 1/(mu0 * (1 + d) * g)))

with ``mu0`` the baseline's expected count and ``g`` the population growth to the follow-up year.
For an NTU share the change is a difference of two published estimates with standard errors
``se0`` and ``se1``: ``(z_{1-alpha/2} + z_{power}) * sqrt(se0^2 + se1^2)`` percentage points.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import optimize, stats

__all__ = ["change_test", "detectable_change_rate", "detectable_change_share", "share_change_test"]

ALPHA = 0.05
POWER = 0.8


@lru_cache(maxsize=32)
def _q(p: float) -> float:
    return float(stats.norm.ppf(p))


def _z(alpha: float, power: float) -> float:
    return _q(1 - alpha / 2) + _q(power)


def detectable_change_rate(
    expected_count: float,
    phi: float = 1.0,
    direction: str = "minska",
    alpha: float = ALPHA,
    power: float = POWER,
    growth: float = 1.0,
) -> float:
    """The smallest relative change (e.g. ``-0.25`` for a fall of 25 %) of a rate that the follow-up's
    test detects with probability ``power``; NaN when even the largest change could not be shown
    (a fall to zero for ``minska``; for ``öka`` there is always a large enough rise)."""
    mu0 = float(expected_count)
    phi = max(float(phi), 1.0) if math.isfinite(phi) else float("nan")
    if not (math.isfinite(mu0) and mu0 > 0 and math.isfinite(phi)):
        return float("nan")
    k = _z(alpha, power)

    def gap(d: float) -> float:
        return abs(math.log1p(d)) - k * math.sqrt(phi * (1 / mu0 + 1 / (mu0 * (1 + d) * growth)))

    if direction == "minska":
        # The gap is negative near 0 (too small a change) and again near -1 (the follow-up count, and
        # with it the information, vanishes): the detectable change is the first root below 0.
        grid = -np.expm1(-np.linspace(1e-6, 12, 2_000))  # from a fall of 0.0001 % to one of 99.9994 %
        gaps = np.array([gap(-g) for g in grid])
        first = np.flatnonzero(gaps >= 0)
        if not len(first):
            return float("nan")
        i = int(first[0])
        return float(optimize.brentq(gap, -grid[i], -grid[i - 1] if i else -1e-12, xtol=1e-12))
    hi = 1.0
    while gap(hi) < 0:
        hi *= 2
    return float(optimize.brentq(gap, 1e-12, hi, xtol=1e-10))


def detectable_change_share(
    se_baseline: float, se_followup: float | None = None, alpha: float = ALPHA, power: float = POWER
) -> float:
    """The smallest change (percentage points) of an NTU share that the follow-up's test detects with
    probability ``power``, from the published standard errors (the follow-up's taken as the baseline's)."""
    se1 = se_baseline if se_followup is None else se_followup
    if not (np.isfinite(se_baseline) and np.isfinite(se1) and se_baseline > 0 and se1 > 0):
        return float("nan")
    return _z(alpha, power) * math.hypot(se_baseline, se1)


def change_test(count0: float, pop0: float, count1: float, pop1: float, phi: float = 1.0, alpha: float = ALPHA) -> dict:
    """The follow-up's test of a rate: ratio of the follow-up rate to the baseline rate, with a
    quasi-Poisson interval ``exp(log ratio +- z sqrt(phi (1/c0 + 1/c1)))`` and whether it excludes 1.

    Returns ``ratio``, ``low``, ``high`` (NaN when a count is zero or missing: the log ratio has no
    finite estimate) and ``significant``.
    """
    nan = float("nan")
    out = {"ratio": nan, "low": nan, "high": nan, "significant": False}
    vals = [float(v) for v in (count0, pop0, count1, pop1)]
    if not all(math.isfinite(v) for v in vals) or min(vals) <= 0:
        return out
    c0, p0, c1, p1 = vals
    phi = max(float(phi), 1.0) if math.isfinite(phi) else 1.0
    lr = math.log((c1 / p1) / (c0 / p0))
    half = _q(1 - alpha / 2) * math.sqrt(phi * (1 / c0 + 1 / c1))
    out.update(ratio=math.exp(lr), low=math.exp(lr - half), high=math.exp(lr + half), significant=abs(lr) > half)
    return out


def share_change_test(share0: float, se0: float, share1: float, se1: float, alpha: float = ALPHA) -> dict:
    """The follow-up's test of an NTU share: the difference (percentage points) with the interval from the
    two published standard errors, and whether it excludes 0."""
    nan = float("nan")
    vals = [float(v) for v in (share0, se0, share1, se1)]
    if not all(math.isfinite(v) for v in vals) or se0 <= 0 or se1 <= 0:
        return {"difference": nan, "low": nan, "high": nan, "significant": False}
    d = share1 - share0
    half = _q(1 - alpha / 2) * math.hypot(se0, se1)
    return {"difference": d, "low": d - half, "high": d + half, "significant": abs(d) > half}
