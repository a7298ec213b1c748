"""Empirical-Bayes shrinkage of small areas' rates (Poisson-gamma) and shares (normal-normal).

* Rates: the Poisson-gamma model of Clayton & Kaldor (1987) with the method-of-moments "global EB"
  prior of Marshall (1991); posterior gamma. ``eb_shrink_grouped`` does the same for many groups
  at once (checked against esda in the tests).
* Shares: the normal-normal model with the between-area variance by the method of moments of
  DerSimonian & Laird (1986), posterior as in Morris (1983).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ._arrays import _group_codes, _valid_count_pop, as_float_array
from .intervals import PER_100K, poisson_rate_ci


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
        np.nan,
        index=index if index is not None else pd.RangeIndex(len(y)),
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
    out = pd.DataFrame(
        np.nan, index=pd.RangeIndex(len(y)), columns=["eb_rate", "eb_low", "eb_high", "shrinkage_weight", "prior_mean"]
    )
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


def eb_shrink_normal(
    values, se, groups=None, alpha: float = 0.05, min_areas: int = 1, bounds=(0.0, 100.0)
) -> pd.DataFrame:
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
    out = pd.DataFrame(
        np.nan, index=pd.RangeIndex(len(v)), columns=["eb_rate", "eb_low", "eb_high", "shrinkage_weight", "prior_mean"]
    )
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
