"""Funnel-plot limits of the model of variation (Spiegelhalter 2005) and the position of a standardised value.

``rate_limits`` and ``share_limits`` give the 95 % and 99,8 % limits around a benchmark at each
size, with the within-area overdispersion phi and the additive between-area variance tau2 of
:mod:`tmb_analysis.statistics.variation` (FunnelPlotR's CQC limits when phi = 1, tau2 = 0);
``effective_size`` turns an NTU share's published interval into its precision as a number of
respondents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..geography import RIKET_CODE
from ._arrays import as_float_array
from ._arrays import floats as _f
from .intervals import PER_100K, Z95, _level_label
from .variation import compare_z


def funnel_label(z, level: float = 0.998) -> np.ndarray:
    """``'above'`` / ``'below'`` / ``'within'`` the two-sided ``level`` funnel limits for the
    standardised difference ``z`` (the limits of :func:`rate_limits` / :func:`share_limits`),
    ``'unknown'`` for NaN."""
    labels = compare_z(z, level)
    return np.select(
        [labels == "higher", labels == "lower", labels == "similar"], ["above", "below", "within"], "unknown"
    ).astype(object)


def rate_limits(
    bench_rate, bench_var, populations, phi=1.0, tau2=0.0, levels=(0.95, 0.998), per: float = PER_100K
) -> pd.DataFrame:
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
    b, bv, ph, t2 = (
        float(as_float_array(x).item()) if as_float_array(x).size == 1 else np.nan
        for x in (bench_rate, bench_var, phi, tau2)
    )
    ok = (
        np.isfinite(n)
        & (n > 0)
        & np.isfinite(b)
        & (b >= 0)
        & np.isfinite(bv)
        & (bv >= 0)
        & np.isfinite(ph)
        & np.isfinite(t2)
    )
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
    b, bv, t2 = (
        float(as_float_array(x).item()) if as_float_array(x).size == 1 else np.nan for x in (bench_pct, bench_var, tau2)
    )
    ok = np.isfinite(n) & (n > 0) & np.isfinite(b) & (b > 0) & (b < 100) & np.isfinite(bv) & (bv >= 0) & np.isfinite(t2)
    out = pd.DataFrame({"population": n})
    sd = np.full(n.shape, np.nan)
    sd[ok] = np.sqrt(b * (100 - b) / n[ok] + max(t2, 0.0) + bv)
    for level in levels:
        z = stats.norm.ppf(1 - (1 - level) / 2)
        tag = _level_label(level)
        out[f"lo_{tag}"] = np.where(ok, np.clip(b - z * sd, 0, 100), np.nan)
        out[f"hi_{tag}"] = np.where(ok, np.clip(b + z * sd, 0, 100), np.nan)
    return out


def funnel_data(
    results: pd.DataFrame,
    indicator: str,
    year: int,
    level: str = "kommun",
    lan_code: str | None = None,
    benchmark: str = "riket",
    grid_points: int = 120,
) -> dict:
    """Everything a funnel chart needs for one indicator and year: the limits of the model that
    decides the results table (:mod:`tmb_analysis.statistics.variation`), so that the chart and the table agree.

    Points: the areas of ``level`` (kommuner, optionally only those of ``lan_code``). Their size is
    the population (crime) or, for NTU shares, the precision of the published interval as a number
    of respondents (:func:`statistics.effective_size` with riket's share): BRÅ's kommun intervals are
    model-based and do not follow the respondents. The limits around riket's value (crime:
    count / population where both exist) at each size are those of :func:`statistics.rate_limits` /
    :func:`statistics.share_limits` with the rows' ``funnel_phi`` and ``model_tau2`` and riket's own
    variance; a point lies outside the 95 % (99,8 %) limits exactly when the table's ``cmp_riket``
    is higher/lower (``funnel_riket`` is above/below). Without riket's row the limits are drawn
    around the points' pooled value (``benchmark_code`` ''; the table's comparisons are then
    'unknown'). A table without the model's columns gets Poisson limits (``model`` False).
    ``benchmark`` must be 'riket': a kommun is compared with the rest of its län, which no single
    funnel can show.

    Returns a dict with ``indicator``, ``year``, ``unit``, ``benchmark`` (float), ``benchmark_code``,
    ``phi``, ``tau2``, ``model`` (bool), ``model_reason``, ``size`` ('population' or 'precision'),
    ``levels`` (0.95, 0.998), ``points`` (DataFrame area_code, area_name, size, count, value,
    pos_95, pos_998: ``above``/``below``/``within``/``unknown``), ``limits`` (DataFrame on a size
    grid: ``population`` holding the size, ``lo_95, hi_95, lo_998, hi_998``) and ``outliers`` (the
    points outside the 99,8 % limits).
    """
    if benchmark != "riket":
        raise ValueError(
            "the funnel is drawn around riket: a kommun is compared with the rest of its län, "
            "which no single funnel shows"
        )
    data = results[(results["indicator"] == indicator) & (results["year"] == int(year))]
    unit = str(data["unit"].iloc[0]) if len(data) else "per_100k"
    pts = data[data["area_level"] == level]
    if lan_code is not None and level == "kommun":
        pts = pts[pts["area_code"].astype(str).str[:2] == str(lan_code)]
    share = unit == "percent"
    count, val = _f(pts["count"]), _f(pts["value"])
    pop = _f(pts["population"])
    brow = data[data["area_code"].astype(str) == RIKET_CODE]
    bcode = RIKET_CODE if len(brow) else ""
    bvalue, bvar = np.nan, 0.0
    model = "model_tau2" in data.columns
    phi = 1.0
    if not share and model:
        phis = _f(pts["funnel_phi"])
        phi = float(phis[np.isfinite(phis)][0]) if np.isfinite(phis).any() else 1.0
    if len(brow):
        bvalue = float(_f(brow["value"])[0])
        if share:
            lo, hi = float(_f(brow["ci_low"])[0]), float(_f(brow["ci_high"])[0])
            bvar = ((hi - lo) / (2 * Z95)) ** 2 if np.isfinite(lo) and np.isfinite(hi) else 0.0
        else:
            bc, bp = float(_f(brow["count"])[0]), float(_f(brow["population"])[0])
            if np.isfinite(bc) and np.isfinite(bp) and bp > 0:
                bvalue, bvar = bc / bp * 100_000, phi * 100_000 / (4 * bp)
    if share:
        se = (_f(pts["ci_high"]) - _f(pts["ci_low"])) / (2 * Z95)
    if not np.isfinite(bvalue):  # no riket row: the pooled value of the points
        bcode = ""
        if share:
            w = np.where(np.isfinite(se) & (se > 0) & np.isfinite(val), 1 / se**2, 0.0)
            bvalue = float(np.sum(w * np.nan_to_num(val)) / np.sum(w)) if w.sum() > 0 else np.nan
        else:
            good = np.isfinite(count) & np.isfinite(pop) & (pop > 0)
            bvalue = float(count[good].sum() / pop[good].sum() * 100_000) if good.any() else np.nan
        bvar = 0.0
    tau2 = 0.0
    reason = ""
    if model:
        taus = _f(pts["model_tau2"])
        tau2 = float(taus[np.isfinite(taus)][0]) if np.isfinite(taus).any() else 0.0
        reasons = [r for r in pts.get("model_reason", pd.Series(dtype=object)).tolist() if isinstance(r, str) and r]
        reason = reasons[0] if reasons else ""
    size = effective_size(se, bvalue) if share else pop
    with np.errstate(invalid="ignore", divide="ignore"):
        own = np.where(np.isfinite(count) & (pop > 0), count / pop * 100_000, val) if not share else val

    def limits_at(sizes):
        if share:
            return share_limits(bvalue, bvar, sizes, tau2=tau2)
        return rate_limits(bvalue, bvar, sizes, phi=phi, tau2=tau2)

    at_points = limits_at(size)
    # where the table does not compare (too uncertain, a recording change) the funnel has no position either
    compared = (pts["cmp_riket"] != "unknown").to_numpy() if "cmp_riket" in pts and bcode else np.ones(len(pts), bool)
    pos = {}
    for tag in ("95", "998"):
        lo_, hi_ = at_points[f"lo_{tag}"].to_numpy(), at_points[f"hi_{tag}"].to_numpy()
        known = np.isfinite(own) & np.isfinite(lo_) & np.isfinite(hi_) & compared
        with np.errstate(invalid="ignore"):
            lab = np.where(own > hi_, "above", np.where(own < lo_, "below", "within"))
        pos[tag] = np.where(known, lab, "unknown").astype(object)
    points = pd.DataFrame(
        {
            "area_code": pts["area_code"].to_numpy(),
            "area_name": pts["area_name"].to_numpy(),
            "size": size,
            "count": count,
            "value": val,
            "pos_95": pos["95"],
            "pos_998": pos["998"],
        }
    )
    ok = np.isfinite(size) & (size > 0)
    if ok.any() and np.isfinite(bvalue):
        grid = np.unique(np.round(np.geomspace(max(size[ok].min() * 0.8, 10.0), size[ok].max() * 1.25, grid_points)))
    else:
        grid = np.array([], dtype=float)
    lim = limits_at(grid)
    outliers = points[points["pos_998"].isin(["above", "below"])].reset_index(drop=True)
    return {
        "indicator": indicator,
        "year": int(year),
        "unit": unit,
        "benchmark": bvalue,
        "benchmark_code": bcode,
        "phi": phi,
        "tau2": tau2,
        "model": model,
        "model_reason": reason,
        "size": "precision" if share else "population",
        "levels": (0.95, 0.998),
        "points": points,
        "limits": lim,
        "outliers": outliers,
    }
