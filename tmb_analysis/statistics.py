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
* The model of variation between areas (:mod:`tmb_analysis.variation` uses it): the within-area
  overdispersion phi as the Pearson dispersion of a two-way Poisson GLM (``twoway_dispersion``),
  the additive between-area variance tau2 of Spiegelhalter (2005, "Handling over-dispersion of
  performance indicators") by DerSimonian & Laird on winsorised z-scores (``dl_tau2``), the
  square-root scale of rates (``sqrt_rate``) and the funnel limits of that model (``rate_limits``,
  ``share_limits``; FunnelPlotR's CQC limits when phi = 1, tau2 = 0), Benjamini & Hochberg (1995)
  for many tests (``bh_adjust``, ``bh_reject``) and negative-binomial redraws (``nb_draw``).
* Batch versions (``poisson_trend_batch``, ``share_trend_batch``,
  ``eb_shrink_grouped``) compute the same numbers
  as the per-series functions for thousands of series at once, in numpy; the
  tests check them against the per-series functions (statsmodels GLM) and esda.
* Empirical Bayes for survey shares: normal-normal model with the
  between-area variance by the method of moments of DerSimonian & Laird
  (1986), posterior as in Morris (1983).
* Weighted sums of Poisson counts (the harm index): Dobson et al. (1991)
  interval, as PHEindicatormethods uses for directly standardised rates.
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
    "poisson_trend_batch",
    "share_trend_batch",
    "eb_shrink_grouped",
    "eb_shrink_normal",
    "dobson_ci",
    "sqrt_rate",
    "twoway_dispersion",
    "dl_tau2",
    "compare_z",
    "funnel_label",
    "rate_limits",
    "effective_size",
    "share_limits",
    "bh_adjust",
    "bh_reject",
    "nb_draw",
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
    if isinstance(x, np.ndarray) and x.dtype.kind in "fiub":
        out = np.array(x, dtype=float)
        out[~np.isfinite(out)] = np.nan
        return out
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


def _fit_slope(y, year, family, alpha, use_t, offset=None, var_weights=None, min_scale: float = 1.0):
    """Fit ``y ~ year`` as a GLM; the scale is the larger of ``min_scale`` (at least 1) and the
    Pearson chi2/df of the fit. When chi2/df is the larger, t quantiles on the residual df
    (``use_t``); when ``min_scale`` is (a dispersion estimated elsewhere, with many degrees of
    freedom), normal quantiles.

    Returns ``(slope, ci_low, ci_high, scale)`` or None if the fit fails.
    """
    x = sm.add_constant(year - year.mean())
    model = sm.GLM(y, x, family=family, offset=offset, var_weights=var_weights)
    floor = max(1.0, float(min_scale)) if np.isfinite(min_scale) else 1.0
    try:
        with warnings.catch_warnings():
            # A noiseless series is "perfect prediction", which is harmless here.
            warnings.simplefilter("ignore", PerfectSeparationWarning)
            # A tight tolerance: the covariance is computed from the weights of the
            # last IRLS step, so the default (1e-8 on the deviance) leaves errors of
            # ~1e-4 in the interval for small counts.
            res = model.fit(scale=1.0, tol=1e-12)
            df = res.df_resid
            dispersion = res.pearson_chi2 / df if df > 0 else np.nan
            if np.isfinite(dispersion) and dispersion > floor:
                res = model.fit(scale="X2", use_t=use_t, tol=1e-12)
            elif floor > 1:
                res = model.fit(scale=floor, tol=1e-12)
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
    years, counts, population, last_n: int = 5, alpha: float = 0.05, use_t: bool = True,
    min_scale: float = 1.0,
) -> TrendResult:
    """Trend in a rate: Poisson GLM of count on year, offset log(population).

    Uses the last ``last_n`` years having both a valid count and population.
    If the Pearson chi2/df exceeds 1 the model is refitted as quasi-Poisson
    (``scale='X2'``) so that the interval widens; its interval then uses t
    quantiles on the residual df (``use_t``). ``min_scale`` (the indicator's pooled
    overdispersion phi, estimated from many kommuner and years) is a floor for the scale:
    three residual df alone are too noisy to trust a small chi2/df. The change per year is
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
    fit = _fit_slope(c, yr, sm.families.Poisson(), alpha, use_t, offset=np.log(p), min_scale=min_scale)
    if fit is None:
        return _unknown(REASON_NOT_CONVERGED, n, unit)
    beta, lo, hi, scale = fit
    pct, pct_lo, pct_hi = (100 * np.expm1(v) for v in (beta, lo, hi))
    return TrendResult(
        float(pct), float(pct_lo), float(pct_hi), _classify(pct_lo, pct_hi), "", n, scale, unit
    )


def _share_and_se(years, share_pct, ci_low_pct, ci_high_pct, ci_level: float):
    """Years, shares (outside 0-100 -> NaN) and standard errors from the published intervals,
    ``se = (hi - lo) / (2 * z)`` (non-positive -> NaN), as float arrays of the same length."""
    yr = as_float_array(years).ravel()
    s = np.broadcast_to(as_float_array(share_pct), yr.shape).astype(float).copy()
    s[(s < 0) | (s > 100)] = np.nan
    lo = np.broadcast_to(as_float_array(ci_low_pct), yr.shape)
    hi = np.broadcast_to(as_float_array(ci_high_pct), yr.shape)
    z = stats.norm.ppf(1 - (1 - ci_level) / 2)
    with np.errstate(invalid="ignore"):
        se = (hi - lo) / (2 * z)
    return yr, s, np.where(se > 0, se, np.nan)


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
    yr_all, s_all, se_all = _share_and_se(years, share_pct, ci_low_pct, ci_high_pct, ci_level)
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
# Batch trends: one trend per row, ending at that row's year
# --------------------------------------------------------------------------- #
TREND_COLUMNS = ["pct_per_year", "ci_low", "ci_high", "classification", "reason", "n_years", "scale",
                 "first_year", "stat", "stat_df"]


def _trend_windows(series, years, usable, last_n):
    """Index windows for the trend ending at each row.

    Rows are grouped by ``series``; for row *i* the window holds the (up to)
    ``last_n`` usable rows of the same series whose year is <= the row's year.
    Returns ``(order, idx, mask, n, dup)`` in sorted order: ``order`` sorts the
    rows by series and year; ``idx``/``mask`` (rows x last_n) give the window
    slots as positions in the sorted rows; ``n`` is the number of usable years
    in the window; ``dup`` flags rows of a series in which a year repeats.
    """
    codes, _ = pd.factorize(pd.Series(series, dtype=object), use_na_sentinel=False)
    yr_key = np.where(np.isfinite(years), years, -np.inf)
    order = np.lexsort((yr_key, codes))
    c_s, y_s, u_s = codes[order], yr_key[order], usable[order]
    pos = np.arange(len(c_s))
    new_series = np.r_[True, c_s[1:] != c_s[:-1]]
    same_year = np.r_[False, (c_s[1:] == c_s[:-1]) & (y_s[1:] == y_s[:-1]) & np.isfinite(y_s[1:])]
    dup_series = np.zeros(int(codes.max()) + 1, dtype=bool)
    dup_series[c_s[same_year]] = True
    cum = np.cumsum(u_s)  # usable rows up to and including each sorted position
    start = np.maximum.accumulate(np.where(new_series, pos, 0))
    before = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0)  # usable rows before the series
    k = cum - before  # usable rows in the series with year <= this row's year
    usable_pos = np.flatnonzero(u_s)
    rank = (cum - last_n)[:, None] + np.arange(last_n)[None, :]  # ranks among all usable rows
    mask = rank >= before[:, None]
    if len(usable_pos) == 0:
        return order, np.zeros_like(rank), np.zeros_like(mask), np.zeros(len(c_s), dtype=np.int64), dup_series[c_s]
    idx = usable_pos[np.clip(rank, 0, len(usable_pos) - 1)]
    return order, idx, mask, np.minimum(k, last_n), dup_series[c_s]


class _TrendArrays:
    """Result arrays of a batch trend, in sorted row order, turned into a frame at the end."""

    def __init__(self, n_rows: int, unit: str):
        self.unit = unit
        self.pct = np.full(n_rows, np.nan)
        self.low = np.full(n_rows, np.nan)
        self.high = np.full(n_rows, np.nan)
        self.cls = np.full(n_rows, "unknown", dtype=object)
        self.reason = np.full(n_rows, "", dtype=object)
        self.n_years = np.zeros(n_rows, dtype=np.int64)
        self.scale = np.full(n_rows, np.nan)
        self.first_year = np.full(n_rows, np.nan)
        self.stat = np.full(n_rows, np.nan)
        self.stat_df = np.full(n_rows, np.nan)

    def set_fit(self, rows, pct, low, high, scale, stat=None, stat_df=None):
        self.pct[rows], self.low[rows], self.high[rows], self.scale[rows] = pct, low, high, scale
        self.cls[rows] = _classify_arrays(low, high)
        if stat is not None:
            self.stat[rows], self.stat_df[rows] = stat, stat_df

    def frame(self, order=None) -> pd.DataFrame:
        cols = {"pct_per_year": self.pct, "ci_low": self.low, "ci_high": self.high,
                "classification": self.cls, "reason": self.reason, "n_years": self.n_years,
                "scale": self.scale, "first_year": self.first_year, "stat": self.stat, "stat_df": self.stat_df}
        if order is not None:  # back from sorted to input order
            inv = np.empty_like(order)
            inv[order] = np.arange(len(order))
            cols = {k: v[inv] for k, v in cols.items()}
        df = pd.DataFrame({k: (pd.Series(v, dtype=object) if v.dtype == object else v) for k, v in cols.items()})
        df["unit"] = pd.Series(np.full(len(df), self.unit, dtype=object), dtype=object)
        return df


def _empty_trend_frame(n_rows: int, unit: str) -> pd.DataFrame:
    return _TrendArrays(n_rows, unit).frame()


def _classify_arrays(low, high):
    with np.errstate(invalid="ignore"):
        return np.where(low > 0, "increasing", np.where(high < 0, "decreasing", "no_clear_trend")).astype(object)


def _interval_quantile(dispersion, df, alpha, use_t, min_scale=None):
    """Quantile, scale and the df of the quantile by the rule of :func:`_fit_slope`: Pearson scale and
    t when chi2/df exceeds ``max(1, min_scale)``, else that floor with normal quantiles (df ``inf``)."""
    floor = np.ones(dispersion.shape) if min_scale is None else np.maximum(
        1.0, np.where(np.isfinite(min_scale), min_scale, 1.0))
    over = np.isfinite(dispersion) & (dispersion > floor)
    scale = np.where(over, dispersion, floor)
    q = np.full(dispersion.shape, stats.norm.ppf(1 - alpha / 2))
    q_df = np.full(dispersion.shape, np.inf)
    if use_t and over.any():
        q[over] = stats.t.ppf(1 - alpha / 2, df[over])
        q_df[over] = df[over]
    return scale, q, q_df


def _sorted_floor(min_scale, n_rows: int, order) -> np.ndarray:
    """A per-row scale floor (scalar or array) in the sorted order of the batch windows."""
    return np.broadcast_to(as_float_array(min_scale), (n_rows,)).astype(float)[order]


def _window_start(n, n_valued, dup, missing_reason: str) -> tuple[np.ndarray, np.ndarray]:
    """The reasons shared by both batch trends, per window: fewer than three usable years (``missing_reason``
    when three years have a value but lack what the fit also needs), or a year twice. Returns the
    reasons and the windows still to fit."""
    reason = np.full(len(n), "", dtype=object)
    few = n < 3
    reason[few] = np.where(n_valued[few] >= 3, missing_reason, REASON_FEW_YEARS)
    reason[~few & dup] = REASON_DUPLICATE_YEARS
    return reason, ~few & ~dup


def _window_arrays(n_rows: int, unit: str, n, mask, t_w) -> _TrendArrays:
    """The result arrays with each window's number of years and first year filled in."""
    res = _TrendArrays(n_rows, unit)
    res.n_years = n.astype(np.int64)
    with np.errstate(invalid="ignore"):
        res.first_year = np.where(n > 0, np.where(mask, t_w, np.inf).min(axis=1), np.nan)
    return res


def trend_slope_and_se(pct, low, high, df, percent: bool = True, alpha: float = 0.05):
    """The slope of a trend and its standard error, back from its change per year and interval: for a rate
    (``percent``) the log-linear slope ``log(1 + pct/100)``, for a share the slope in percentage points;
    the standard error from the interval's half-width on that scale over the t quantile of ``df`` degrees
    of freedom (``inf``: normal). NaN where the trend is unknown."""
    pct, low, high = (as_float_array(x) for x in (pct, low, high))
    d = np.broadcast_to(as_float_array(df), pct.shape).astype(float)
    d = np.where(np.isfinite(d) & (d > 0), d, np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        if percent:
            beta, b_lo, b_hi = np.log1p(pct / 100), np.log1p(low / 100), np.log1p(high / 100)
        else:
            beta, b_lo, b_hi = pct, low, high
        q = np.where(np.isinf(d), stats.norm.ppf(1 - alpha / 2), stats.t.ppf(1 - alpha / 2, np.where(np.isinf(d), 1, d)))
        se = (b_hi - b_lo) / (2 * q)
    ok = np.isfinite(beta) & np.isfinite(se) & (se > 0)
    return np.where(ok, beta, np.nan), np.where(ok, se, np.nan)


def poisson_trend_batch(
    series, years, counts, population, last_n: int = 5, alpha: float = 0.05, use_t: bool = True,
    min_scale=None,
) -> pd.DataFrame:
    """:func:`poisson_trend` for every row at once: the trend ending at each row's year.

    ``series`` labels the series a row belongs to (e.g. area and indicator).
    For row *i*, the result equals ``poisson_trend`` on the rows of the same
    series with ``year <= year_i`` (the last ``last_n`` of those with a valid
    count and population), with the same reasons for ``'unknown'``. The
    Poisson GLM is fitted by Newton-Raphson (= IRLS for the canonical log
    link) on all windows at once, with step-halving on the log-likelihood, to
    full convergence. ``min_scale`` (per row, e.g. the indicator's pooled phi) is the floor of
    the scale, as in :func:`poisson_trend`. Returns a DataFrame aligned with the input rows, columns
    ``pct_per_year, ci_low, ci_high, classification, reason, n_years, scale,
    first_year, stat, stat_df, unit``: ``stat`` is the slope divided by its standard error and
    ``stat_df`` the degrees of freedom of its t distribution (``inf``: normal).
    """
    unit = "percent_per_year"
    yr = as_float_array(years).ravel()
    n_rows = len(yr)
    if n_rows == 0:
        return _empty_trend_frame(0, unit)
    c = np.broadcast_to(as_float_array(counts), yr.shape).astype(float).copy()
    c[c < 0] = np.nan
    p = np.broadcast_to(as_float_array(population), yr.shape).astype(float).copy()
    p[p <= 0] = np.nan
    has_year = np.isfinite(yr)
    usable = has_year & np.isfinite(c) & np.isfinite(p)
    order, idx, mask, n, dup = _trend_windows(series, yr, usable, last_n)
    n_c = _trend_windows(series, yr, has_year & np.isfinite(c), 3)[3]

    y_w = np.where(mask, c[order][idx], 0.0)
    p_w = np.where(mask, p[order][idx], 1.0)
    t_w = np.where(mask, yr[order][idx], 0.0)

    reason, todo = _window_start(n, n_c, dup, REASON_NO_POPULATION)
    total = y_w.sum(axis=1)
    reason[todo & (total == 0)] = REASON_ALL_ZERO
    todo &= total > 0
    years_with_events = (mask & (y_w > 0)).sum(axis=1)
    reason[todo & (years_with_events < 2)] = REASON_ONE_YEAR_EVENTS
    todo &= years_with_events >= 2

    res = _window_arrays(n_rows, unit, n, mask, t_w)  # in sorted order
    if todo.any():
        fit = _poisson_newton(y_w[todo], p_w[todo], t_w[todo], mask[todo])
        beta, var_b, chi2, ok = fit
        df = n[todo] - 2.0
        floor = None if min_scale is None else _sorted_floor(min_scale, n_rows, order)[todo]
        scale, q, q_df = _interval_quantile(chi2 / df, df, alpha, use_t, floor)
        se = np.sqrt(var_b * scale)
        lo, hi = beta - q * se, beta + q * se
        pct, pct_lo, pct_hi = 100 * np.expm1(beta), 100 * np.expm1(lo), 100 * np.expm1(hi)
        ok &= np.isfinite(pct) & np.isfinite(pct_lo) & np.isfinite(pct_hi) & np.isfinite(scale)
        rows = np.flatnonzero(todo)
        res.set_fit(rows[ok], pct[ok], pct_lo[ok], pct_hi[ok], scale[ok], (beta / se)[ok], q_df[ok])
        reason[todo] = np.where(ok, "", REASON_NOT_CONVERGED)
    res.reason = reason
    return res.frame(order)


def _poisson_newton(y, pop, t, mask, max_iter: int = 100, tol: float = 1e-12):
    """Poisson regression ``log mu = a + b (t - mean t) + log pop`` for many windows.

    Newton-Raphson on the log-likelihood with step-halving (the log-likelihood
    is concave, so this converges from any start). Returns ``(b, var_b,
    pearson_chi2, ok)`` with ``var_b`` from the inverse Fisher information at
    the estimate (the model-based variance before any scale).
    """
    m = mask.astype(float)
    nobs = m.sum(axis=1)
    x = np.where(mask, t - (t * m).sum(axis=1, keepdims=True) / nobs[:, None], 0.0)
    off = np.where(mask, np.log(pop), 0.0)
    a = np.log(y.sum(axis=1) / np.where(mask, pop, 0.0).sum(axis=1))
    b = np.zeros(len(y))

    def eta_of(rows, a_, b_):
        return a_[:, None] + b_[:, None] * x[rows] + off[rows]

    def loglik(rows, a_, b_):
        with np.errstate(over="ignore", invalid="ignore"):
            eta = eta_of(rows, a_, b_)
            ll = np.where(mask[rows], y[rows] * eta - np.exp(eta), 0.0).sum(axis=1)
        return np.where(np.isnan(ll), -np.inf, ll)

    all_rows = np.arange(len(y))
    ll = loglik(all_rows, a, b)
    active = np.ones(len(y), dtype=bool)
    failed = np.zeros(len(y), dtype=bool)
    for _ in range(max_iter):
        ia = np.flatnonzero(active)
        if not len(ia):
            break
        with np.errstate(over="ignore", invalid="ignore"):
            mu = np.where(mask[ia], np.exp(eta_of(ia, a[ia], b[ia])), 0.0)
            r = y[ia] - mu
            xa = x[ia]
            g0, g1 = r.sum(axis=1), (xa * r).sum(axis=1)
            i00, i01, i11 = mu.sum(axis=1), (xa * mu).sum(axis=1), (xa**2 * mu).sum(axis=1)
            det = i00 * i11 - i01**2
            da = (i11 * g0 - i01 * g1) / det
            db = (i00 * g1 - i01 * g0) / det
        bad = ~(np.isfinite(da) & np.isfinite(db))
        da[bad], db[bad] = 0.0, 0.0
        step = np.ones(len(ia))
        new_a, new_b = a[ia] + da, b[ia] + db
        new_ll = loglik(ia, new_a, new_b)
        for _half in range(60):
            worse = new_ll < ll[ia] - 1e-13 * np.abs(ll[ia])
            if not worse.any():
                break
            step[worse] /= 2
            new_a[worse] = a[ia][worse] + step[worse] * da[worse]
            new_b[worse] = b[ia][worse] + step[worse] * db[worse]
            new_ll[worse] = loglik(ia[worse], new_a[worse], new_b[worse])
        a[ia], b[ia], ll[ia] = new_a, new_b, new_ll
        small = (np.abs(step * da) <= tol * (1 + np.abs(new_a))) & (np.abs(step * db) <= tol * (1 + np.abs(new_b)))
        failed[ia[bad]] = True
        active[ia[small | bad]] = False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        mu = np.where(mask, np.exp(eta_of(all_rows, a, b)), 1.0)
        chi2 = np.where(mask, (y - mu) ** 2 / mu, 0.0).sum(axis=1)
        mu0 = np.where(mask, mu, 0.0)
        i00, i01, i11 = mu0.sum(axis=1), (x * mu0).sum(axis=1), (x**2 * mu0).sum(axis=1)
        var_b = i00 / (i00 * i11 - i01**2)
    ok = ~active & ~failed & np.isfinite(b) & np.isfinite(var_b) & (var_b > 0) & np.isfinite(chi2)
    return b, var_b, chi2, ok


def share_trend_batch(
    series,
    years,
    share_pct,
    ci_low_pct,
    ci_high_pct,
    last_n: int = 5,
    alpha: float = 0.05,
    ci_level: float = 0.95,
    use_t: bool = True,
    min_scale=None,
) -> pd.DataFrame:
    """:func:`share_trend` for every row at once: the trend ending at each row's year.

    Same windows as :func:`poisson_trend_batch`; within each window the
    weighted least-squares slope (weights ``1/se**2`` from the published
    interval) in closed form, with the scale rule of :func:`share_trend` (``min_scale`` as in
    :func:`poisson_trend_batch`) and the same ``stat`` and ``stat_df`` columns.
    """
    unit = "percentage_points_per_year"
    yr, s, se = _share_and_se(years, share_pct, ci_low_pct, ci_high_pct, ci_level)
    n_rows = len(yr)
    if n_rows == 0:
        return _empty_trend_frame(0, unit)
    has_year = np.isfinite(yr)
    usable = has_year & np.isfinite(s) & np.isfinite(se)
    order, idx, mask, n, dup = _trend_windows(series, yr, usable, last_n)
    n_s = _trend_windows(series, yr, has_year & np.isfinite(s), 3)[3]
    y_w = np.where(mask, s[order][idx], 0.0)
    w_w = np.where(mask, 1 / se[order][idx] ** 2, 0.0)
    t_w = np.where(mask, yr[order][idx], 0.0)

    reason, todo = _window_start(n, n_s, dup, REASON_NO_CI)
    all_zero = ~(mask & (y_w != 0)).any(axis=1)
    reason[todo & all_zero] = REASON_ALL_ZERO
    todo &= ~all_zero

    res = _window_arrays(n_rows, unit, n, mask, t_w)
    if todo.any():
        w, y, t = w_w[todo], y_w[todo], t_w[todo]
        sw = w.sum(axis=1)
        tbar = (w * t).sum(axis=1) / sw
        ybar = (w * y).sum(axis=1) / sw
        dt = np.where(mask[todo], t - tbar[:, None], 0.0)
        sxx = (w * dt**2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = (w * dt * (y - ybar[:, None])).sum(axis=1) / sxx
            resid = np.where(mask[todo], y - ybar[:, None] - slope[:, None] * dt, 0.0)
            chi2 = (w * resid**2).sum(axis=1)
            df = n[todo] - 2.0
            floor = None if min_scale is None else _sorted_floor(min_scale, n_rows, order)[todo]
            scale, q, q_df = _interval_quantile(chi2 / df, df, alpha, use_t, floor)
            se_slope = np.sqrt(scale / sxx)
            half = q * se_slope
        lo, hi = slope - half, slope + half
        ok = np.isfinite(slope) & np.isfinite(lo) & np.isfinite(hi) & (sxx > 0)
        rows = np.flatnonzero(todo)
        res.set_fit(rows[ok], slope[ok], lo[ok], hi[ok], scale[ok], (slope / se_slope)[ok], q_df[ok])
        reason[rows[~ok]] = REASON_NOT_CONVERGED
    res.reason = reason
    return res.frame(order)


# --------------------------------------------------------------------------- #
# Grouped empirical Bayes
# --------------------------------------------------------------------------- #
def _group_codes(groups, n: int) -> tuple[np.ndarray, int]:
    if groups is None:
        return np.zeros(n, dtype=np.int64), 1
    codes, uniq = pd.factorize(pd.Series(groups, dtype=object).reset_index(drop=True), use_na_sentinel=True)
    return codes, len(uniq)


def eb_shrink_grouped(
    counts, populations, groups=None, per: float = PER_100K, alpha: float = 0.05, min_areas: int = 1
) -> pd.DataFrame:
    """:func:`eb_shrink` applied separately within each group, vectorised.

    Each group (e.g. indicator x year, or indicator x year x län) gets its own
    method-of-moments prior from its valid areas. Rows with a missing group
    label, invalid input, or in a group with fewer than ``min_areas`` valid
    areas get NaN. Extra column ``prior_n``: the number of areas the prior was
    estimated from (0 where NaN); ``prior_mean`` the prior mean rate.
    """
    y, n, ok = _valid_count_pop(counts, populations)
    y, n, ok = y.ravel(), n.ravel(), ok.ravel()
    g, k = _group_codes(groups, len(y))
    ok = ok & (g >= 0)
    out = pd.DataFrame(np.nan, index=pd.RangeIndex(len(y)),
                       columns=["eb_rate", "eb_low", "eb_high", "shrinkage_weight", "prior_mean"])
    out["prior_n"] = 0
    if not ok.any():
        return out
    gi = g[ok]
    yv, nv = y[ok], n[ok]
    cnt = np.bincount(gi, minlength=k)
    sy, sn = np.bincount(gi, yv, k), np.bincount(gi, nv, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        m_g = sy / sn
        m = m_g[gi]
        r = yv / nv
        ss = np.bincount(gi, nv * (r - m) ** 2, k)
        s2_g = ss / sn - m_g / (sn / cnt)
    s2 = s2_g[gi]
    enough = cnt[gi] >= min_areas
    shrink = (s2 > 0) & (m > 0)
    eb, low, high, w = (np.full(len(yv), np.nan) for _ in range(4))
    i = shrink & enough
    if i.any():
        shape, rate = m[i] ** 2 / s2[i] + yv[i], m[i] / s2[i] + nv[i]
        eb[i] = shape / rate
        low[i] = stats.gamma.ppf(alpha / 2, shape, scale=1 / rate)
        high[i] = stats.gamma.isf(alpha / 2, shape, scale=1 / rate)
        w[i] = s2[i] / (s2[i] + m[i] / nv[i])
    j = ~shrink & enough
    if j.any():
        lo_g, hi_g = poisson_rate_ci(sy, sn, per=1.0, alpha=alpha)
        eb[j], low[j], high[j], w[j] = m[j], lo_g[gi[j]], hi_g[gi[j]], 0.0
    rows = np.flatnonzero(ok)
    out.loc[rows, "eb_rate"] = eb * per
    out.loc[rows, "eb_low"] = low * per
    out.loc[rows, "eb_high"] = high * per
    out.loc[rows, "shrinkage_weight"] = w
    out.loc[rows, "prior_mean"] = np.where(enough, m * per, np.nan)
    out.loc[rows, "prior_n"] = np.where(enough, cnt[gi], 0)
    return out


def eb_shrink_normal(values, se, groups=None, alpha: float = 0.05, min_areas: int = 1,
                     bounds=(0.0, 100.0)) -> pd.DataFrame:
    """Normal-normal empirical-Bayes shrinkage of estimates with known standard errors.

    For shares from a survey, whose intervals are published: ``y_i ~ N(theta_i,
    se_i^2)``, ``theta_i ~ N(mu, tau^2)``. Within each group, ``tau^2`` is the
    DerSimonian & Laird (1986) method-of-moments estimate
    ``max(0, (Q - (k - 1)) / (S1 - S2 / S1))`` with ``w_i = 1/se_i^2``,
    ``S1 = sum w``, ``S2 = sum w^2``, ``Q = sum w (y - y_w)^2``, and ``mu`` the
    weighted mean with weights ``1/(se^2 + tau^2)``. The posterior (Morris
    1983) has mean ``B_i mu + (1 - B_i) y_i`` with ``B_i = se^2/(se^2 + tau^2)``
    and variance ``(1 - B_i) se^2``; the interval is normal, clipped to
    ``bounds``. If ``tau^2 = 0`` every area gets ``mu`` with the interval of
    ``mu`` itself (``+- z / sqrt(sum w)``). ``shrinkage_weight`` is ``1 - B``.
    Columns as :func:`eb_shrink_grouped` (``eb_rate`` holds the shrunk value).
    """
    v = as_float_array(values).ravel()
    s = np.broadcast_to(as_float_array(se), v.shape).astype(float)
    g, k = _group_codes(groups, len(v))
    ok = np.isfinite(v) & np.isfinite(s) & (s > 0) & (g >= 0)
    out = pd.DataFrame(np.nan, index=pd.RangeIndex(len(v)),
                       columns=["eb_rate", "eb_low", "eb_high", "shrinkage_weight", "prior_mean"])
    out["prior_n"] = 0
    if not ok.any():
        return out
    gi, y, se_ = g[ok], v[ok], s[ok]
    w = 1 / se_**2
    cnt = np.bincount(gi, minlength=k)
    s1, s2w = np.bincount(gi, w, k), np.bincount(gi, w**2, k)
    yw = np.bincount(gi, w * y, k) / np.where(s1 > 0, s1, np.nan)
    q = np.bincount(gi, w * (y - yw[gi]) ** 2, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau2_g = np.maximum(0.0, (q - (cnt - 1)) / (s1 - s2w / s1))
    tau2_g = np.where(cnt > 1, tau2_g, 0.0)
    tau2 = tau2_g[gi]
    wr = 1 / (se_**2 + tau2)
    with np.errstate(invalid="ignore", divide="ignore"):  # groups without valid rows
        mu_g = np.bincount(gi, wr * y, k) / np.bincount(gi, wr, k)
    mu = mu_g[gi]
    b = se_**2 / (se_**2 + tau2)
    post = b * mu + (1 - b) * y
    post_sd = np.sqrt((1 - b) * se_**2)
    z = stats.norm.ppf(1 - alpha / 2)
    degenerate = tau2 <= 0
    post_sd = np.where(degenerate, 1 / np.sqrt(s1[gi]), post_sd)
    lo, hi = bounds
    enough = cnt[gi] >= min_areas
    rows = np.flatnonzero(ok)
    out.loc[rows, "eb_rate"] = np.where(enough, post, np.nan)
    out.loc[rows, "eb_low"] = np.where(enough, np.clip(post - z * post_sd, lo, hi), np.nan)
    out.loc[rows, "eb_high"] = np.where(enough, np.clip(post + z * post_sd, lo, hi), np.nan)
    out.loc[rows, "shrinkage_weight"] = np.where(enough, 1 - b, np.nan)
    out.loc[rows, "prior_mean"] = np.where(enough, mu, np.nan)
    out.loc[rows, "prior_n"] = np.where(enough, cnt[gi], 0)
    return out


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
    t, v, y = np.broadcast_arrays(as_float_array(weighted_sum), as_float_array(variance),
                                  as_float_array(total_count))
    ok = np.isfinite(t) & np.isfinite(v) & np.isfinite(y) & (y > 0) & (v >= 0)
    low = np.full(t.shape, np.nan)
    high = np.full(t.shape, np.nan)
    if ok.any():
        y_lo, y_hi = confint_poisson(y[ok], np.ones(int(ok.sum())), method="exact-c", alpha=alpha)
        f = np.sqrt(v[ok] / y[ok])
        low[ok] = t[ok] + f * (np.asarray(y_lo) - y[ok])
        high[ok] = t[ok] + f * (np.asarray(y_hi) - y[ok])
    return low, high


# --------------------------------------------------------------------------- #
# The model of variation between areas (docs/metod.md, section 5)
# --------------------------------------------------------------------------- #
def sqrt_rate(counts, populations, per: float = PER_100K) -> tuple[np.ndarray, np.ndarray]:
    """The comparison scale of a rate: ``v = sqrt(count / population * per)`` and the Poisson
    sampling variance of ``v``, ``per / (4 population)`` (the square root stabilises the Poisson
    variance: ``var(sqrt(Y)) ~ 1/4``; Spiegelhalter 2005, the CQC transformation of FunnelPlotR).
    Multiply the variance by the overdispersion phi for overdispersed counts. NaN for invalid input."""
    c, p, ok = _valid_count_pop(counts, populations)
    v = np.full(c.shape, np.nan)
    var = np.full(c.shape, np.nan)
    v[ok] = np.sqrt(c[ok] / p[ok] * per)
    var[ok] = per / (4 * p[ok])
    return v, var


def twoway_dispersion(counts, populations, areas, years, groups=None, max_iter: int = 2000,
                      tol: float = 1e-10) -> pd.DataFrame:
    """Pearson dispersion of the Poisson model ``count ~ area + year + offset(log population)``, per group.

    The maximum-likelihood fit of the two main effects is found by alternating their closed-form
    updates (each the exact conditional maximum, so the concave log-likelihood rises to its
    maximum), for all groups at once. Areas or years whose counts are all zero in a group leave
    the fit (their fitted value is 0 and they carry no information on the dispersion). Returns one
    row per group (in the order of first appearance): ``group``, ``phi = chi2 / df`` (not
    floored), ``chi2``, ``df = cells - areas - years + 1``, ``n_areas``, ``n_years``, ``n_cells``.
    ``phi`` is NaN where ``df <= 0``. The same numbers as statsmodels ``GLM(..., Poisson())``
    with ``pearson_chi2 / df_resid`` (see the tests).
    """
    y, n, ok = _valid_count_pop(counts, populations)
    y, n, ok = y.ravel(), n.ravel(), ok.ravel()
    if groups is None:
        g, labels = np.zeros(len(y), dtype=np.int64), [0]
    else:
        g, labels = pd.factorize(pd.Series(groups, dtype=object).reset_index(drop=True), use_na_sentinel=True)
        labels = list(labels)
    k = len(labels)
    a_code = pd.factorize(pd.Series(areas, dtype=object).reset_index(drop=True))[0]
    t_code = pd.factorize(pd.Series(years, dtype=object).reset_index(drop=True))[0]
    ok = ok & (g >= 0) & (a_code >= 0) & (t_code >= 0)
    out = pd.DataFrame({"group": pd.Series(labels, dtype=object), "phi": np.nan, "chi2": np.nan, "df": 0,
                        "n_areas": 0, "n_years": 0, "n_cells": 0})
    idx = np.flatnonzero(ok)
    if not len(idx):
        return out
    gi = g[idx].astype(np.int64)
    ga = pd.factorize(gi * (a_code.max() + 1) + a_code[idx])[0]
    gt = pd.factorize(gi * (t_code.max() + 1) + t_code[idx])[0]
    yv, nv = y[idx], n[idx]
    keep = (np.bincount(ga, yv)[ga] > 0) & (np.bincount(gt, yv)[gt] > 0)
    gi, yv, nv = gi[keep], yv[keep], nv[keep]
    ga = pd.factorize(ga[keep])[0]
    gt = pd.factorize(gt[keep])[0]
    if not len(yv):
        return out
    ya, yt = np.bincount(ga, yv), np.bincount(gt, yv)
    b = np.zeros(gt.max() + 1)
    log_mu = np.zeros(len(yv))
    for _ in range(max_iter):
        a = np.log(ya / np.bincount(ga, nv * np.exp(b[gt])))
        b = np.log(yt / np.bincount(gt, nv * np.exp(a[ga])))
        new = a[ga] + b[gt] + np.log(nv)
        done = np.max(np.abs(new - log_mu)) < tol
        log_mu = new
        if done:
            break
    mu = np.exp(log_mu)
    chi2 = np.bincount(gi, (yv - mu) ** 2 / mu, minlength=k)
    cells = np.bincount(gi, minlength=k)
    n_a = np.bincount(gi[np.unique(ga, return_index=True)[1]], minlength=k)
    n_t = np.bincount(gi[np.unique(gt, return_index=True)[1]], minlength=k)
    df = cells - n_a - n_t + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(df > 0, chi2 / np.maximum(df, 1), np.nan)
    out["phi"], out["chi2"], out["df"] = phi, np.where(cells > 0, chi2, np.nan), np.maximum(df, 0)
    out["n_areas"], out["n_years"], out["n_cells"] = n_a, n_t, cells
    return out


def dl_tau2(values, variances, centre=None, groups=None, winsor: float = 0.10) -> pd.DataFrame:
    """Additive between-area variance per group: Spiegelhalter (2005) with DerSimonian & Laird (1986).

    ``values`` y_i with known sampling ``variances`` s_i^2 (already multiplied by any overdispersion
    phi). With ``z_i = (y_i - centre) / s_i`` winsorised at the ``winsor`` and ``1 - winsor``
    percentiles of the group (linear interpolation, R's quantile type 7 as FunnelPlotR) and
    ``w_i = 1 / s_i^2``::

        tau2 = max(0, (sum z_w^2 - (I - 1)) / (sum w - sum w^2 / sum w))

    ``centre`` (per row, or None for the inverse-variance weighted mean of the group, which makes
    this exactly the DerSimonian-Laird estimator when ``winsor = 0``). Returns one row per group
    code 0..k-1: ``n`` (I), ``excess`` (``sum z_w^2 - (I - 1)``), ``denom`` and ``tau2`` (NaN
    where ``I < 2``); pool several groups (years) with ``max(0, sum excess / sum denom)``.
    """
    v = as_float_array(values).ravel()
    s2 = np.broadcast_to(as_float_array(variances), v.shape).astype(float)
    g, k = _group_codes(groups, len(v))
    ok = np.isfinite(v) & np.isfinite(s2) & (s2 > 0) & (g >= 0)
    if centre is not None:
        c_row = np.broadcast_to(as_float_array(centre), v.shape).astype(float)
        ok &= np.isfinite(c_row)
    out = pd.DataFrame({"n": np.zeros(k, dtype=np.int64), "excess": np.nan, "denom": np.nan, "tau2": np.nan})
    if not ok.any():
        return out
    gi, y, var = g[ok], v[ok], s2[ok]
    w = 1 / var
    s1, s2w = np.bincount(gi, w, k), np.bincount(gi, w**2, k)
    cnt = np.bincount(gi, minlength=k)
    if centre is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            c = (np.bincount(gi, w * y, k) / s1)[gi]
    else:
        c = c_row[ok]
    z = (y - c) / np.sqrt(var)
    order = np.argsort(gi, kind="stable")
    gs, zs = gi[order], z[order]
    bounds = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1], True])
    q = np.zeros(k)
    for lo_, hi_ in zip(bounds[:-1], bounds[1:]):
        seg = zs[lo_:hi_]
        if winsor > 0:
            lo, hi = np.percentile(seg, [100 * winsor, 100 * (1 - winsor)])
            seg = np.clip(seg, lo, hi)
        q[gs[lo_]] = float(np.sum(seg**2))
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = s1 - s2w / s1
        excess = q - (cnt - 1)
        tau2 = np.where((cnt >= 2) & (denom > 0), np.maximum(0.0, excess / denom), np.nan)
    out["n"] = cnt
    out["excess"] = np.where(cnt >= 2, excess, np.nan)
    out["denom"] = np.where(cnt >= 2, denom, np.nan)
    out["tau2"] = tau2
    return out


def compare_z(z, level: float = 0.95) -> np.ndarray:
    """``'higher'`` / ``'lower'`` when the standardised difference ``z`` lies beyond the two-sided
    ``level`` quantile of the normal distribution, ``'similar'`` within, ``'unknown'`` for NaN."""
    zz = as_float_array(z)
    crit = stats.norm.ppf(1 - (1 - level) / 2)
    with np.errstate(invalid="ignore"):
        out = np.where(zz > crit, "higher", np.where(zz < -crit, "lower", "similar"))
    return np.where(np.isfinite(zz), out, "unknown").astype(object)


def funnel_label(z, level: float = 0.998) -> np.ndarray:
    """``'above'`` / ``'below'`` / ``'within'`` the two-sided ``level`` funnel limits for the
    standardised difference ``z`` (the limits of :func:`rate_limits` / :func:`share_limits`),
    ``'unknown'`` for NaN."""
    labels = compare_z(z, level)
    return np.select([labels == "higher", labels == "lower", labels == "similar"], ["above", "below", "within"],
                     "unknown").astype(object)


def rate_limits(bench_rate, bench_var, populations, phi=1.0, tau2=0.0, levels=(0.95, 0.998),
                per: float = PER_100K) -> pd.DataFrame:
    """Funnel limits (rates per ``per``) of the model around a benchmark rate, for each population n::

        sd(n) = sqrt(phi * per / (4 n) + tau2 + bench_var)
        limits = (sqrt(bench_rate) -/+ z * sd(n))^2        (the lower clipped at 0 before squaring)

    on the square-root scale of :func:`sqrt_rate`: phi the within-area overdispersion, tau2 the
    additive between-area variance (:func:`dl_tau2`), ``bench_var`` the variance of the
    benchmark's own square-root rate. With ``phi = 1, tau2 = bench_var = 0`` these are
    FunnelPlotR's CQC limits. A rate lies outside the limits exactly when its standardised
    difference from the benchmark lies beyond ``z``. Columns ``population``, ``lo_<L>``, ``hi_<L>``
    (``lo_95``, ``hi_998``); NaN for invalid input.
    """
    n = as_float_array(populations).ravel()
    b, bv, ph, t2 = (float(as_float_array(x).item()) if as_float_array(x).size == 1 else np.nan
                     for x in (bench_rate, bench_var, phi, tau2))
    ok = np.isfinite(n) & (n > 0) & np.isfinite(b) & (b >= 0) & np.isfinite(bv) & (bv >= 0) & np.isfinite(ph) \
        & np.isfinite(t2)
    out = pd.DataFrame({"population": n})
    sd = np.full(n.shape, np.nan)
    sd[ok] = np.sqrt(max(ph, 1.0) * per / (4 * n[ok]) + max(t2, 0.0) + bv)
    for level in levels:
        z = stats.norm.ppf(1 - (1 - level) / 2)
        tag = _level_label(level)
        vb = np.sqrt(b) if np.isfinite(b) and b >= 0 else np.nan
        out[f"lo_{tag}"] = np.where(ok, np.maximum(vb - z * sd, 0.0) ** 2, np.nan)
        out[f"hi_{tag}"] = np.where(ok, (vb + z * sd) ** 2, np.nan)
    return out


def effective_size(se_pct, share_pct) -> np.ndarray:
    """The precision of a share as a number of respondents: ``p (100 - p) / se^2`` (p and se in
    percent). The funnel of shares is drawn against it, with ``p`` the benchmark's share, so that
    each area sits at the precision of its published interval (BRÅ's model-based kommun intervals
    do not follow the number of respondents)."""
    se, p = np.broadcast_arrays(as_float_array(se_pct), as_float_array(share_pct))
    ok = np.isfinite(se) & (se > 0) & np.isfinite(p) & (p > 0) & (p < 100)
    out = np.full(se.shape, np.nan)
    out[ok] = p[ok] * (100 - p[ok]) / se[ok] ** 2
    return out


def share_limits(bench_pct, bench_var, sizes, tau2=0.0, levels=(0.95, 0.998)) -> pd.DataFrame:
    """Funnel limits (percent) of the model around a benchmark share, for each precision n
    (:func:`effective_size`): ``bench -/+ z sqrt(bench (100 - bench) / n + tau2 + bench_var)``,
    clipped to 0..100. Same columns as :func:`rate_limits` (``population`` holds n)."""
    n = as_float_array(sizes).ravel()
    b, bv, t2 = (float(as_float_array(x).item()) if as_float_array(x).size == 1 else np.nan
                 for x in (bench_pct, bench_var, tau2))
    ok = np.isfinite(n) & (n > 0) & np.isfinite(b) & (b > 0) & (b < 100) & np.isfinite(bv) & (bv >= 0) \
        & np.isfinite(t2)
    out = pd.DataFrame({"population": n})
    sd = np.full(n.shape, np.nan)
    sd[ok] = np.sqrt(b * (100 - b) / n[ok] + max(t2, 0.0) + bv)
    for level in levels:
        z = stats.norm.ppf(1 - (1 - level) / 2)
        tag = _level_label(level)
        out[f"lo_{tag}"] = np.where(ok, np.clip(b - z * sd, 0, 100), np.nan)
        out[f"hi_{tag}"] = np.where(ok, np.clip(b + z * sd, 0, 100), np.nan)
    return out


def bh_adjust(p, groups=None) -> np.ndarray:
    """Benjamini & Hochberg (1995) adjusted p-values within each group.

    ``q_(i) = min_{j >= i} p_(j) m / j`` over the m finite p-values of the group, capped at 1 (the
    same as statsmodels ``multipletests(method='fdr_bh')`` per group). NaN p-values stay NaN and do
    not count in m.
    """
    pv = as_float_array(p).ravel()
    g, _ = _group_codes(groups, len(pv))
    out = np.full(len(pv), np.nan)
    ok = np.isfinite(pv) & (g >= 0)
    if not ok.any():
        return out
    df = pd.DataFrame({"g": g[ok], "p": pv[ok], "i": np.flatnonzero(ok)})
    df = df.sort_values(["g", "p"], ascending=[True, False], kind="stable")
    m = df.groupby("g")["p"].transform("size").to_numpy()
    rank = m - df.groupby("g").cumcount().to_numpy()  # ascending rank of each p in its group
    df["adj"] = np.minimum(df["p"].to_numpy() * m / rank, 1.0)
    out[df["i"].to_numpy()] = df.groupby("g")["adj"].cummin().to_numpy()
    return out


def bh_reject(p, groups, q: float, m=None) -> np.ndarray:
    """Which p-values the Benjamini-Hochberg step-up procedure at level ``q`` rejects, per group.

    Rejected: ``p <= T_g``, the largest ``p_(k)`` of the group with ``p_(k) <= k q / m_g``. Only
    p-values ``<= q`` can be rejected, so only those are sorted (fast for many groups, e.g. every
    kommun in every redraw). ``groups`` are non-negative integers; ``m`` (per group) defaults to
    the number of finite p-values of each group.
    """
    pv = np.asarray(p, dtype=float).ravel()
    g = np.asarray(groups, dtype=np.int64).ravel()
    k = int(g.max()) + 1 if len(g) else 0
    finite = np.isfinite(pv)
    m_g = np.bincount(g[finite], minlength=k) if m is None else np.asarray(m, dtype=float)
    cand = np.flatnonzero(finite & (pv <= q))
    out = np.zeros(len(pv), dtype=bool)
    if not len(cand):
        return out
    gc, pc = g[cand], pv[cand]
    order = np.argsort(2.0 * gc + pc, kind="stable")  # by group, then p (every candidate p is at most 1)
    gs, ps = gc[order], pc[order]
    start = np.r_[0, np.flatnonzero(gs[1:] != gs[:-1]) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(gs)]))
    rank = np.arange(len(gs)) - first + 1
    good = ps <= rank * q / m_g[gs]
    seg_max = np.maximum.reduceat(np.where(good, ps, -1.0), start)  # the threshold T_g of each group
    thresh = np.repeat(seg_max, np.diff(np.r_[start, len(gs)]))
    keep = np.empty(len(gs), dtype=bool)
    keep[order] = ps <= thresh
    out[cand] = keep
    return out


def nb_draw(rng: np.random.Generator, mean, phi, size: int) -> np.ndarray:
    """``size`` draws of counts with the given means and variance ``phi x mean`` (shape size x n).

    Negative binomial with ``n = mean / (phi - 1)`` and ``p = 1 / phi`` where ``phi > 1``, Poisson
    where ``phi <= 1``; a zero (or missing) mean always gives 0.
    """
    mu = np.asarray(mean, dtype=float).ravel()
    ph = np.broadcast_to(np.asarray(phi, dtype=float), mu.shape)
    out = np.zeros((size, len(mu)))
    pos = np.isfinite(mu) & (mu > 0)
    nb = pos & np.isfinite(ph) & (ph > 1 + 1e-12)
    po = pos & ~nb
    if nb.any():
        out[:, nb] = rng.negative_binomial(mu[nb] / (ph[nb] - 1), 1 / ph[nb], size=(size, int(nb.sum())))
    if po.any():
        out[:, po] = rng.poisson(mu[po], size=(size, int(po.sum())))
    return out
