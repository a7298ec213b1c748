"""Many tests at once: the Benjamini & Hochberg (1995) adjustment and rejection, optionally within groups."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._arrays import _group_codes, as_float_array


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
