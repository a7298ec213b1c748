"""The stability of the priorities: parametric redraws of every test, and the Swedish line that reports it."""

from __future__ import annotations

import numpy as np
from scipy import special

from .. import formatting as F
from .. import statistics as st
from ._common import TESTS, _num, _ranks
from .evidence import _Evidence

#: Above this effective count (count / phi) a redrawn count is taken as normal on the square-root
#: scale instead of negative binomial (the same to a few per cent of a standard deviation, far faster).
NORMAL_FROM = 30.0


def _stability(sub, ev: _Evidence, group, m_g, fdr, magnitude, score_of, basis, harm, max_rank, scfg) -> np.ndarray:
    """priority_stability of each candidate row: the share of redraws with the row in its area's top three.

    A redraw moves every test by the noise of its source: the area's own value (crime: a count
    from the negative binomial of the model around the observed count, taken on the square-root
    scale, normal when count / phi exceeds :data:`NORMAL_FROM`; NTU: a normal draw with the
    published standard error), the pooled three years (the other two years drawn too, the year
    itself shared), and the trend statistic (a standard normal step: the slope redrawn from its
    sampling distribution instead of refitted). Benchmarks and the concern term stay fixed. Then
    the Benjamini-Hochberg rule, the score and the ranking are recomputed as for the table; only
    tests beyond the 95 % level can count, so only those are evaluated.
    """
    R = int(scfg.get("redraws", 200))
    if R <= 0 or not len(sub):
        return np.full(len(sub), np.nan)
    rng = np.random.default_rng(int(scfg.get("seed", 0)))
    chunk = max(1, int(scfg.get("chunk", 50)))
    crime = (sub["source_kind"] == "crime").to_numpy()
    y = _num(sub, "count")
    phi = _num(sub, "funnel_phi", 1.0)
    phi = np.where(np.isfinite(phi) & (phi >= 1), phi, 1.0)
    pool = _num(sub, "_pool_count")
    rest = np.where(np.isfinite(pool) & np.isfinite(y), np.maximum(pool - y, 0.0), np.nan)
    pop = _num(sub, "population")
    eb_w, eb_m = _num(sub, "eb_weight"), _num(sub, "_eb_m")
    has_eb = np.isfinite(eb_w) & np.isfinite(eb_m)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = (_num(sub, "ci_high") - _num(sub, "ci_low")) / (2 * float(-special.ndtri(0.025)))
        share_pool = np.where(pool > 0, y / pool, 1.0)
    value = _num(sub, "value")
    counted = crime & np.isfinite(y)
    exact = np.flatnonzero(counted & (y / phi < NORMAL_FROM))
    exact_pool = exact[np.isfinite(rest[exact])]
    k = len(sub)
    n_groups = int(group.max()) + 1
    counts = np.zeros(k)
    src = np.array([s for _, _, s in TESTS])
    rho = ev.sign[:, None] * ev.rho
    z_side = float(-special.ndtri(ev.alpha_side))
    trend_col = len(TESTS) - 1
    for start in range(0, R, chunk):
        r = min(chunk, R - start)
        eps_own = rng.standard_normal((r, k), dtype=np.float32).astype(float)
        eps_rest = rng.standard_normal((r, k), dtype=np.float32)
        eps_trend = rng.standard_normal((r, k), dtype=np.float32)
        eps_pool = np.sqrt(share_pool) * eps_own + np.sqrt(1 - share_pool) * eps_rest
        if len(exact):
            y_new = st.nb_draw(rng, y[exact], phi[exact], r)
            eps_own[:, exact] = (2 / np.sqrt(phi[exact])) * (np.sqrt(y_new) - np.sqrt(y[exact]))
            if len(exact_pool):
                at = np.searchsorted(exact, exact_pool)
                rest_new = st.nb_draw(rng, rest[exact_pool], phi[exact_pool], r)
                eps_pool[:, exact_pool] = (2 / np.sqrt(phi[exact_pool])) * (
                    np.sqrt(y_new[:, at] + rest_new) - np.sqrt(pool[exact_pool])
                )
        noise = {"own": eps_own, "pooled": eps_pool, "trend": eps_trend}
        parts = []  # (redraw, row, test, z) of the tests beyond the 95 % level: only those can count
        for j, s_ in enumerate(src):
            zj = ev.z[:, j] + (rho[:, j] * noise[s_] if s_ != "trend" else noise[s_])
            rr, kk = np.nonzero(zj >= z_side)
            parts.append((rr, kk, np.full(len(rr), j), zj[rr, kk]))
        ri, ki, ti, zc = (np.concatenate(x) for x in zip(*parts))
        if not len(ri):
            continue
        pc = special.ndtr(-zc)
        tt = (ti == trend_col) & np.isfinite(ev.df[ki])
        pc[tt] = special.stdtr(ev.df[ki[tt]], -zc[tt])
        g = ri * n_groups + group[ki]
        rej = st.bh_reject(pc, g, fdr, m=np.tile(m_g, r)) & (pc <= ev.alpha_side)
        if not rej.any():
            continue
        pair, inverse = np.unique(ri[rej] * k + ki[rej], return_inverse=True)
        er, ec = pair // k, pair % k
        hit_e = np.zeros((len(pair), len(TESTS)), dtype=bool)
        hit_e[inverse, ti[rej]] = True
        # the magnitude of the redrawn value: the EB value of the redrawn count, or the redrawn share
        e_own = eps_own[er, ec]
        with np.errstate(invalid="ignore", divide="ignore"):
            y_e = np.where(counted[ec], np.maximum(y[ec] + np.sqrt(phi[ec] * y[ec]) * e_own, 0.0), np.nan)
            if len(exact):
                ex = np.isin(ec, exact)
                y_e[ex] = (np.sqrt(y[ec[ex]]) + np.sqrt(phi[ec[ex]]) / 2 * e_own[ex]) ** 2
            rate_e = y_e / pop[ec] * 100_000
        v_e = np.where(
            counted[ec],
            np.where(has_eb[ec], eb_w[ec] * rate_e + (1 - eb_w[ec]) * eb_m[ec], rate_e),
            value[ec] + se[ec] * e_own,
        )
        mag = magnitude(np.where(np.isfinite(v_e), v_e, basis[ec]), ec)
        z_riket = ev.z[ec, 1] + rho[ec, 1] * e_own
        score = score_of(hit_e, np.nan_to_num(z_riket, nan=-np.inf), mag, ec)
        rk = _ranks(er * n_groups + group[ec], score, harm[ec], ec)
        top = rk <= max_rank
        counts += np.bincount(ec[top], minlength=k)
    return counts / R


def stability_text(stability: float) -> str:
    """'Stannar bland de tre främsta i 87 av 100 omräkningar' (the share rounded to whole per cent)."""
    if stability is None or not np.isfinite(stability):
        return "Stabiliteten kunde inte beräknas"
    return (
        f"Stannar bland de tre främsta i {int(F._round(100 * float(stability), 0))} av 100 omräkningar av statistiken"
    )
