"""Harm weights, the harm-weighted index and the transparent priority score.

Configuration (YAML, never edited into code for a run):

* ``config/harm_weights.yaml``: a harm weight per indicator, with the reasoning behind each
  default, and the indicators of the harm-weighted index;
* ``config/priorities.yaml``: the weights of the priority score and the confidence rule;
* ``config/related_indicators.yaml``: the NTU indicators ("concern") related to each crime
  indicator;
* ``config/analysis.yaml``: the statistical settings of the results table (read by
  :mod:`tmb_analysis.results`).

The score, per area and indicator of the report's round (docs/metod.md, "Prioriteringar")::

    score = harm_weight ^ harm_power x (level + trend + funnel + magnitude + concern)

An indicator is *eligible* only with evidence that survives the model of
:mod:`tmb_analysis.statistics.variation` and the multiplicity of its area's tests: worse than a benchmark
(the rest of the län, riket this year or the last three years pooled, SKR kommungrupp, liknande
kommuner) or a worse trend, at the 95 % level and after the Benjamini-Hochberg procedure over all
the tests of the area's round. The three highest-scoring eligible indicators of each area get
``priority_rank`` 1-3 with a Swedish evidence text, ``priority_stability`` (the share of parametric
redraws in which the indicator stays in the top three) and a confidence (``stark`` / ``måttlig`` /
``svag``). Fewer than three, or none, is a valid answer.
"""

from __future__ import annotations

import copy
import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from . import formatting as F
from . import statistics as st
from .config import read_config

__all__ = [
    "CONFIDENCE_LEVELS",
    "load_config",
    "analysis_config",
    "analysis_settings",
    "harm_weights",
    "priority_config",
    "related_indicators",
    "add_priorities",
    "priorities_for",
    "harm_index",
]

CONFIDENCE_LEVELS = ("stark", "måttlig", "svag")
NBSP, MINUS = F.NBSP, F.MINUS


# --------------------------------------------------------------------------- #
# Configuration
# --------------------------------------------------------------------------- #
def load_config(name: str, path: str | Path | None = None) -> dict:
    """Read ``config/<name>.yaml`` from the package, or the YAML file at ``path``."""
    return read_config(name, path)[0]


@cache
def _cached(name: str) -> dict:
    return load_config(name)


def analysis_config() -> dict:
    """``config/analysis.yaml`` (a copy: change it freely)."""
    return copy.deepcopy(_cached("analysis"))


def analysis_settings(overrides: dict | None = None) -> dict:
    """``config/analysis.yaml`` with ``overrides`` (the same structure) merged in, section by section."""
    base = analysis_config()
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key].update(value)
        else:
            base[key] = value
    return base


def priority_config() -> dict:
    """``config/priorities.yaml`` (a copy)."""
    return copy.deepcopy(_cached("priorities"))


def related_indicators(config: dict | None = None) -> dict[str, list[str]]:
    """Crime indicator -> related NTU indicators, from ``config/related_indicators.yaml``."""
    raw = config if config is not None else _cached("related_indicators")
    return {k: list(v or []) for k, v in (raw.get("crime") or {}).items()}


def harm_weights(config: dict | None = None) -> dict[str, float]:
    """Indicator id -> harm weight (crime and survey), from ``config/harm_weights.yaml``.

    Raises ValueError for a weight that is not a finite positive number.
    """
    raw = config if config is not None else _cached("harm_weights")
    out: dict[str, float] = {}
    for kind in ("crime", "survey"):
        for ind, entry in (raw.get(kind) or {}).items():
            w = entry.get("weight") if isinstance(entry, dict) else entry
            try:
                w = float(w)
            except (TypeError, ValueError):
                raise ValueError(f"harm weight of {ind!r} is not a number: {w!r}") from None
            if not math.isfinite(w) or w <= 0:
                raise ValueError(f"harm weight of {ind!r} must be a positive number, got {w!r}")
            out[ind] = w
    return out


def _index_indicators(config: dict | None = None) -> list[str]:
    raw = config if config is not None else _cached("harm_weights")
    return list(raw.get("index") or [])


# --------------------------------------------------------------------------- #
# Swedish number formatting for the evidence text (fast; same conventions as formatting.py)
# --------------------------------------------------------------------------- #
#: Swedish number text: no-break space thousands separator, decimal comma, real minus sign.
_SV = str.maketrans({",": NBSP, ".": ",", "-": MINUS})


# --------------------------------------------------------------------------- #
# The priority score
# --------------------------------------------------------------------------- #
def _worse_labels(worse: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lower = (worse.astype(str) == "lower").to_numpy()
    cmp_bad = np.where(lower, "lower", "higher")
    trend_bad = np.where(lower, "decreasing", "increasing")
    funnel_bad = np.where(lower, "below", "above")
    return cmp_bad, trend_bad, funnel_bad


def _concern(res: pd.DataFrame, related: dict[str, list[str]], period=None) -> tuple[np.ndarray, pd.DataFrame]:
    """Per row: the share of related NTU indicators that signal concern (and the signalling pairs).

    A related NTU indicator signals concern for the same area and period (``period``, per row;
    default the year: in a report's round crime 2024 and NTU 2025 share one period) when it is
    worse than the län or riket, or its trend is worse. Rows without related indicators with
    data get 0. The second value lists the signalling pairs (columns ``_row``, ``related_label``).
    """
    n = len(res)
    share = np.zeros(n)
    none = pd.DataFrame(columns=["_row", "related_label"])
    pairs = [(c, s) for c, ss in related.items() for s in ss]
    if not pairs or n == 0:
        return share, none
    is_survey = (res["source_kind"] == "survey").to_numpy()
    if not is_survey.any():
        return share, none
    cmp_bad, trend_bad, _ = _worse_labels(res["worse"])
    signal_by_row = is_survey & (
        (res["cmp_lan"].to_numpy() == cmp_bad)
        | (res["cmp_riket"].to_numpy() == cmp_bad)
        | (res["trend"].to_numpy() == trend_bad)
    )
    is_crime = (res["source_kind"] == "crime").to_numpy()
    area_id = pd.factorize(res["area_code"])[0].astype(np.int64)
    ind_codes, ind_uniq = pd.factorize(res["indicator"])
    ind_id = {ind: i for i, ind in enumerate(ind_uniq)}
    when = res["year"].to_numpy() if period is None else np.asarray(period)
    key = (area_id * 10_000 + when.astype(np.int64)) * 1_000 + ind_codes.astype(np.int64)
    s_rows = np.flatnonzero(is_survey)
    s_order = s_rows[np.argsort(key[s_rows], kind="stable")]
    s_keys = key[s_order]
    tot, hit = np.zeros(n), np.zeros(n)
    hit_rows, hit_labels = [], []
    labels = res["indicator_label"].to_numpy(dtype=object)
    for crime_ind, rel in related.items():
        if crime_ind not in ind_id:
            continue
        rows = np.flatnonzero(ind_codes == ind_id[crime_ind])
        rows = rows[is_crime[rows]]
        base = key[rows] - ind_id[crime_ind]
        for s_ind in rel:
            if s_ind not in ind_id:
                continue
            want = base + ind_id[s_ind]
            at = np.clip(np.searchsorted(s_keys, want), 0, len(s_keys) - 1)
            found = s_keys[at] == want
            src = s_order[at[found]]
            tot[rows[found]] += 1
            sig = signal_by_row[src]
            hit[rows[found]] += sig
            hit_rows.append(rows[found][sig])
            hit_labels.append(labels[src[sig]])
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(tot > 0, hit / np.maximum(tot, 1), 0.0)
    if not hit_rows:
        return share, none
    return share, pd.DataFrame({"_row": np.concatenate(hit_rows), "related_label": np.concatenate(hit_labels)})


def _fmt(values: np.ndarray, decimals: int | None = None, signed: bool = False, unit=None, where=None) -> np.ndarray:
    """Swedish number texts for a float array ('–' for missing), rounded and with the decimals of
    :mod:`tmb_analysis.formatting`, so that the evidence text shows the same figures as the tables.

    ``decimals=None``: the decimals :func:`formatting.value_decimals` gives for each element's
    ``unit`` (array of 'percent'/'per_100k'), which also puts a percent sign after shares.
    ``where``: a boolean mask of the elements needed (the others are left '–'). Written without
    babel (one call per number would cost seconds over the country's ranked rows).
    """
    vals = np.asarray(values, dtype=float)
    out = np.full(len(vals), "–", dtype=object)
    need = np.isfinite(vals) if where is None else np.isfinite(vals) & np.asarray(where, dtype=bool)
    units = np.asarray(unit, dtype=object) if unit is not None else np.full(len(vals), None, dtype=object)
    for i in np.flatnonzero(need).tolist():
        d = int(decimals) if decimals is not None else F.value_decimals(vals[i], units[i])
        q = F._round(vals[i], d)
        text = f"{q:,.{d}f}".translate(_SV)
        out[i] = ("+" + text if signed and q > 0 else text) + (NBSP + "%" if units[i] == "percent" else "")
    return out


#: The tests an indicator's evidence rests on: (key, z column, noise of a redraw). ``own``: the
#: area's own value (one draw shared by the four benchmarks), ``pooled``: the pooled three years,
#: ``trend``: the trend statistic.
TESTS = (
    ("lan", "_z_lan", "own"),
    ("riket", "_z_riket", "own"),
    ("group", "_z_group", "own"),
    ("peers", "_z_peers", "own"),
    ("pooled", "_z_pooled", "pooled"),
    ("trend", "_z_trend", "trend"),
)
#: Swedish phrase and value column of each benchmark in the evidence text.
PHRASES = {
    "lan": ("övriga länet", "lan_rest_value"),
    "riket": ("riket", "riket_value"),
    "group": ("kommungruppen", "group_value"),
    "peers": ("liknande kommuner", "peers_value"),
}


def _num(df: pd.DataFrame, col: str, default=np.nan) -> np.ndarray:
    if col not in df:
        return np.full(len(df), default, dtype=float)
    return pd.to_numeric(df[col], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)


#: The columns the evidence, the score and the redraws read (a narrow copy of the candidate rows).
_READ = (
    [
        "area_code",
        "area_level",
        "indicator",
        "source_kind",
        "year",
        "worse",
        "value",
        "ci_low",
        "ci_high",
        "count",
        "population",
        "funnel_phi",
        "eb_value",
        "eb_weight",
        "eb_prior",
        "lan_value",
        "riket_value",
        "_pool_count",
        "_eb_m",
        "_df_trend",
        "trend",
    ]
    + [col for _, col, _ in TESTS]
    + ["_rho_" + key for key, _, _ in TESTS]
)


def _candidates(out: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    return out[[c for c in _READ if c in out.columns]].iloc[rows]


class _Evidence:
    """The tests of the candidate rows, worse-oriented, and how a redraw moves them."""

    def __init__(self, sub: pd.DataFrame, rows: np.ndarray, level: float):
        self.rows = rows
        self.sign = np.where((sub["worse"].astype(str) == "lower").to_numpy(), -1.0, 1.0)
        self.z = (
            np.column_stack([self.sign * _num(sub, col) for _, col, _ in TESTS])
            if len(rows)
            else np.zeros((0, len(TESTS)))
        )
        # The trend test compares the area's trend with riket's; it can count only where the area's own
        # trend, as the table shows it, is on the worse side too (never "ökar mer än riket" beside "ingen
        # tydlig trend"). Elsewhere it stays in the family of tests but can never reject.
        if len(rows) and "trend" in sub:
            own = np.where(self.sign > 0, "increasing", "decreasing")
            t = self.z[:, len(TESTS) - 1]
            t[np.isfinite(t) & (sub["trend"].astype(str).to_numpy() != own)] = -50.0  # p = 1, still one of the tests
        rho = [np.ones(len(rows)) if src == "trend" else _num(sub, "_rho_" + key, 1.0) for key, _, src in TESTS]
        self.rho = np.column_stack(rho) if len(rows) else np.zeros((0, len(TESTS)))
        self.rho = np.where(np.isfinite(self.rho), self.rho, 1.0)
        self.df = np.where(np.isfinite(_num(sub, "_df_trend", np.inf)), _num(sub, "_df_trend", np.inf), np.inf)
        self.alpha_side = (1 - level) / 2

    def p(self, z: np.ndarray) -> np.ndarray:
        """One-sided p-values on the worse side (t for the trend where its interval used t)."""
        p = special.ndtr(-z)
        trend = len(TESTS) - 1
        t_df = np.broadcast_to(self.df, z.shape[:-1])
        finite_df = np.isfinite(t_df)
        if finite_df.any():
            pt = p[..., trend]
            pt[finite_df] = special.stdtr(t_df[finite_df], -z[..., trend][finite_df])
        return p


def _ranks(group: np.ndarray, score: np.ndarray, harm: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Rank (1, 2, ...) of each entry within its group: score, then harm weight (both descending),
    then catalogue/table order."""
    order = np.lexsort((pos, -harm, -score, group))
    g = group[order]
    start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(g)]))
    rank = np.empty(len(g), dtype=np.int64)
    rank[order] = np.arange(len(g)) - first + 1
    return rank


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


def _evidence(sub, hits, funnel_hit, m_tests, concern, conf, stability, to_lan, fdr) -> np.ndarray:
    """The Swedish evidence text of each ranked row (docs/metod.md, section 11, has an example)."""
    unit = sub["unit"].astype(object).to_numpy()
    val = lambda col: _num(sub, col)  # noqa: E731
    value_t = _fmt(val("value"), unit=unit)
    lo_t, hi_t = _fmt(val("ci_low"), unit=unit), _fmt(val("ci_high"), unit=unit)
    bench_t = {key: _fmt(val(col), unit=unit, where=hits[:, j]) for j, (key, (_, col)) in enumerate(PHRASES.items())}
    lim_lo, lim_hi = (
        _fmt(val("riket_limit_low"), unit=unit, where=hits[:, 1]),
        _fmt(val("riket_limit_high"), unit=unit, where=hits[:, 1]),
    )
    pooled_t = _fmt(val("pooled_value"), unit=unit, where=hits[:, 4])
    trend_hit = hits[:, 5]
    tr_t = _fmt(np.abs(val("trend_pct_per_year")), 1, where=trend_hit)
    tr_lo = _fmt(val("trend_ci_low"), 1, signed=True, where=trend_hit)
    tr_hi = _fmt(val("trend_ci_high"), 1, signed=True, where=trend_hit)
    tr_r = _fmt(val("riket_trend_pct_per_year"), 1, signed=True, where=trend_hit)
    hw_t, score_t = _fmt(val("harm_weight"), 1), _fmt(val("priority_score"), 1)
    year, first = val("year"), val("trend_first_year")
    lower = (sub["worse"].astype(str) == "lower").to_numpy()
    labels = sub["indicator_label"].to_numpy(dtype=object)
    status = sub["status"].to_numpy(dtype=object)
    tunit = sub["trend_unit"].to_numpy(dtype=object) if "trend_unit" in sub else np.full(len(sub), "", dtype=object)
    years_t = (
        sub["pooled_years"].to_numpy(dtype=object) if "pooled_years" in sub else np.full(len(sub), "", dtype=object)
    )
    fdr_t = f"{fdr * 100:g}".replace(".", ",")
    texts = []
    for j in range(len(sub)):
        word = "Lägre" if lower[j] else "Högre"
        per100 = f" per 100{NBSP}000 invånare" if unit[j] == "per_100k" else ""
        parts = [
            f"{labels[j]} {int(year[j])}: {value_t[j]}{per100}"
            + (f" (95{NBSP}% KI {lo_t[j]}–{hi_t[j]})" if lo_t[j] != "–" and hi_t[j] != "–" else "")
            + "."
        ]
        benches = []
        for b, (key, (phrase, _)) in enumerate(PHRASES.items()):
            if not hits[j, b]:
                continue
            extra = bench_t[key][j] if bench_t[key][j] != "–" else ""
            if key == "riket" and lim_lo[j] != "–":
                extra += f"; gränserna för en kommun av denna storlek {lim_lo[j]}–{lim_hi[j]}"
            benches.append(phrase + (f" ({extra})" if extra else ""))
        if benches:
            joined = benches[0] if len(benches) == 1 else ", ".join(benches[:-1]) + " och " + benches[-1]
            parts.append(f"{word} än {joined}.")
        if hits[j, 4]:
            parts.append(f"{years_t[j]} sammantaget: {pooled_t[j]}{per100}, {word.lower()} än riket.")
        if trend_hit[j]:
            per = "procentenheter per år" if tunit[j] == "percentage_points_per_year" else "procent per år"
            span = f", {int(first[j])}–{int(year[j])}" if first[j] == first[j] else ""
            than_riket = (
                f", {'snabbare' if not lower[j] else 'mer'} än riket ({tr_r[j]} {per})" if tr_r[j] != "–" else ""
            )
            parts.append(
                f"{'Minskar' if lower[j] else 'Ökar'} med {tr_t[j]} {per} "
                f"(95{NBSP}% KI {tr_lo[j]} till {tr_hi[j]}{span}){than_riket}."
            )
        parts.append(
            f"Statistiskt säkerställt även när områdets alla {int(m_tests[j])} jämförelser prövas samtidigt "
            f"(högst {fdr_t}{NBSP}% falska upptäckter), med hänsyn till hur mycket tal varierar mellan år och "
            "kommuner."
        )
        if funnel_hit[j]:
            parts.append(f"Ligger {'under' if lower[j] else 'över'} 99,8{NBSP}%-gränsen i trattdiagrammet mot riket.")
        if to_lan[j]:
            parts.append("Storleken jämförs med länet: datalagret har bara länets kommuner.")
        if concern[j]:
            parts.append(f"Relaterad oro i NTU: {concern[j]}.")
        parts.append(f"Skadevikt {hw_t[j]}; poäng {score_t[j]}.")
        parts.append(f"{stability_text(stability[j])}.")
        parts.append(f"Underlagets styrka: {conf[j]}.")
        if status[j] == "preliminary":
            parts.append("Årets siffror är preliminära.")
        texts.append(" ".join(parts))
    return np.array(texts, dtype=object)


def stability_text(stability: float) -> str:
    """'Stannar bland de tre främsta i 87 av 100 omräkningar' (the share rounded to whole per cent)."""
    if stability is None or not np.isfinite(stability):
        return "Stabiliteten kunde inte beräknas"
    return (
        f"Stannar bland de tre främsta i {int(F._round(100 * float(stability), 0))} av 100 omräkningar av statistiken"
    )


def priorities_for(results: pd.DataFrame, area_code: str, year: int | None = None) -> pd.DataFrame:
    """The ranked priorities of one area, in rank order: its round (the table ranks one round per
    area, which may hold crime and NTU of two years), or those of ``year`` when given."""
    rows = results[(results["area_code"].astype(str) == str(area_code)) & results["priority_rank"].notna()]
    if year is not None:
        rows = rows[rows["year"] == year]
    elif (rows["priority_rank"] == 1).sum() > 1:  # ranked per year (no round): the latest year's
        rows = rows[rows["year"] == rows["year"].max()]
    return rows.sort_values("priority_rank")


# --------------------------------------------------------------------------- #
# The harm-weighted index
# --------------------------------------------------------------------------- #
def harm_index(
    results: pd.DataFrame,
    weights: dict[str, float] | None = None,
    indicators: list[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Harm-weighted crime index per area and year.

    ``harm_index = sum_i w_i * count_i / population * 100 000`` over the index indicators
    (``index`` in harm_weights.yaml: crime indicators that do not overlap), i.e. the
    weighted sum of the rates. The 95 % interval is that of Dobson et al. (1991) for a
    weighted sum of Poisson counts (:func:`statistics.dobson_ci`), with each count's variance
    multiplied by its indicator's overdispersion phi (the results table's ``funnel_phi``) where
    the table has it: ``V = sum w_i^2 phi_i y_i``. ``index_vs_riket`` is the
    index relative to riket's the same year (riket = 100); ``cmp_riket`` compares the
    interval with riket's index. An area-year lacking any index indicator's count or
    population gets NaN and ``reason``.
    """
    hw = weights if weights is not None else harm_weights()
    inds = indicators if indicators is not None else _index_indicators()
    cols = [
        "area_code",
        "area_name",
        "area_level",
        "year",
        "harm_index",
        "ci_low",
        "ci_high",
        "riket_index",
        "index_vs_riket",
        "cmp_riket",
        "n_indicators",
        "reason",
    ]
    crime = results[(results["source_kind"] == "crime") & results["indicator"].isin(inds)]
    if crime.empty or not inds:
        return pd.DataFrame(columns=cols)
    c = pd.to_numeric(crime["count"], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
    p = pd.to_numeric(crime["population"], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
    wt = crime["indicator"].map(hw).astype("float64").fillna(1.0).to_numpy()
    phi = _num(crime, "funnel_phi", 1.0)
    phi = np.where(np.isfinite(phi) & (phi > 1), phi, 1.0)
    ok = np.isfinite(c) & (c >= 0) & np.isfinite(p) & (p > 0)
    key = ["area_code", "area_name", "area_level", "year"]
    df = (
        crime[key + ["indicator"]]
        .reset_index(drop=True)
        .assign(
            ok=ok,
            wc=np.where(ok, wt * c, 0.0),
            w2c=np.where(ok, wt**2 * phi * c, 0.0),
            c=np.where(ok, c, 0.0),
            pop=np.where(ok, p, np.nan),
            w=wt,
        )
    )
    agg = (
        df.groupby(key, sort=False)
        .agg(
            n_ok=("ok", "sum"),
            wc=("wc", "sum"),
            w2c=("w2c", "sum"),
            c=("c", "sum"),
            pop=("pop", "max"),
            wmax=("w", "max"),
        )
        .reset_index()
    )
    ok_sets = df[df["ok"]].groupby(key, sort=False)["indicator"].agg(frozenset)
    agg["n_indicators"] = agg["n_ok"].astype(int)
    complete = agg["n_ok"].to_numpy() == len(set(inds))
    scale = np.where(complete, 100_000 / agg["pop"].to_numpy(dtype=float), np.nan)
    agg["harm_index"] = agg["wc"].to_numpy() * scale
    lo, hi = st.dobson_ci(agg["wc"].to_numpy(), agg["w2c"].to_numpy(), agg["c"].to_numpy(), alpha=alpha)
    zero = complete & (agg["c"].to_numpy() == 0)
    # No offence at all: the weighted sum is at most max(w) x the total count, whose exact
    # upper limit for a zero count is -log(alpha/2) (3.69 at 95 %).
    lo = np.where(zero, 0.0, lo)
    hi = np.where(zero, agg["wmax"].to_numpy() * st.poisson_rate_ci(0, 1, per=1, alpha=alpha)[1], hi)
    agg["ci_low"], agg["ci_high"] = lo * scale, hi * scale
    reason = np.full(len(agg), "", dtype=object)
    for i in np.flatnonzero(~complete):
        k = tuple(agg.loc[i, key])
        gone = sorted(set(inds) - set(ok_sets.get(k, frozenset())))
        reason[i] = "data saknas för: " + ", ".join(gone)
    reason[zero] = "inga anmälda brott i indexets indikatorer"
    agg["reason"] = reason
    riket = agg[agg["area_code"] == "00"].set_index("year")["harm_index"]
    agg["riket_index"] = agg["year"].map(riket).astype("float64")
    agg["index_vs_riket"] = agg["harm_index"] / agg["riket_index"] * 100
    bench = np.where(agg["area_code"].to_numpy() == "00", np.nan, agg["riket_index"].to_numpy(dtype=float))
    agg["cmp_riket"] = st.compare_to_benchmark(agg["ci_low"].to_numpy(), agg["ci_high"].to_numpy(), bench)
    return agg[cols].reset_index(drop=True)


# --------------------------------------------------------------------------- #
# Beyond the proposals: what to watch, and what a county shares
# --------------------------------------------------------------------------- #
def watch_list(results: pd.DataFrame, area_code: str, n: int = 3) -> pd.DataFrame:
    """The area's nearest candidates that are *not* proposals: the round's candidates that are not ranked
    but show at least one sign in the table (higher than a benchmark, or rising, one comparison at a time),
    by score. For a conversation when the statistics support fewer than three proposals; never worded as
    evidence (their adjusted p-value ``priority_q`` did not survive the multiplicity rule)."""
    rows = results[
        (results["area_code"].astype(str) == str(area_code))
        & results["priority_score"].notna()
        & results["priority_rank"].isna()
    ]
    if rows.empty:
        return rows
    lower = rows["worse"].astype(str).to_numpy() == "lower"
    bad_cmp = np.where(lower, "lower", "higher")
    bad_trend = np.where(lower, "decreasing", "increasing")
    sign = np.zeros(len(rows), dtype=bool)
    for col in ("cmp_lan", "cmp_riket", "cmp_group", "cmp_peers", "cmp_riket_pooled"):
        if col in rows:
            sign |= rows[col].astype(str).to_numpy() == bad_cmp
    sign |= rows["trend"].astype(str).to_numpy() == bad_trend
    return rows[sign].sort_values(["priority_score", "harm_weight"], ascending=False).head(n)


def shared_challenges(results: pd.DataFrame, lan_code: str, min_kommuner: int = 2) -> pd.DataFrame:
    """Indicators that several kommuner of a län share, weighted by harm and by evidence as the priorities
    are. Two tiers: ``tier`` 1, eligible (evidence that survives the multiplicity rule) in at least
    ``min_kommuner`` kommuner, ordered by the sum of their priority scores (harm weight^harm_power x
    evidence); ``tier`` 2, a sign one comparison at a time (or eligible) in at least a third of the kommuner
    (and ``min_kommuner``), not a tier-1 challenge, ordered the same way over those kommuner. Columns:
    ``indicator``, ``indicator_label``, ``harm_weight``, ``tier``, ``n_eligible``, ``eligible``, ``n_signs``,
    ``signs`` (kommuner with a sign but no eligible evidence), ``weight``, ``n_kommuner``."""
    cols = [
        "indicator",
        "indicator_label",
        "harm_weight",
        "tier",
        "n_eligible",
        "eligible",
        "n_signs",
        "signs",
        "weight",
        "n_kommuner",
    ]
    kom = results[
        (results["area_level"] == "kommun")
        & (results["lan_code"].astype(str) == str(lan_code))
        & results["priority_score"].notna()
    ]
    if kom.empty:
        return pd.DataFrame(columns=cols)
    n_k = kom["area_code"].nunique()
    eligible = kom["priority_eligible"].fillna(False).astype(bool).to_numpy()
    signed = kom.index.isin(pd.concat([watch_list(kom, c, n=len(kom)) for c in kom["area_code"].unique()]).index)
    out = []
    for (ind, label), at in kom.groupby(["indicator", "indicator_label"], sort=False).indices.items():
        g = kom.iloc[at]
        e, sg = eligible[at], signed[at] & ~eligible[at]
        n_e, n_s = int(e.sum()), int(sg.sum())
        if n_e >= min_kommuner:
            tier, weight = 1, float(g["priority_score"].to_numpy()[e].sum())
        elif n_e + n_s >= max(min_kommuner, -(-n_k // 3)):
            tier, weight = 2, float(g["priority_score"].to_numpy()[e | sg].sum())
        else:
            continue
        out.append(
            {
                "indicator": ind,
                "indicator_label": label,
                "harm_weight": float(g["harm_weight"].iloc[0]),
                "tier": tier,
                "n_eligible": n_e,
                "eligible": tuple(sorted(g["area_name"].to_numpy()[e])),
                "n_signs": n_s,
                "signs": tuple(sorted(g["area_name"].to_numpy()[sg])),
                "weight": weight,
                "n_kommuner": n_k,
            }
        )
    frame = pd.DataFrame(out, columns=cols)
    return frame.sort_values(["tier", "weight", "harm_weight"], ascending=[True, False, False]).reset_index(drop=True)
