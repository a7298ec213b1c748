"""Statistical methods for rates, shares, trends, shrinkage and funnel plots.

All functions are pure and vectorised: they accept scalars, lists, numpy arrays
or pandas Series (including nullable ``Int64``/``Float64`` with ``pd.NA``) and
return numpy arrays or pandas objects. Invalid input never raises and never
yields ``inf``: it gives ``NaN`` (numbers) or ``'unknown'`` (labels).

Methods and the reference each follows
--------------------------------------
* Rates: exact (Garwood 1936) Poisson limits on the count via
  ``statsmodels.stats.rates.confint_poisson(method="exact-c")``, scaled by
  ``per / population`` -- as in PHE Fingertips / PHEindicatormethods.
* Shares: Wilson (1927) score interval via
  ``statsmodels.stats.proportion.proportion_confint(method="wilson")``.
* Benchmark comparison: interval wholly above / below the benchmark value
  (Fingertips "significance compared with benchmark"), never by rank.
* Trend of a rate: Poisson GLM (statsmodels) of count on year with offset
  log(population); quasi-Poisson (Pearson chi-square scale, McCullagh & Nelder
  1989) when chi2/df > 1, then with t quantiles on the residual df as in
  R's ``summary.glm``. Trend of a share: weighted least squares with
  weights 1/se^2 from the published interval, same scale rule.
* Empirical Bayes: Poisson-gamma model of Clayton & Kaldor (1987) with the
  method-of-moments "global EB" prior of Marshall (1991); posterior gamma.
* Funnel plots: Spiegelhalter (2005), Stat Med 24:1185-1202 -- exact Poisson
  limits with the interpolation given in its appendix; overdispersion by the
  multiplicative model with phi from 10 %-winsorised z-scores (ibid.).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

__all__ = [
    "TrendResult",
    "as_float_array",
    "rate_per_100k",
    "poisson_rate_ci",
    "pooled_rate",
    "wilson_share_ci",
    "compare_to_benchmark",
    "poisson_trend",
    "share_trend",
    "eb_shrink",
    "funnel_limits",
    "estimate_overdispersion",
    "funnel_outliers",
]

PER_100K = 100_000

# Reasons (Swedish, shown to users) why a trend could not be estimated.
REASON_FEW_YEARS = "för få år med data"
REASON_ALL_ZERO = "alla värden noll"
REASON_NO_POPULATION = "befolkning saknas"
REASON_ONE_YEAR_EVENTS = "händelser endast under ett år"
REASON_NO_CI = "konfidensintervall saknas"
REASON_DUPLICATE_YEARS = "samma år förekommer flera gånger"
REASON_NOT_CONVERGED = "modellen kunde inte skattas"


# --------------------------------------------------------------------------- #
# Input conversion
# --------------------------------------------------------------------------- #
def as_float_array(x) -> np.ndarray:
    """Convert scalars, sequences, arrays or pandas objects to a float ndarray.

    ``None``, ``pd.NA``, ``NaT``, non-numeric strings and +-inf become ``NaN``.
    Scalars give a 0-d array.
    """
    if isinstance(x, (pd.Series, pd.Index)):
        s = pd.to_numeric(pd.Series(x), errors="coerce")
        out = s.to_numpy(dtype=float, na_value=np.nan)
    else:
        obj = np.asarray(x, dtype=object)
        flat = pd.to_numeric(pd.Series(obj.ravel(), dtype=object), errors="coerce")
        out = flat.to_numpy(dtype=float, na_value=np.nan).reshape(obj.shape)
    out = np.array(out, dtype=float)
    out[~np.isfinite(out)] = np.nan
    return out


def _valid_count_pop(count, population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c, p = np.broadcast_arrays(as_float_array(count), as_float_array(population))
    ok = np.isfinite(c) & np.isfinite(p) & (c >= 0) & (p > 0)
    return c.astype(float), p.astype(float), ok


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


def poisson_rate_ci(
    count, population, per: float = PER_100K, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
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
        lo, hi = confint_poisson(c[ok], np.ones(int(ok.sum())), method="exact-c", alpha=alpha)
        low[ok] = np.asarray(lo, dtype=float) * per / p[ok]
        high[ok] = np.asarray(hi, dtype=float) * per / p[ok]
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
    lo, hi, b = np.broadcast_arrays(
        as_float_array(ci_low), as_float_array(ci_high), as_float_array(benchmark)
    )
    known = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(b)
    with np.errstate(invalid="ignore"):
        out = np.where(lo > b, "higher", np.where(hi < b, "lower", "similar"))
    return np.where(known, out, "unknown").astype(object)


# --------------------------------------------------------------------------- #
# Trends
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class TrendResult:
    """Result of a trend test.

    ``pct_per_year`` is the estimated change per year: percent per year for
    :func:`poisson_trend`, percentage points per year for :func:`share_trend`
    (see ``unit``). Numeric fields are NaN when ``classification == 'unknown'``;
    ``reason`` then says why (Swedish), otherwise it is empty.
    """

    pct_per_year: float
    ci_low: float
    ci_high: float
    classification: str
    reason: str
    n_years: int
    scale: float
    unit: str = "percent_per_year"


def _unknown(reason: str, n_years: int, unit: str) -> TrendResult:
    nan = float("nan")
    return TrendResult(nan, nan, nan, "unknown", reason, int(n_years), nan, unit)


def _classify(low: float, high: float) -> str:
    if low > 0:
        return "increasing"
    if high < 0:
        return "decreasing"
    return "no_clear_trend"


def _fit_slope(y, year, family, alpha, use_t, offset=None, var_weights=None):
    """Fit ``y ~ year`` as a GLM; use the Pearson chi2 scale when it exceeds 1.

    Returns ``(slope, ci_low, ci_high, scale)`` or None if the fit fails.
    """
    x = sm.add_constant(year - year.mean())
    model = sm.GLM(y, x, family=family, offset=offset, var_weights=var_weights)
    try:
        with warnings.catch_warnings():
            # A noiseless series is "perfect prediction", which is harmless here.
            warnings.simplefilter("ignore", PerfectSeparationWarning)
            res = model.fit(scale=1.0)
            df = res.df_resid
            dispersion = res.pearson_chi2 / df if df > 0 else np.nan
            if np.isfinite(dispersion) and dispersion > 1:
                res = model.fit(scale="X2", use_t=use_t)
    except Exception:  # noqa: BLE001 - the contract is 'unknown', never an exception
        return None
    if not res.converged:
        return None
    lo, hi = np.asarray(res.conf_int(alpha=alpha))[1]
    out = (float(res.params[1]), float(lo), float(hi), float(res.scale))
    return out if all(np.isfinite(out)) else None


def _last_years(years, columns, last_n):
    """Rows where all columns are finite, the last ``last_n`` by year."""
    yr = as_float_array(years).ravel()
    cols = [np.broadcast_to(as_float_array(c), yr.shape).astype(float) for c in columns]
    ok = np.isfinite(yr) & np.logical_and.reduce([np.isfinite(c) for c in cols])
    idx = np.flatnonzero(ok)
    idx = idx[np.argsort(yr[idx], kind="stable")][-int(last_n):] if last_n > 0 else idx[:0]
    return yr[idx], [c[idx] for c in cols]


def poisson_trend(
    years, counts, population, last_n: int = 5, alpha: float = 0.05, use_t: bool = True
) -> TrendResult:
    """Trend in a rate: Poisson GLM of count on year, offset log(population).

    Uses the last ``last_n`` years having both a valid count and population.
    If the Pearson chi2/df exceeds 1 the model is refitted as quasi-Poisson
    (``scale='X2'``) so that the interval widens; its interval then uses t
    quantiles on the residual df (``use_t``). The change per year is
    ``100 * (exp(beta) - 1)`` with limits from the exponentiated coefficient
    interval. ``'increasing'``/``'decreasing'`` only when the interval excludes 0.
    Fewer than 3 usable years, all-zero counts, events in only one year or
    missing populations give ``'unknown'`` with a reason.
    """
    unit = "percent_per_year"
    yr_all = as_float_array(years).ravel()
    c_all = np.broadcast_to(as_float_array(counts), yr_all.shape).astype(float)
    c_all[c_all < 0] = np.nan
    p_all = np.broadcast_to(as_float_array(population), yr_all.shape).astype(float)
    p_all[p_all <= 0] = np.nan
    yr, (c, p) = _last_years(yr_all, [c_all, p_all], last_n)
    n = len(yr)
    if n < 3:
        n_count_years = int((np.isfinite(yr_all) & np.isfinite(c_all)).sum())
        reason = REASON_NO_POPULATION if n_count_years >= 3 else REASON_FEW_YEARS
        return _unknown(reason, n, unit)
    if len(np.unique(yr)) < n:
        return _unknown(REASON_DUPLICATE_YEARS, n, unit)
    if np.all(c == 0):
        return _unknown(REASON_ALL_ZERO, n, unit)
    # The Poisson MLE exists only if events occur in at least two distinct years.
    if len(np.unique(yr[c > 0])) < 2:
        return _unknown(REASON_ONE_YEAR_EVENTS, n, unit)
    fit = _fit_slope(c, yr, sm.families.Poisson(), alpha, use_t, offset=np.log(p))
    if fit is None:
        return _unknown(REASON_NOT_CONVERGED, n, unit)
    beta, lo, hi, scale = fit
    pct, pct_lo, pct_hi = (100 * np.expm1(v) for v in (beta, lo, hi))
    return TrendResult(
        float(pct), float(pct_lo), float(pct_hi), _classify(pct_lo, pct_hi), "", n, scale, unit
    )


def share_trend(
    years,
    share_pct,
    ci_low_pct,
    ci_high_pct,
    last_n: int = 5,
    alpha: float = 0.05,
    ci_level: float = 0.95,
    use_t: bool = True,
) -> TrendResult:
    """Linear trend in a share (percentage points per year) by weighted least squares.

    Each year's standard error is taken from its published interval,
    ``se = (hi - lo) / (2 * z)`` with ``z = norm.ppf(1 - (1 - ci_level) / 2)``
    (1.96 for 95 %), and weighted by ``1 / se**2`` (a Gaussian GLM with
    variance weights, i.e. WLS with known variances). If the weighted residual
    chi2/df exceeds 1 the estimated scale is used, as in :func:`poisson_trend`.
    """
    unit = "percentage_points_per_year"
    yr_all = as_float_array(years).ravel()
    s_all = np.broadcast_to(as_float_array(share_pct), yr_all.shape).astype(float)
    s_all[(s_all < 0) | (s_all > 100)] = np.nan
    lo_all = np.broadcast_to(as_float_array(ci_low_pct), yr_all.shape)
    hi_all = np.broadcast_to(as_float_array(ci_high_pct), yr_all.shape)
    z = stats.norm.ppf(1 - (1 - ci_level) / 2)
    with np.errstate(invalid="ignore"):
        se_all = (hi_all - lo_all) / (2 * z)
    se_all = np.where(se_all > 0, se_all, np.nan)
    yr, (s, se) = _last_years(yr_all, [s_all, se_all], last_n)
    n = len(yr)
    if n < 3:
        n_share_years = int((np.isfinite(yr_all) & np.isfinite(s_all)).sum())
        reason = REASON_NO_CI if n_share_years >= 3 else REASON_FEW_YEARS
        return _unknown(reason, n, unit)
    if len(np.unique(yr)) < n:
        return _unknown(REASON_DUPLICATE_YEARS, n, unit)
    if np.all(s == 0):
        return _unknown(REASON_ALL_ZERO, n, unit)
    fit = _fit_slope(s, yr, sm.families.Gaussian(), alpha, use_t, var_weights=1 / se**2)
    if fit is None:
        return _unknown(REASON_NOT_CONVERGED, n, unit)
    slope, lo, hi, scale = fit
    return TrendResult(slope, lo, hi, _classify(lo, hi), "", n, scale, unit)


# --------------------------------------------------------------------------- #
# Empirical Bayes
# --------------------------------------------------------------------------- #
def eb_shrink(counts, populations, per: float = PER_100K, alpha: float = 0.05) -> pd.DataFrame:
    """Global empirical-Bayes (Poisson-gamma) shrinkage of area rates.

    Model (Clayton & Kaldor 1987): ``y_i ~ Poisson(n_i * theta_i)``,
    ``theta_i ~ Gamma(shape=nu, rate=a)``. The prior mean ``m`` and variance
    ``s2`` are estimated by the method of moments over all valid areas passed
    in (Marshall 1991): ``m = sum(y) / sum(n)``,
    ``s2 = sum(n_i (r_i - m)^2) / sum(n) - m / mean(n)``. The posterior is
    ``Gamma(nu + y_i, a + n_i)``, whose mean equals ``w_i r_i + (1 - w_i) m``
    with ``w_i = s2 / (s2 + m / n_i)`` (``shrinkage_weight``; 1 = own rate,
    0 = full shrinkage). ``eb_low``/``eb_high`` are posterior gamma quantiles.

    If ``s2 <= 0`` (no between-area variation beyond Poisson noise) every area
    is shrunk fully to ``m`` (weight 0); the prior is then a point mass, so the
    interval reported is that of the common rate itself: the exact (gamma)
    Poisson interval of the pooled rate. Rows with missing/negative counts or
    missing/non-positive populations are left out of the estimation and get NaN.
    Output rates are per ``per`` inhabitants; the index follows ``counts`` if it
    is a Series.
    """
    y, n, ok = _valid_count_pop(counts, populations)
    y, n, ok = y.ravel(), n.ravel(), ok.ravel()
    index = counts.index if isinstance(counts, pd.Series) and len(counts) == len(y) else None
    out = pd.DataFrame(
        np.nan, index=index if index is not None else pd.RangeIndex(len(y)),
        columns=["eb_rate", "eb_low", "eb_high", "shrinkage_weight"],
    )
    if not ok.any():
        return out
    yv, nv = y[ok], n[ok]
    m = yv.sum() / nv.sum()
    r = yv / nv
    s2 = np.sum(nv * (r - m) ** 2) / nv.sum() - m / nv.mean()
    if s2 > 0 and m > 0:
        w = s2 / (s2 + m / nv)
        shape, rate = m**2 / s2 + yv, m / s2 + nv
        eb = shape / rate
        low = stats.gamma.ppf(alpha / 2, shape, scale=1 / rate)
        high = stats.gamma.isf(alpha / 2, shape, scale=1 / rate)
    else:
        w = np.zeros_like(yv)
        eb = np.full_like(yv, m)
        lo_p, hi_p = poisson_rate_ci(yv.sum(), nv.sum(), per=1.0, alpha=alpha)
        low, high = np.full_like(yv, lo_p), np.full_like(yv, hi_p)
    out.loc[ok, "eb_rate"] = eb * per
    out.loc[ok, "eb_low"] = low * per
    out.loc[ok, "eb_high"] = high * per
    out.loc[ok, "shrinkage_weight"] = w
    return out


# --------------------------------------------------------------------------- #
# Funnel plots
# --------------------------------------------------------------------------- #
def _exact_poisson_limit(expected: np.ndarray, p: float) -> np.ndarray:
    """Interpolated Poisson quantile of Spiegelhalter (2005, appendix).

    With ``r_p`` the smallest integer such that ``P(Y <= r_p) >= p`` and
    ``a = (P(Y <= r_p) - p) / (P(Y <= r_p) - P(Y <= r_p - 1))``, the limit on the
    count scale is ``r_p - a`` (clipped at 0).
    """
    r = stats.poisson.ppf(p, expected)
    f_r = stats.poisson.cdf(r, expected)
    f_prev = stats.poisson.cdf(r - 1, expected)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = (f_r - p) / (f_r - f_prev)
    return np.maximum(r - a, 0.0)


def funnel_limits(
    benchmark_rate_per_100k,
    populations,
    levels=(0.95, 0.998),
    overdispersion_phi=None,
    per: float = PER_100K,
) -> pd.DataFrame:
    """Funnel-plot control limits (rates per ``per``) for each population.

    Without overdispersion the limits are exact Poisson quantiles of the
    expected count ``benchmark * population / per``, interpolated as in
    Spiegelhalter (2005, appendix). With ``overdispersion_phi > 1`` the
    multiplicative overdispersion model is used:
    ``benchmark +- z * sqrt(phi * benchmark / population)`` (normal
    approximation, lower limit clipped at 0). ``phi`` <= 1 or NaN means no
    overdispersion (the limits are never narrowed below Poisson). Columns:
    ``population`` and ``lo_<L>``, ``hi_<L>`` per level (e.g. ``lo_95``,
    ``hi_998``). NaN where the population or benchmark is missing/invalid.
    """
    pop = as_float_array(populations).ravel()
    bench_arr = as_float_array(benchmark_rate_per_100k)
    bench = float(bench_arr.item()) if bench_arr.size == 1 else np.nan
    ok = np.isfinite(pop) & (pop > 0) & np.isfinite(bench) & (bench >= 0)
    index = populations.index if isinstance(populations, pd.Series) else None
    out = pd.DataFrame({"population": pop}, index=index)
    phi = as_float_array(overdispersion_phi if overdispersion_phi is not None else np.nan).item()
    theta = bench / per
    for level in levels:
        tag = _level_label(level)
        lo = np.full(pop.shape, np.nan)
        hi = np.full(pop.shape, np.nan)
        q = (1 - level) / 2
        if ok.any():
            n_ok = pop[ok]
            if np.isfinite(phi) and phi > 1:
                half = stats.norm.ppf(1 - q) * np.sqrt(phi * theta / n_ok)
                lo[ok] = np.maximum(theta - half, 0.0) * per
                hi[ok] = (theta + half) * per
            else:
                expected = theta * n_ok
                lo[ok] = _exact_poisson_limit(expected, q) / n_ok * per
                hi[ok] = _exact_poisson_limit(expected, 1 - q) / n_ok * per
        out[f"lo_{tag}"] = lo
        out[f"hi_{tag}"] = hi
    return out


def estimate_overdispersion(
    counts, populations, benchmark_rate, per: float = PER_100K, winsor: float = 0.10
) -> float:
    """Overdispersion factor phi of Spiegelhalter (2005), multiplicative model.

    Poisson z-scores ``z_i = (y_i - E_i) / sqrt(E_i)`` with
    ``E_i = benchmark_rate * n_i / per`` are winsorised at the ``winsor`` and
    ``1 - winsor`` percentiles (10 % each tail), and ``phi = mean(z_w ** 2)``.
    ``benchmark_rate`` is per ``per`` inhabitants. NaN if no valid area or the
    benchmark is missing/non-positive. Under no overdispersion phi is about 1.
    """
    y, n, ok = _valid_count_pop(counts, populations)
    bench_arr = as_float_array(benchmark_rate)
    bench = float(bench_arr.item()) if bench_arr.size == 1 else np.nan
    if not np.isfinite(bench) or bench <= 0 or not ok.any():
        return float("nan")
    expected = bench / per * n[ok]
    z = (y[ok] - expected) / np.sqrt(expected)
    lo, hi = np.percentile(z, [100 * winsor, 100 * (1 - winsor)])
    return float(np.mean(np.clip(z, lo, hi) ** 2))


def funnel_outliers(
    counts,
    populations,
    benchmark_rate,
    level: float = 0.998,
    phi=None,
    per: float = PER_100K,
) -> np.ndarray:
    """Position of each area relative to the funnel limits at ``level``.

    ``'above'``/``'below'`` when the area's rate lies strictly outside the
    limits of :func:`funnel_limits` (same ``phi`` rule), ``'within'`` otherwise,
    ``'unknown'`` for missing counts, populations or benchmark.
    """
    rate = rate_per_100k(counts, populations, per=per).ravel()
    pops = as_float_array(populations).ravel()
    lim = funnel_limits(benchmark_rate, pops, levels=(level,), overdispersion_phi=phi, per=per)
    tag = _level_label(level)
    lo = lim[f"lo_{tag}"].to_numpy()
    hi = lim[f"hi_{tag}"].to_numpy()
    known = np.isfinite(rate) & np.isfinite(lo) & np.isfinite(hi)
    with np.errstate(invalid="ignore"):
        label = np.where(rate > hi, "above", np.where(rate < lo, "below", "within"))
    return np.where(known, label, "unknown").astype(object)
