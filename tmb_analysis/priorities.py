"""Harm weights, the harm-weighted index and the transparent priority score.

Configuration (YAML, never edited into code for a run):

* ``config/harm_weights.yaml``: a harm weight per indicator, with the reasoning behind each
  default, and the indicators of the harm-weighted index;
* ``config/priorities.yaml``: the weights of the priority score and the confidence rule;
* ``config/related_indicators.yaml``: the NTU indicators ("concern") related to each crime
  indicator;
* ``config/analysis.yaml``: the statistical settings of the results table (read by
  :mod:`tmb_analysis.indicators`).

The score, per area, year and indicator (docs/metod.md, "Prioriteringar")::

    score = harm_weight x (level + trend + funnel + magnitude + concern)

An indicator is *eligible* only with evidence: worse than at least one benchmark (län, riket,
SKR kommungrupp, liknande kommuner) or a worse trend. The three highest-scoring eligible
indicators of each kommun and year get ``priority_rank`` 1-3 with a Swedish evidence text and a
confidence (``stark`` / ``måttlig`` / ``svag``). Fewer than three is a valid answer.
"""

from __future__ import annotations

import copy
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import formatting as F
from . import statistics as st
from .configfiles import read_config

__all__ = [
    "CONFIDENCE_LEVELS",
    "load_config",
    "analysis_config",
    "harm_weights",
    "priority_config",
    "related_indicators",
    "add_priorities",
    "priorities_for",
    "harm_index",
]

CONFIDENCE_LEVELS = ("stark", "måttlig", "svag")
NBSP, MINUS = F.NBSP, F.MINUS

BENCHMARKS = (  # column, key in priorities.yaml, Swedish phrase, value column
    ("cmp_lan", "lan", "länet", "lan_value"),
    ("cmp_riket", "riket", "riket", "riket_value"),
    ("cmp_group", "group", "kommungruppen", "group_value"),
    ("cmp_peers", "peers", "liknande kommuner", "peers_value"),
)


# --------------------------------------------------------------------------- #
# Configuration
# --------------------------------------------------------------------------- #
def load_config(name: str, path: str | Path | None = None) -> dict:
    """Read ``config/<name>.yaml`` from the package, or the YAML file at ``path``."""
    return read_config(name, path)[0]


@lru_cache(maxsize=None)
def _cached(name: str) -> dict:
    return load_config(name)


def analysis_config() -> dict:
    """``config/analysis.yaml`` (a copy: change it freely)."""
    return copy.deepcopy(_cached("analysis"))


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


def _concern(res: pd.DataFrame, related: dict[str, list[str]]) -> tuple[np.ndarray, pd.DataFrame]:
    """Per row: the share of related NTU indicators that signal concern (and the signalling pairs).

    A related NTU indicator signals concern for the same area and year when it is worse than
    the län or riket, or its trend is worse. Rows without related indicators with data get 0.
    The second value lists the signalling pairs (columns ``_row``, ``related_label``).
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
    key = (area_id * 10_000 + res["year"].to_numpy().astype(np.int64)) * 1_000 + ind_codes.astype(np.int64)
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


def add_priorities(
    res: pd.DataFrame,
    config: dict | None = None,
    weights: dict[str, float] | None = None,
    related: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Add ``harm_weight``, the score and ``priority_rank`` 1-3 with evidence to the results table.

    ``res`` must hold the columns that :func:`tmb_analysis.indicators.compute_results` builds
    before this step (comparisons, trend, EB, funnel, benchmark values, ``worse``). Columns
    added (or replaced): ``harm_weight``, ``priority_points``, ``priority_score``,
    ``priority_eligible``, ``priority_rank`` (Int64, 1..max_rank or <NA>),
    ``priority_confidence`` and ``priority_evidence`` (text for ranked rows, else None).
    ``priority_score`` is NaN for rows that are never candidates (riket, excluded indicators).
    """
    cfg = config if config is not None else priority_config()
    hw = weights if weights is not None else harm_weights()
    rel = related if related is not None else related_indicators()
    w = cfg.get("weights", {})
    wl = w.get("level", {})
    out = res.copy()
    n = len(out)
    out["harm_weight"] = out["indicator"].map(hw).astype("float64").fillna(1.0)
    cmp_bad, trend_bad, funnel_bad = _worse_labels(out["worse"])

    level = np.zeros(n)
    n_level = np.zeros(n, dtype=np.int64)
    for col, key, _, _ in BENCHMARKS:
        hit = out[col].to_numpy() == cmp_bad if col in out else np.zeros(n, bool)
        level += float(wl.get(key, 0.0)) * hit
        n_level += hit
    trend_hit = out["trend"].to_numpy() == trend_bad
    funnel_hit = out["funnel_riket"].to_numpy() == funnel_bad if "funnel_riket" in out else np.zeros(n, bool)

    basis = pd.to_numeric(out["eb_value"], errors="coerce").to_numpy(dtype=float)
    basis = np.where(np.isfinite(basis), basis, pd.to_numeric(out["value"], errors="coerce").to_numpy(dtype=float))
    riket = pd.to_numeric(out["riket_value"], errors="coerce").to_numpy(dtype=float)
    lower_worse = (out["worse"].astype(str) == "lower").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(lower_worse, riket / basis, basis / riket)
        mag = np.log2(ratio)
    mag = np.where(np.isfinite(mag), np.clip(mag, 0.0, float(w.get("magnitude_cap", 2.0))), 0.0)

    concern_share, concern_hits = _concern(out, rel)

    points = n_level + trend_hit + funnel_hit
    eligible = (n_level > 0) | trend_hit
    candidate = (
        out["area_level"].isin(cfg.get("levels", ["kommun", "lan"])).to_numpy()
        & out["source_kind"].isin(cfg.get("rank_source_kinds", ["crime", "survey"])).to_numpy()
        & ~out["indicator"].isin(cfg.get("exclude", [])).to_numpy()
    )
    raw = (level + float(w.get("trend", 1.0)) * trend_hit + float(w.get("funnel", 0.0)) * funnel_hit
           + float(w.get("magnitude", 0.0)) * mag + float(w.get("concern", 0.0)) * concern_share)
    score = out["harm_weight"].to_numpy() * raw
    applies = candidate
    out["priority_points"] = pd.array(np.where(applies, points, np.nan), dtype="Float64").astype("Int64")
    out["priority_score"] = np.where(applies, score, np.nan)
    out["priority_eligible"] = applies & eligible

    # Rank within area and year: score, then harm weight, then catalogue order (row order).
    max_rank = int(cfg.get("max_rank", 3))
    ranked = out.loc[out["priority_eligible"], ["area_code", "year", "priority_score", "harm_weight"]]
    ranked = ranked.assign(_pos=np.arange(len(out))[out["priority_eligible"].to_numpy()])
    ranked = ranked.sort_values(["area_code", "year", "priority_score", "harm_weight", "_pos"],
                                ascending=[True, True, False, False, True], kind="stable")
    rank = ranked.groupby(["area_code", "year"], sort=False).cumcount() + 1
    keep = rank <= max_rank
    rank_arr = np.full(n, np.nan)
    rank_arr[ranked["_pos"].to_numpy()[keep.to_numpy()]] = rank[keep].to_numpy()
    out["priority_rank"] = pd.array(rank_arr, dtype="Float64").astype("Int64")

    # Confidence and evidence text for the ranked rows.
    confidence = np.full(n, None, dtype=object)
    evidence = np.full(n, None, dtype=object)
    pos = np.flatnonzero(out["priority_rank"].notna().to_numpy())
    if len(pos):
        sub = {c: out[c].to_numpy()[pos] for c in _EVIDENCE_TEXT_COLUMNS if c in out.columns}
        num = {c: pd.to_numeric(out[c].iloc[pos], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
               for c in _EVIDENCE_NUMBER_COLUMNS if c in out.columns}
        conf, why = _confidence(sub, num, points[pos], cfg.get("confidence", {}), cmp_bad[pos])
        hits = concern_hits[concern_hits["_row"].isin(pos)]
        labels: dict[int, list[str]] = {}
        for row, lab in zip(hits["_row"].to_numpy(), hits["related_label"].to_numpy()):
            labels.setdefault(int(row), []).append(str(lab))
        concern_txt = np.array(["; ".join(labels.get(int(i), [])) for i in pos], dtype=object)
        text = _evidence(sub, num, cmp_bad[pos], trend_bad[pos], funnel_bad[pos], trend_hit[pos], funnel_hit[pos],
                         concern_txt, conf, why)
        confidence[pos] = conf
        evidence[pos] = text
    out["priority_confidence"] = pd.Series(confidence, index=out.index, dtype=object)
    out["priority_evidence"] = pd.Series(evidence, index=out.index, dtype=object)
    return out


_EVIDENCE_TEXT_COLUMNS = ["indicator_label", "source_kind", "area_level", "unit", "status", "cmp_lan", "cmp_riket",
                          "cmp_group", "cmp_peers", "trend_unit"]
_EVIDENCE_NUMBER_COLUMNS = ["year", "value", "ci_low", "ci_high", "count", "n_respondents", "lan_value", "riket_value",
                            "group_value", "peers_value", "eb_value", "trend_pct_per_year", "trend_ci_low",
                            "trend_ci_high", "trend_first_year", "harm_weight", "priority_score"]


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


def _confidence(sub, num, points, cfg: dict, cmp_bad) -> tuple[np.ndarray, np.ndarray]:
    """``stark`` / ``måttlig`` / ``svag`` from the evidence points, one step down for small numbers.

    Returns the confidence and the reason for a step down ('' when none).
    """
    step = np.where(points >= int(cfg.get("stark", 3)), 0, np.where(points >= int(cfg.get("maattlig", 2)), 1, 2))
    crime = sub["source_kind"] == "crime"
    count, n_resp = num["count"], num["n_respondents"]
    why = np.full(len(step), "", dtype=object)
    few = crime & (count < float(cfg.get("min_count", 20)))
    why[few] = [f"få fall ({int(c)} anmälda brott)" for c in count[few]]
    if cfg.get("eb_must_confirm", True):
        eb, rk = num["eb_value"], num["riket_value"]
        with np.errstate(invalid="ignore"):
            not_confirmed = np.where(cmp_bad == "higher", eb <= rk, eb >= rk)
        unconf = (crime & ~few & (sub["area_level"] == "kommun") & (sub["cmp_riket"] == cmp_bad)
                  & np.isfinite(eb) & np.isfinite(rk) & not_confirmed)
        why[unconf] = "det krympta värdet (empirisk Bayes) ligger inte över riket"
    small_n = ~crime & (n_resp < float(cfg.get("min_respondents", 300)))
    why[small_n] = [f"få svarande i NTU ({int(v)})" for v in n_resp[small_n]]
    step = np.minimum(step + (why != ""), 2)
    return np.array(CONFIDENCE_LEVELS, dtype=object)[step], why


def _evidence(sub, num, cmp_bad, trend_bad, funnel_bad, trend_hit, funnel_hit, concern, conf, why) -> np.ndarray:
    """The Swedish evidence text of each ranked row (see docs/metod.md for an example)."""
    unit = sub["unit"].astype(object)
    value_t = _fmt(num["value"], unit=unit)
    lo_t, hi_t = _fmt(num["ci_low"], unit=unit), _fmt(num["ci_high"], unit=unit)
    bench_t = {key: _fmt(num[vcol], unit=unit, where=sub[col] == cmp_bad) if col in sub else np.full(len(unit), "–")
               for col, key, _, vcol in BENCHMARKS}
    tr_t = _fmt(np.abs(num["trend_pct_per_year"]), 1, where=trend_hit)
    tr_lo = _fmt(num["trend_ci_low"], 1, signed=True, where=trend_hit)
    tr_hi = _fmt(num["trend_ci_high"], 1, signed=True, where=trend_hit)
    hw_t, score_t = _fmt(num["harm_weight"], 1), _fmt(num["priority_score"], 1)
    year, first = num["year"], num["trend_first_year"]
    texts = []
    for j in range(len(value_t)):
        higher = cmp_bad[j] == "higher"
        parts = [f"{sub['indicator_label'][j]} {int(year[j])}: {value_t[j]}"
                 + (f" per 100{NBSP}000 invånare" if unit[j] == "per_100k" else "")
                 + (f" (95{NBSP}% KI {lo_t[j]}–{hi_t[j]})" if lo_t[j] != "–" and hi_t[j] != "–" else "") + "."]
        benches = [phrase + (f" ({bench_t[key][j]})" if bench_t[key][j] != "–" else "")
                   for col, key, phrase, _ in BENCHMARKS if col in sub and sub[col][j] == cmp_bad[j]]
        if benches:
            joined = benches[0] if len(benches) == 1 else ", ".join(benches[:-1]) + " och " + benches[-1]
            parts.append(f"{'Högre' if higher else 'Lägre'} än {joined}: hela konfidensintervallet ligger "
                         f"{'över' if higher else 'under'} jämförelsevärdet.")
        if trend_hit[j]:
            per = "procentenheter per år" if sub["trend_unit"][j] == "percentage_points_per_year" else "procent per år"
            span = f", {int(first[j])}–{int(year[j])}" if first[j] == first[j] else ""
            parts.append(f"{'Ökar' if trend_bad[j] == 'increasing' else 'Minskar'} med {tr_t[j]} {per} "
                         f"(95{NBSP}% KI {tr_lo[j]} till {tr_hi[j]}{span}).")
        if funnel_hit[j]:
            parts.append(f"Ligger {'över' if funnel_bad[j] == 'above' else 'under'} 99,8{NBSP}%-gränsen "
                         "i trattdiagrammet mot riket.")
        if concern[j]:
            parts.append(f"Relaterad oro i NTU: {concern[j]}.")
        parts.append(f"Skadevikt {hw_t[j]}; poäng {score_t[j]}.")
        parts.append(f"Underlagets styrka: {conf[j]}" + (f" (sänkt ett steg: {why[j]})" if why[j] else "") + ".")
        if sub["status"][j] == "preliminary":
            parts.append("Årets siffror är preliminära.")
        texts.append(" ".join(parts))
    return np.array(texts, dtype=object)


def priorities_for(results: pd.DataFrame, area_code: str, year: int | None = None) -> pd.DataFrame:
    """The ranked priorities of one area (latest year with data unless ``year``), in rank order."""
    rows = results[results["area_code"].astype(str) == str(area_code)]
    if rows.empty:
        return rows
    if year is None:
        year = int(rows["year"].max())
    rows = rows[(rows["year"] == year) & rows["priority_rank"].notna()]
    return rows.sort_values("priority_rank")


# --------------------------------------------------------------------------- #
# The harm-weighted index
# --------------------------------------------------------------------------- #
def harm_index(results: pd.DataFrame, weights: dict[str, float] | None = None,
               indicators: list[str] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Harm-weighted crime index per area and year.

    ``harm_index = sum_i w_i * count_i / population * 100 000`` over the index indicators
    (``index`` in harm_weights.yaml: crime indicators that do not overlap), i.e. the
    weighted sum of the rates. The 95 % interval is that of Dobson et al. (1991) for a
    weighted sum of Poisson counts (:func:`statistics.dobson_ci`). ``index_vs_riket`` is the
    index relative to riket's the same year (riket = 100); ``cmp_riket`` compares the
    interval with riket's index. An area-year lacking any index indicator's count or
    population gets NaN and ``reason``.
    """
    hw = weights if weights is not None else harm_weights()
    inds = indicators if indicators is not None else _index_indicators()
    cols = ["area_code", "area_name", "area_level", "year", "harm_index", "ci_low", "ci_high",
            "riket_index", "index_vs_riket", "cmp_riket", "n_indicators", "reason"]
    crime = results[(results["source_kind"] == "crime") & results["indicator"].isin(inds)]
    if crime.empty or not inds:
        return pd.DataFrame(columns=cols)
    c = pd.to_numeric(crime["count"], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
    p = pd.to_numeric(crime["population"], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
    wt = crime["indicator"].map(hw).astype("float64").fillna(1.0).to_numpy()
    ok = np.isfinite(c) & (c >= 0) & np.isfinite(p) & (p > 0)
    key = ["area_code", "area_name", "area_level", "year"]
    df = crime[key + ["indicator"]].reset_index(drop=True).assign(
        ok=ok, wc=np.where(ok, wt * c, 0.0), w2c=np.where(ok, wt**2 * c, 0.0), c=np.where(ok, c, 0.0),
        pop=np.where(ok, p, np.nan), w=wt)
    agg = df.groupby(key, sort=False).agg(
        n_ok=("ok", "sum"), wc=("wc", "sum"), w2c=("w2c", "sum"), c=("c", "sum"), pop=("pop", "max"),
        wmax=("w", "max")).reset_index()
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
