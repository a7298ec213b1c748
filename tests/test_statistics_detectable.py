"""The smallest detectable change and the follow-up's test, checked by simulation and by hand."""

import math

import numpy as np
import pytest
from scipy import stats

from tmb_analysis.statistics.detectable import (
    change_test,
    detectable_change_rate,
    detectable_change_share,
    share_change_test,
)


def _nb(rng, mean, phi, size):
    """Counts with mean ``mean`` and variance ``phi * mean`` (negative binomial; Poisson for phi = 1)."""
    if phi <= 1:
        return rng.poisson(mean, size)
    return rng.negative_binomial(mean / (phi - 1), 1 / phi, size)


@pytest.mark.parametrize(
    "mu0, phi, direction",
    [(460, 8.0, "minska"), (5200, 12.0, "minska"), (60, 2.5, "minska"), (460, 8.0, "öka"), (150, 1.0, "minska")],
)
def test_detectable_change_has_the_stated_power_in_simulation(mu0, phi, direction):
    """Draw baseline and follow-up counts at the detectable change, apply the follow-up's test: it
    rejects in about 80 % of the draws (Monte Carlo error about 0.6 points with 20 000 draws). With few
    cases (60) the normal approximation makes the figure conservative: the power is somewhat higher."""
    d = detectable_change_rate(mu0, phi, direction)
    assert (d < 0) if direction == "minska" else (d > 0)
    rng = np.random.default_rng(20261201)
    n = 20_000
    c0, c1 = _nb(rng, mu0, phi, n), _nb(rng, mu0 * (1 + d), phi, n)
    hits = sum(change_test(a, 1e5, b, 1e5, phi)["significant"] for a, b in zip(c0, c1))
    if mu0 >= 150:
        assert hits / n == pytest.approx(0.80, abs=0.025)
    else:
        assert 0.78 <= hits / n <= 0.90


def test_detectable_change_by_hand():
    """phi = 1, mu0 = 400, a fall: |log(1+d)| = 2.8016 sqrt(1/400 + 1/(400 (1+d))), solved by fixed-point
    iteration from d = -0.2: d = -0.1889 (check: 1/400 + 1/324.4 = 0.005582, sqrt 0.07471, x 2.8016 =
    0.2093, exp(-0.2093) = 0.8111)."""
    k = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert k == pytest.approx(2.8016, abs=1e-4)
    d = -0.2
    for _ in range(50):
        d = -1 + math.exp(-k * math.sqrt(1 / 400 + 1 / (400 * (1 + d))))
    assert detectable_change_rate(400, 1.0) == pytest.approx(d, abs=1e-8)
    assert d == pytest.approx(-0.1889, abs=1e-4)
    # overdispersion widens it: phi = 4 is the same as a quarter of the count
    assert detectable_change_rate(400, 4.0) == pytest.approx(detectable_change_rate(100, 1.0), abs=1e-9)


def test_too_few_cases_can_never_show_a_fall():
    assert math.isnan(detectable_change_rate(3, 2.0, "minska"))  # even a fall to zero is within the noise
    assert math.isnan(detectable_change_rate(0, 1.0))
    assert math.isnan(detectable_change_rate(float("nan"), 1.0))
    assert detectable_change_rate(3, 2.0, "öka") > 1  # only a rise of more than 100 % would show


def test_share_change_by_hand_and_in_simulation():
    # se 2.0 both years: 2.8016 * sqrt(8) = 7.924 percentage points
    assert detectable_change_share(2.0) == pytest.approx(2.8016 * math.sqrt(8), abs=1e-3)
    assert math.isnan(detectable_change_share(float("nan")))
    rng = np.random.default_rng(7)
    d = detectable_change_share(1.5, 2.0)
    s0, s1 = rng.normal(20, 1.5, 20_000), rng.normal(20 + d, 2.0, 20_000)
    hits = np.mean([share_change_test(a, 1.5, b, 2.0)["significant"] for a, b in zip(s0, s1)])
    assert hits == pytest.approx(0.80, abs=0.02)


def test_change_test_by_hand():
    # 200 -> 150 cases, same population, phi 4: log ratio -0.28768, se sqrt(4 (1/200 + 1/150)) = 0.21602
    t = change_test(200, 10_000, 150, 10_000, phi=4.0)
    assert t["ratio"] == pytest.approx(0.75)
    assert t["low"] == pytest.approx(math.exp(-0.287682 - 1.959964 * 0.216025), rel=1e-5)
    assert t["high"] == pytest.approx(math.exp(-0.287682 + 1.959964 * 0.216025), rel=1e-5)
    assert not t["significant"]
    assert change_test(200, 10_000, 150, 10_000, phi=1.0)["significant"]  # Poisson alone would say yes
    assert not change_test(0, 10_000, 5, 10_000)["significant"]
