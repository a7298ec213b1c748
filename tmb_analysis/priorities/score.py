"""The priority score: harm weight, the tests that survive the multiplicity rule, ranks 1-3 and confidence."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from .. import statistics as st
from ._common import TESTS, _num, _ranks
from .evidence import _candidates, _concern, _Evidence
from .settings import analysis_config, harm_weights, priority_config, related_indicators
from .stability import _stability
from .texts import _evidence

CONFIDENCE_LEVELS = ("stark", "måttlig", "svag")


def add_priorities(
    res: pd.DataFrame,
    config: dict | None = None,
    weights: dict[str, float] | None = None,
    related: dict[str, list[str]] | None = None,
    round_mask=None,
    copy: bool = True,
) -> pd.DataFrame:
    """Add the harm weight, the evidence, the score, ``priority_rank`` 1-3 and ``priority_stability``.

    ``res`` holds the columns :func:`tmb_analysis.results.compute_results` builds before this
    step: the standardised differences of the model ``_z_lan``, ``_z_riket``, ``_z_group``,
    ``_z_peers``, ``_z_pooled``, ``_z_trend`` (with ``_df_trend``), the shares ``_rho_*`` of their
    standard deviations that are the area's own noise, and for the redraws ``count``,
    ``_pool_count``, ``funnel_phi``, ``population``, ``eb_weight``, ``_eb_m``; a missing column
    counts as no test. ``round_mask`` (boolean per row): the rows of each area's round, which
    are ranked together (crime and NTU of the round); without it every area and year is ranked
    on its own. Rows outside the round get empty priority columns.

    Columns added (or replaced): ``harm_weight``, ``priority_points`` (tests that count),
    ``priority_score``, ``priority_eligible``, ``priority_q`` (the smallest Benjamini-Hochberg
    adjusted p-value of the row's tests), ``priority_basis`` (the tests that count, e.g.
    ``riket;trend``), ``priority_rank`` (Int64), ``priority_stability``, ``priority_confidence``
    and ``priority_evidence``. ``copy=False`` adds the columns to ``res`` itself.
    """
    cfg = config if config is not None else priority_config()
    hw = weights if weights is not None else harm_weights()
    rel = related if related is not None else related_indicators()
    level = float(analysis_config().get("model", {}).get("level", 0.95))
    funnel_level = float(analysis_config().get("funnel", {}).get("level", 0.998))
    w = cfg.get("weights", {})
    ecfg, scfg, ccfg = cfg.get("evidence", {}), cfg.get("stability", {}), cfg.get("confidence", {})
    fdr, stark_fdr = float(ecfg.get("fdr", 0.05)), float(ecfg.get("stark_fdr", 0.001))
    out = res.copy() if copy else res
    n = len(out)
    codes, uniq = pd.factorize(out["indicator"])
    out["harm_weight"] = np.array([float(hw.get(u, 1.0)) for u in uniq] + [1.0])[np.where(codes >= 0, codes, len(uniq))]
    in_round = np.ones(n, dtype=bool) if round_mask is None else np.asarray(round_mask, dtype=bool)
    candidate = (
        in_round
        & out["area_level"].isin(cfg.get("levels", ["kommun", "lan"])).to_numpy()
        & out["source_kind"].isin(cfg.get("rank_source_kinds", ["crime", "survey"])).to_numpy()
        & ~out["indicator"].isin(cfg.get("exclude", [])).to_numpy()
    )
    rows = np.flatnonzero(candidate)
    area = out["area_code"].astype(str).to_numpy()
    gkey = (
        area[rows]
        if round_mask is not None
        else np.char.add(area[rows].astype(str), out["year"].astype(str).to_numpy()[rows])
    )
    group, _ = pd.factorize(pd.Series(gkey, dtype=object))
    sub = _candidates(out, rows)
    ev = _Evidence(sub, rows, level)
    p_obs = ev.p(ev.z)
    p_obs[~np.isfinite(ev.z)] = np.nan
    flat_group = np.repeat(group, len(TESTS))
    q_obs = st.bh_adjust(p_obs.ravel(), flat_group).reshape(p_obs.shape)
    hits = (q_obs <= fdr) & (p_obs <= ev.alpha_side)
    m_g = np.bincount(flat_group[np.isfinite(p_obs.ravel())], minlength=int(group.max()) + 1 if len(group) else 0)

    period = np.where(in_round, 0, out["year"].to_numpy()) if round_mask is not None else None
    concern, concern_hits = _concern(out, rel, period)
    harm = out["harm_weight"].to_numpy()[rows]
    power = float(cfg.get("harm_power", 1.0))
    factor = harm**power
    lw = w.get("level", {})
    bench_w = np.array([float(lw.get(k, 0.0)) for k in ("lan", "riket", "group", "peers")])
    z_funnel = float(-special.ndtri((1 - funnel_level) / 2))
    # magnitude: the EB value against riket, or against the län when the prior is the län
    basis = _num(sub, "eb_value")
    basis = np.where(np.isfinite(basis), basis, _num(sub, "value"))
    to_lan = (sub["eb_prior"].astype(str) == "lan").to_numpy() if "eb_prior" in sub else np.zeros(len(rows), bool)
    bench = np.where(to_lan, _num(sub, "lan_value"), _num(sub, "riket_value"))
    lower_worse = ev.sign < 0
    cap = float(w.get("magnitude_cap", 2.0))

    everyone = np.arange(len(rows))

    def magnitude(b, at=everyone):
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.log2(np.where(lower_worse[at], bench[at] / b, b / bench[at]))
        return np.where(np.isfinite(m), np.clip(m, 0.0, cap), 0.0)

    fixed = float(w.get("concern", 0.0)) * concern[rows]

    def score_of(hit, z_riket, mag, at=everyone):
        """The score of candidate rows ``at`` from their hits (rows x tests), riket's z and magnitude."""
        lev = hit[:, :4].astype(float)
        lev[:, 1] = np.maximum(lev[:, 1], hit[:, 4])  # riket: this year or the pooled years
        raw = (
            lev @ bench_w
            + float(w.get("trend", 1.0)) * hit[:, 5]
            + float(w.get("funnel", 0.0)) * (z_riket > z_funnel)
            + float(w.get("magnitude", 0.0)) * mag
            + fixed[at]
        )
        return factor[at] * raw

    mag_obs = magnitude(basis)
    score = score_of(hits, np.nan_to_num(ev.z[:, 1], nan=-np.inf), mag_obs)
    eligible = hits.any(axis=1)
    max_rank = int(cfg.get("max_rank", 3))
    rank = np.full(len(rows), np.nan)
    if eligible.any():
        e = np.flatnonzero(eligible)
        r = _ranks(group[e], score[e], harm[e], e)
        rank[e] = np.where(r <= max_rank, r, np.nan)
    stability = _stability(sub, ev, group, m_g, fdr, magnitude, score_of, basis, harm, max_rank, scfg)

    points = np.full(n, np.nan)  # lines of evidence: benchmarks (riket this year or pooled), trend, funnel
    points[rows] = (
        hits[:, [0, 2, 3]].sum(axis=1)
        + (hits[:, 1] | hits[:, 4])
        + hits[:, 5]
        + (np.nan_to_num(ev.z[:, 1], nan=-np.inf) > z_funnel)
    )
    out["priority_points"] = pd.array(points, dtype="Float64").astype("Int64")
    full = np.full(n, np.nan)
    full[rows] = score
    out["priority_score"] = full
    elig = np.zeros(n, dtype=bool)
    elig[rows] = eligible
    out["priority_eligible"] = elig
    q_min = np.full(n, np.nan)
    if len(rows):
        q_min[rows] = np.fmin.reduce(q_obs, axis=1)  # NaN only when the row has no test
    out["priority_q"] = q_min
    keys = np.array([k for k, _, _ in TESTS], dtype=object)
    basis_txt = np.full(n, None, dtype=object)
    pattern = hits.astype(np.int64) @ (1 << np.arange(len(TESTS)))  # one text per combination of tests
    texts = np.array(
        [";".join(keys[[(c >> j) & 1 == 1 for j in range(len(TESTS))]]) for c in range(1 << len(TESTS))], dtype=object
    )
    basis_txt[rows] = texts[pattern]
    out["priority_basis"] = pd.Series(basis_txt, index=out.index, dtype=object)
    rank_full = np.full(n, np.nan)
    rank_full[rows] = rank
    out["priority_rank"] = pd.array(rank_full, dtype="Float64").astype("Int64")
    stab_full = np.full(n, np.nan)
    stab_full[rows] = stability
    out["priority_stability"] = stab_full

    # confidence and the evidence text for the ranked rows
    confidence = np.full(n, None, dtype=object)
    evidence = np.full(n, None, dtype=object)
    ranked = np.flatnonzero(np.isfinite(rank))
    if len(ranked):
        pos = rows[ranked]
        best = np.fmin.reduce(np.where(hits[ranked], q_obs[ranked], np.nan), axis=1)
        stab = stability[ranked]
        conf = np.where(
            (best <= stark_fdr) & (stab >= float(ccfg.get("stark_stability", 0.8))),
            "stark",
            np.where(stab >= float(ccfg.get("maattlig_stability", 0.5)), "måttlig", "svag"),
        ).astype(object)
        hits_by_row: dict[int, list[str]] = {}
        for row, lab in zip(concern_hits["_row"].to_numpy(), concern_hits["related_label"].to_numpy()):
            hits_by_row.setdefault(int(row), []).append(str(lab))
        concern_txt = np.array(["; ".join(hits_by_row.get(int(i), [])) for i in pos], dtype=object)
        text = _evidence(
            out.iloc[pos],
            hits[ranked],
            ev.z[ranked, 1] > z_funnel,
            m_g[group[ranked]],
            concern_txt,
            conf,
            stab,
            to_lan[ranked] & (mag_obs[ranked] > 0),
            fdr,
        )
        confidence[pos] = conf
        evidence[pos] = text
    out["priority_confidence"] = pd.Series(confidence, index=out.index, dtype=object)
    out["priority_evidence"] = pd.Series(evidence, index=out.index, dtype=object)
    return out
