"""Trends: the yearly change of a rate (quasi-Poisson GLM) or a share (weighted least squares), one series or thousands.

* Trend of a rate: Poisson GLM (statsmodels) of count on year with offset log(population);
  quasi-Poisson (Pearson chi-square scale, McCullagh & Nelder 1989) when chi2/df > 1, then with t
  quantiles on the residual df as in R's ``summary.glm``; a floor on the scale (the model's phi)
  where the caller gives one.
* Trend of a share: weighted least squares with weights 1/se^2 from the published interval, same
  scale rule.
* The batch versions (``poisson_trend_batch``, ``share_trend_batch``) compute the same numbers as
  the per-series functions for thousands of series at once, in numpy; the tests check them against
  the per-series functions (statsmodels GLM).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from ._arrays import as_float_array

# Reasons (Swedish, shown to users) why a trend could not be estimated.
REASON_FEW_YEARS = "för få år med data"
REASON_ALL_ZERO = "alla värden noll"
REASON_NO_POPULATION = "befolkning saknas"
REASON_ONE_YEAR_EVENTS = "händelser endast under ett år"
REASON_NO_CI = "konfidensintervall saknas"
REASON_DUPLICATE_YEARS = "samma år förekommer flera gånger"
REASON_NOT_CONVERGED = "modellen kunde inte skattas"


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
    idx = idx[np.argsort(yr[idx], kind="stable")][-int(last_n) :] if last_n > 0 else idx[:0]
    return yr[idx], [c[idx] for c in cols]


def _unusable(years_all, values_all, years, values, missing_reason: str, unit: str) -> TrendResult | None:
    """The 'unknown' result of a series no trend can be fitted to, else None.

    ``years``/``values`` are the usable last years (:func:`_last_years`), ``years_all``/``values_all``
    the whole series. Fewer than three usable years: ``missing_reason`` (the other input, such as the
    population, is missing) when at least three years have a value, else too few years; a year
    given twice; all values zero.
    """
    n = len(years)
    if n < 3:
        n_value_years = int((np.isfinite(years_all) & np.isfinite(values_all)).sum())
        return _unknown(missing_reason if n_value_years >= 3 else REASON_FEW_YEARS, n, unit)
    if len(np.unique(years)) < n:
        return _unknown(REASON_DUPLICATE_YEARS, n, unit)
    if np.all(values == 0):
        return _unknown(REASON_ALL_ZERO, n, unit)
    return None


def poisson_trend(
    years,
    counts,
    population,
    last_n: int = 5,
    alpha: float = 0.05,
    use_t: bool = True,
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
    unusable = _unusable(yr_all, c_all, yr, c, REASON_NO_POPULATION, unit)
    if unusable is not None:
        return unusable
    # The Poisson MLE exists only if events occur in at least two distinct years.
    if len(np.unique(yr[c > 0])) < 2:
        return _unknown(REASON_ONE_YEAR_EVENTS, n, unit)
    fit = _fit_slope(c, yr, sm.families.Poisson(), alpha, use_t, offset=np.log(p), min_scale=min_scale)
    if fit is None:
        return _unknown(REASON_NOT_CONVERGED, n, unit)
    beta, lo, hi, scale = fit
    pct, pct_lo, pct_hi = (100 * np.expm1(v) for v in (beta, lo, hi))
    return TrendResult(float(pct), float(pct_lo), float(pct_hi), _classify(pct_lo, pct_hi), "", n, scale, unit)


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
    unusable = _unusable(yr_all, s_all, yr, s, REASON_NO_CI, unit)
    if unusable is not None:
        return unusable
    fit = _fit_slope(s, yr, sm.families.Gaussian(), alpha, use_t, var_weights=1 / se**2)
    if fit is None:
        return _unknown(REASON_NOT_CONVERGED, n, unit)
    slope, lo, hi, scale = fit
    return TrendResult(slope, lo, hi, _classify(lo, hi), "", n, scale, unit)


# --------------------------------------------------------------------------- #
# Batch trends: one trend per row, ending at that row's year
# --------------------------------------------------------------------------- #
TREND_COLUMNS = [
    "pct_per_year",
    "ci_low",
    "ci_high",
    "classification",
    "reason",
    "n_years",
    "scale",
    "first_year",
    "stat",
    "stat_df",
]


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
        cols = {
            "pct_per_year": self.pct,
            "ci_low": self.low,
            "ci_high": self.high,
            "classification": self.cls,
            "reason": self.reason,
            "n_years": self.n_years,
            "scale": self.scale,
            "first_year": self.first_year,
            "stat": self.stat,
            "stat_df": self.stat_df,
        }
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
    floor = (
        np.ones(dispersion.shape)
        if min_scale is None
        else np.maximum(1.0, np.where(np.isfinite(min_scale), min_scale, 1.0))
    )
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
        q = np.where(
            np.isinf(d), stats.norm.ppf(1 - alpha / 2), stats.t.ppf(1 - alpha / 2, np.where(np.isinf(d), 1, d))
        )
        se = (b_hi - b_lo) / (2 * q)
    ok = np.isfinite(beta) & np.isfinite(se) & (se > 0)
    return np.where(ok, beta, np.nan), np.where(ok, se, np.nan)


def poisson_trend_batch(
    series,
    years,
    counts,
    population,
    last_n: int = 5,
    alpha: float = 0.05,
    use_t: bool = True,
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
