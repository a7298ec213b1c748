"""Intervals for rates and shares, and the comparison of an interval with a benchmark value.

* Rates: exact (Garwood 1936) Poisson limits on the count via
  ``statsmodels.stats.rates.confint_poisson(method="exact-c")``, scaled by ``per / population``,
  as in PHE Fingertips / PHEindicatormethods.
* Shares: Wilson (1927) score interval via ``statsmodels.stats.proportion.proportion_confint``.
* Benchmark comparison: interval wholly above / below the benchmark value (Fingertips
  "significance compared with benchmark"), never by rank.
* Weighted sums of Poisson counts (the harm index): the Dobson et al. (1991) interval, as
  PHEindicatormethods uses for directly standardised rates.

All functions are pure and vectorised: scalars, lists, arrays or pandas objects (nullable
``Int64``/``Float64`` with ``pd.NA`` too) in, numpy arrays out; invalid input gives ``NaN``.
"""

from __future__ import annotations

import numpy as np
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

from ._arrays import _valid_count_pop, as_float_array

#: The normal quantile of a two-sided 95 % interval.
Z95 = 1.959963984540054

PER_100K = 100_000


def _level_label(level: float) -> str:
    return f"{level * 100:g}".replace(".", "")


# --------------------------------------------------------------------------- #
# Rates and shares
# --------------------------------------------------------------------------- #
def rate_per_100k(count, population, per: float = PER_100K) -> np.ndarray:
    """Crude rate ``count / population * per``; NaN where input is invalid."""
    c, p, ok = _valid_count_pop(count, population)
    out = np.full(c.shape, np.nan)
    out[ok] = c[ok] / p[ok] * per
    return out


def poisson_rate_ci(count, population, per: float = PER_100K, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) two-sided Poisson limits of a rate.

    The limits are computed on the count (``gamma.ppf(alpha/2, x)`` and
    ``gamma.isf(alpha/2, x + 1)``, statsmodels method ``'exact-c'``) and scaled
    by ``per / population``. A zero count has lower limit 0. NaN where the count
    is missing/negative or the population is missing/<= 0.
    """
    c, p, ok = _valid_count_pop(count, population)
    low = np.full(c.shape, np.nan)
    high = np.full(c.shape, np.nan)
    if ok.any():
        # The limits depend on the count only: compute them once per distinct count.
        uniq, inverse = np.unique(c[ok], return_inverse=True)
        lo, hi = confint_poisson(uniq, np.ones(len(uniq)), method="exact-c", alpha=alpha)
        low[ok] = np.asarray(lo, dtype=float).reshape(-1)[inverse.reshape(-1)] * per / p[ok]
        high[ok] = np.asarray(hi, dtype=float).reshape(-1)[inverse.reshape(-1)] * per / p[ok]
    return low, high


def pooled_rate(
    counts, populations, per: float = PER_100K, alpha: float = 0.05, skipna: bool = False
) -> tuple[float, float, float]:
    """Pool several periods: ``sum(counts) / sum(populations) * per``.

    Returns ``(rate, ci_low, ci_high)`` with exact Poisson limits on the summed
    count. By default any missing or invalid period makes the result NaN (a
    pooled rate over fewer periods is not comparable); ``skipna=True`` pools the
    valid periods only.
    """
    c, p, ok = _valid_count_pop(counts, populations)
    c, p, ok = c.ravel(), p.ravel(), ok.ravel()
    if ok.size == 0 or not ok.any() or (not skipna and not ok.all()):
        return np.nan, np.nan, np.nan
    total_c, total_p = c[ok].sum(), p[ok].sum()
    low, high = poisson_rate_ci(total_c, total_p, per=per, alpha=alpha)
    return float(total_c / total_p * per), float(low), float(high)


def wilson_share_ci(share_pct, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (in percent) for a share given in percent of n.

    NaN where n is missing/<= 0 or the share lies outside 0..100.
    """
    s, n_ = np.broadcast_arrays(as_float_array(share_pct), as_float_array(n))
    ok = np.isfinite(s) & np.isfinite(n_) & (n_ > 0) & (s >= 0) & (s <= 100)
    low = np.full(s.shape, np.nan)
    high = np.full(s.shape, np.nan)
    if ok.any():
        lo, hi = proportion_confint(s[ok] / 100 * n_[ok], n_[ok], alpha=alpha, method="wilson")
        low[ok] = np.asarray(lo, dtype=float) * 100
        high[ok] = np.asarray(hi, dtype=float) * 100
    return low, high


def compare_to_benchmark(ci_low, ci_high, benchmark) -> np.ndarray:
    """Label each interval against a benchmark value.

    ``'higher'`` if ``ci_low > benchmark``, ``'lower'`` if ``ci_high < benchmark``,
    ``'similar'`` otherwise, ``'unknown'`` if any of the three is missing.
    """
    lo, hi, b = np.broadcast_arrays(as_float_array(ci_low), as_float_array(ci_high), as_float_array(benchmark))
    known = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(b)
    with np.errstate(invalid="ignore"):
        out = np.where(lo > b, "higher", np.where(hi < b, "lower", "similar"))
    return np.where(known, out, "unknown").astype(object)


# --------------------------------------------------------------------------- #
# Weighted sums of Poisson counts
# --------------------------------------------------------------------------- #
def dobson_ci(weighted_sum, variance, total_count, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Dobson et al. (1991) interval for a weighted sum of Poisson counts.

    For ``T = sum w_i y_i`` with ``V = sum w_i^2 y_i`` and ``Y = sum y_i``, the
    limits are ``T + sqrt(V / Y) * (Y_lo - Y)`` and ``T + sqrt(V / Y) * (Y_hi - Y)``,
    where ``Y_lo, Y_hi`` are the exact (Garwood) limits of ``Y``. With ``Y = 0``
    the interval is NaN (no information on the weights' mix). NaN for invalid input.
    """
    t, v, y = np.broadcast_arrays(as_float_array(weighted_sum), as_float_array(variance), as_float_array(total_count))
    ok = np.isfinite(t) & np.isfinite(v) & np.isfinite(y) & (y > 0) & (v >= 0)
    low = np.full(t.shape, np.nan)
    high = np.full(t.shape, np.nan)
    if ok.any():
        y_lo, y_hi = confint_poisson(y[ok], np.ones(int(ok.sum())), method="exact-c", alpha=alpha)
        f = np.sqrt(v[ok] / y[ok])
        low[ok] = t[ok] + f * (np.asarray(y_lo) - y[ok])
        high[ok] = t[ok] + f * (np.asarray(y_hi) - y[ok])
    return low, high
