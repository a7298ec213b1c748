"""The results table: one row per area × indicator × year (CONTEXT.md §5).

Every build writes it to ``reports/data/indicators.csv``; the reports and the
analyst notebooks read the same frame, so the numbers are the same everywhere.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
from scipy import sparse

from . import periods
from . import priorities as pr
from . import statistics as st
from . import variation
from .catalogue import catalogue
from .geography import RIKET_CODE, registry

#: The contract columns, in order (CONTEXT.md §5), followed by our extensions.
CONTRACT_COLUMNS = [
    "area_code",
    "area_name",
    "area_level",
    "indicator",
    "indicator_label",
    "source_kind",
    "year",
    "value",
    "ci_low",
    "ci_high",
    "count",
    "population",
    "n_respondents",
    "cmp_lan",
    "cmp_riket",
    "trend_pct_per_year",
    "trend_ci_low",
    "trend_ci_high",
    "trend",
    "eb_value",
    "priority_rank",
    "priority_stability",
]
EXTRA_COLUMNS = ["lan_code", "theme", "unit", "status", "population_source", "source", "period", "benchmark_source"]
#: ``benchmark_source`` of a län or riket row: published by BRÅ, or computed here from a complete set of kommuner.
BENCHMARK_PUBLISHED = "publicerat"
BENCHMARK_DERIVED = "beräknat från kommunerna"
#: Columns added by the statistics (docs/metod.md explains each), after the contract and extras.
ANALYSIS_COLUMNS = [
    "worse",
    # uncertainty rule for NTU
    "too_uncertain",
    "uncertainty_reason",
    # benchmark values and the similar-kommun comparisons (the model: docs/metod.md, section 5)
    "lan_value",
    "lan_rest_value",
    "riket_value",
    "riket_limit_low",
    "riket_limit_high",
    "cmp_group",
    "group_title",
    "group_value",
    "cmp_peers",
    "peers_title",
    "peers_value",
    "cmp_reason",
    "model_tau2",
    "model_n_areas",
    "model_reason",
    # trend details
    "trend_reason",
    "trend_unit",
    "trend_n_years",
    "trend_first_year",
    "trend_scale",
    "riket_trend_pct_per_year",
    # empirical Bayes
    "eb_ci_low",
    "eb_ci_high",
    "eb_weight",
    "eb_prior",
    "eb_prior_n",
    "eb_lan_value",
    "eb_lan_ci_low",
    "eb_lan_ci_high",
    "eb_reason",
    # three-year pooling
    "pooled_value",
    "pooled_ci_low",
    "pooled_ci_high",
    "pooled_years",
    "pooled_reason",
    "small_area",
    "cmp_riket_pooled",
    # funnel plot against riket (phi: the model's within-kommun overdispersion)
    "funnel_riket",
    "funnel_phi",
    # priorities
    "harm_weight",
    "priority_points",
    "priority_score",
    "priority_eligible",
    "priority_q",
    "priority_basis",
    "priority_confidence",
    "priority_evidence",
]
RESULT_COLUMNS = CONTRACT_COLUMNS + EXTRA_COLUMNS + ANALYSIS_COLUMNS
COMPARISONS = ("higher", "lower", "similar", "unknown")
TRENDS = ("increasing", "decreasing", "no_clear_trend", "unknown")
FUNNEL_POSITIONS = ("above", "below", "within", "unknown")
Z95 = 1.959963984540054
#: Seconds spent in each phase of the last :func:`compute_results` call (for the benchmark).
LAST_TIMINGS: dict[str, float] = {}


def _crime_rows(store) -> pd.DataFrame:
    crime = store.crime.copy()
    pop = store.population[["area_code", "year", "population", "source"]].rename(columns={"source": "population_source"})
    crime = crime.merge(pop, on=["area_code", "year"], how="left")
    count = pd.to_numeric(crime["count"], errors="coerce").astype("float64")
    population = pd.to_numeric(crime["population"], errors="coerce").astype("float64")
    published = pd.to_numeric(crime["rate_per_100k"], errors="coerce").astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        computed = np.where(population > 0, count / population.where(population > 0) * 100_000, np.nan)
    crime["value"] = np.where(np.isfinite(published), published, computed)
    low, high = st.poisson_rate_ci(count.to_numpy(), population.to_numpy())
    crime["ci_low"], crime["ci_high"] = low, high
    crime["n_respondents"] = pd.NA
    crime["period"] = crime["year"].astype(str).astype(object)
    return crime


def _survey_rows(store) -> pd.DataFrame:
    survey = store.survey.copy()
    share = pd.to_numeric(survey["share_pct"], errors="coerce").astype("float64")
    low = pd.to_numeric(survey["ci_low_pct"], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
    high = pd.to_numeric(survey["ci_high_pct"], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
    n = pd.to_numeric(survey["n_respondents"], errors="coerce").astype("float64")
    w_low, w_high = st.wilson_share_ci(share.to_numpy(dtype=float, na_value=np.nan), n.to_numpy(dtype=float, na_value=np.nan))
    missing = ~np.isfinite(low) | ~np.isfinite(high)
    survey["value"] = share
    survey["ci_low"] = np.where(missing, w_low, low)
    survey["ci_high"] = np.where(missing, w_high, high)
    survey["count"] = pd.NA
    survey["population"] = pd.NA
    survey["population_source"] = pd.NA
    survey["status"] = "final"
    given = survey["period"] if "period" in survey else pd.Series(pd.NA, index=survey.index)
    survey["period"] = given.astype(object).where(given.notna(), survey["year"].astype(str)).astype(object)
    return survey


def _f(series) -> np.ndarray:
    """A column as a float ndarray (NaN for missing)."""
    return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)


def period_split(res: pd.DataFrame) -> np.ndarray:
    """True for the rows of pooled two-year NTU estimates (``period`` '2017–2018'), False for yearly rows.

    The statistics keep the two apart: a pooled value is compared only with a benchmark of the same
    period, pooled and yearly values are never in the same trend, shrinkage prior or funnel.
    """
    if "period" not in res:
        return np.zeros(len(res), dtype=bool)
    return (res["period"].astype(str).to_numpy() != res["year"].astype(str).to_numpy())


def _obj(values, like: pd.DataFrame) -> pd.Series:
    """A text column kept as Python objects (no costly conversion to Arrow strings)."""
    return pd.Series(np.asarray(values, dtype=object), index=like.index, dtype=object)


def _join(*parts: np.ndarray, sep: str = "; ") -> np.ndarray:
    """Join text arrays elementwise, skipping empty strings."""
    out = np.asarray(parts[0], dtype=object).copy()
    for p in parts[1:]:
        p = np.asarray(p, dtype=object)
        out = np.where(out == "", p, np.where(p == "", out, out + sep + p)).astype(object)
    return out


def _settings(settings: dict | None) -> dict:
    base = pr.analysis_config()
    for key, value in (settings or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key].update(value)
        else:
            base[key] = value
    return base


# --------------------------------------------------------------------------- #
# Similar-kommun groups
# --------------------------------------------------------------------------- #
def _year_in(text: str) -> int:
    years = re.findall(r"(?:19|20)\d\d", str(text))
    return max(int(y) for y in years) if years else 0


def similar_groups(store, settings: dict | None = None) -> pd.DataFrame:
    """Each kommun's comparison groups from ``store.groups`` (if the store has them).

    Returns one row per kommun and kind (``skr_kommungrupp`` -> column prefix ``group``,
    ``liknande_kommuner`` -> ``peers``) with ``area_code``, ``kind``, ``group_id``,
    ``group_title`` and ``members`` (a tuple of the other members' codes, the kommun itself
    left out). The choice among several groups follows ``groups`` in analysis.yaml.
    """
    cols = ["area_code", "kind", "group_id", "group_title", "members"]
    cfg = _settings(settings)["groups"]
    groups = getattr(store, "groups", None)
    if groups is None or not isinstance(groups, pd.DataFrame) or groups.empty:
        return pd.DataFrame(columns=cols)
    g = groups.copy()
    for col in ("group_id", "group_title", "group_kind", "area_code", "subject_code", "source"):
        if col not in g:
            g[col] = pd.NA
    g = g[g["area_code"].notna()]
    g["area_code"] = g["area_code"].astype(str)
    g["group_id"] = g["group_id"].astype(str)
    g["group_title"] = g["group_title"].fillna("").astype(str)
    g["source"] = g["source"].fillna("").astype(str)
    parts = []

    skr = g[g["group_kind"] == "skr_kommungrupp"][["group_id", "group_title", "source", "area_code"]]
    if len(skr):
        meta = skr.drop_duplicates("group_id").set_index("group_id")
        prefer = [str(p) for p in cfg.get("skr_prefer", [])]
        text = (meta["group_title"] + " " + meta["source"]).to_numpy(dtype=object)
        pref = np.array([next((i for i, p in enumerate(prefer) if p in t), len(prefer)) for t in text])
        size = skr.groupby("group_id")["area_code"].nunique()
        meta = meta.assign(_pref=pref, _size=size.reindex(meta.index).to_numpy())
        cand = skr[["area_code", "group_id"]].drop_duplicates().join(meta[["_pref", "_size", "group_title"]], on="group_id")
        best = cand.sort_values(["area_code", "_pref", "_size", "group_id"]).drop_duplicates("area_code")
        parts.append(best.assign(kind="group")[["area_code", "kind", "group_id", "group_title"]])

    lik = g[(g["group_kind"] == "liknande_kommuner") & g["subject_code"].notna()]
    if len(lik):
        lik = lik.assign(subject_code=lik["subject_code"].astype(str))
        meta = lik.drop_duplicates("group_id")[["group_id", "group_title", "subject_code"]]
        patterns = [re.compile(p) for p in cfg.get("peers_prefer", [])]
        titles = meta["group_title"].to_numpy(dtype=object)
        meta = meta.assign(
            _pref=[next((i for i, p in enumerate(patterns) if p.search(t)), len(patterns)) for t in titles],
            _year=[-_year_in(t) for t in titles])
        best = meta.sort_values(["subject_code", "_pref", "_year", "group_id"]).drop_duplicates("subject_code")
        best = best.rename(columns={"subject_code": "area_code"})
        parts.append(best.assign(kind="peers")[["area_code", "kind", "group_id", "group_title"]])

    if not parts:
        return pd.DataFrame(columns=cols)
    chosen = pd.concat(parts, ignore_index=True)
    members = g[g["group_id"].isin(set(chosen["group_id"]))].groupby("group_id")["area_code"].agg(
        lambda x: tuple(sorted(set(x))))
    chosen["members"] = [tuple(m for m in members.get(gid, ()) if m != code)
                         for code, gid in zip(chosen["area_code"], chosen["group_id"])]
    return chosen[cols].reset_index(drop=True)


def _group_benchmarks(res: pd.DataFrame, groups: pd.DataFrame, cfg: dict) -> dict[str, dict[str, np.ndarray]]:
    """Pooled value of each kommun's group members, per row, for both kinds of group.

    Crime: sum(count) / sum(population) x 100 000 over members with both. NTU: the
    respondent-weighted mean share over members with share and n. Dense matrix products:
    membership (kommun x kommun) @ data (kommun x indicator-year). Besides ``value``, ``title``
    and ``reason``, each kind gives the pieces of the benchmark's variance in the model
    (:mod:`tmb_analysis.variation`): ``var0`` (crime: ``100 000 / (4 sum population)``, to be
    multiplied by phi; NTU: ``sum n^2 se^2 / (sum n)^2``) and ``h`` (``sum n^2 / (sum n)^2``, the
    weight of the members' own between-area variation).
    """
    n = len(res)
    out = {}
    kom = (res["area_level"] == "kommun").to_numpy()
    area_codes, area_uniq = pd.factorize(res["area_code"])
    extra = sorted((set(groups["area_code"]) | {m for ms in groups["members"] for m in ms}) - set(area_uniq))
    codes = np.array(list(area_uniq) + extra, dtype=object)
    pos = {c: i for i, c in enumerate(codes)}
    key_codes, key_uniq = pd.factorize((pd.factorize(res["indicator"])[0].astype(np.int64) * 10_000 + res["year"].to_numpy()) * 2
                                       + period_split(res))
    a_idx = area_codes.astype(np.int64)
    use = kom & (a_idx >= 0)
    crime = (res["source_kind"] == "crime").to_numpy()
    c, p = _f(res["count"]), _f(res["population"])
    s, nr = _f(res["value"]), _f(res["n_respondents"])
    se = (_f(res["ci_high"]) - _f(res["ci_low"])) / (2 * Z95)
    valid_c = use & crime & np.isfinite(c) & (c >= 0) & np.isfinite(p) & (p > 0)
    valid_s = use & ~crime & np.isfinite(s) & np.isfinite(nr) & (nr > 0) & np.isfinite(se) & (se > 0)
    shape = (len(codes), len(key_uniq))
    num, den, has, sq, sqse = (np.zeros(shape) for _ in range(5))
    num[a_idx[valid_c], key_codes[valid_c]] = c[valid_c]
    den[a_idx[valid_c], key_codes[valid_c]] = p[valid_c]
    sq[a_idx[valid_c], key_codes[valid_c]] = p[valid_c] ** 2
    num[a_idx[valid_s], key_codes[valid_s]] = s[valid_s] * nr[valid_s]
    den[a_idx[valid_s], key_codes[valid_s]] = nr[valid_s]
    sq[a_idx[valid_s], key_codes[valid_s]] = nr[valid_s] ** 2
    sqse[a_idx[valid_s], key_codes[valid_s]] = (nr[valid_s] * se[valid_s]) ** 2
    has[a_idx[valid_c | valid_s], key_codes[valid_c | valid_s]] = 1.0
    min_members = int(cfg.get("min_members_with_data", 2))
    min_cov = float(cfg.get("min_coverage", 0.5))
    scale = np.where(crime, 100_000.0, 1.0)
    for kind in ("group", "peers"):
        sub = groups[groups["kind"] == kind]
        value, var0, h = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        title = np.full(n, "", dtype=object)
        reason = np.full(n, "", dtype=object)
        subj, ri, ci = {}, [], []
        for r in sub.itertuples(index=False):
            i = pos[r.area_code]
            ri += [i] * len(r.members)
            ci += [pos[mem] for mem in r.members]
            subj[r.area_code] = r.group_title
        m = sparse.csr_matrix((np.ones(len(ri)), (ri, ci)), shape=(len(codes), len(codes)))
        size = np.asarray(m.sum(axis=1)).ravel()
        g_num, g_den, g_has, g_sq, g_sqse = m @ num, m @ den, m @ has, m @ sq, m @ sqse
        rows = np.flatnonzero(use)
        ai, ki = a_idx[rows], key_codes[rows]
        n_mem, n_has = size[ai], g_has[ai, ki]
        with np.errstate(invalid="ignore", divide="ignore"):
            d = g_den[ai, ki]
            v = g_num[ai, ki] / d * scale[rows]
            v0 = np.where(crime[rows], 100_000.0 / (4 * d), g_sqse[ai, ki] / d**2)
            hh = g_sq[ai, ki] / d**2
        enough = (n_has >= min_members) & (n_has >= min_cov * n_mem) & (g_den[ai, ki] > 0)
        value[rows] = np.where(enough, v, np.nan)
        var0[rows] = np.where(enough, v0, np.nan)
        h[rows] = np.where(enough, hh, np.nan)
        title_by_pos = np.array([subj.get(c, "") for c in codes], dtype=object)
        title[rows] = title_by_pos[a_idx[rows]]
        label = "kommungrupp" if kind == "group" else "liknande kommuner"
        short = np.flatnonzero(~enough & (n_mem > 0))
        few = np.full(len(rows), "", dtype=object)
        few[short] = [f"{label}: för få kommuner med data ({int(h)} av {int(t)})"
                      for h, t in zip(n_has[short], n_mem[short])]
        reason[rows] = np.where(n_mem == 0, f"{label}: grupp saknas", few)
        out[kind] = {"value": value, "title": title, "reason": reason, "var0": var0, "h": h}
    return out


# --------------------------------------------------------------------------- #
# Benchmarks derived from complete sets of kommuner
# --------------------------------------------------------------------------- #
def add_derived_benchmarks(base: pd.DataFrame) -> pd.DataFrame:
    """``base`` (crime and survey rows, before any statistic) with län and riket crime rows computed
    from their kommuner where the store has no published row, and ``benchmark_source`` on every
    län and riket row (:data:`BENCHMARK_PUBLISHED` or :data:`BENCHMARK_DERIVED`; empty for kommuner).

    A län row is derived for an indicator and year only when *every* kommun of the län
    (``registry().kommuner(lan)``) has a count and a population: count = Σ counts, population =
    Σ populations, value = count / population × 100 000, with the exact Poisson interval of the
    summed count; riket likewise from all 290 kommuner. Nothing is derived from an incomplete set.
    The status is preliminary when any kommun's figure is. NTU shares are never derived: a share of
    the län is not the mean of its kommuner' shares (BRÅ weights its survey to the population, and the
    published kommun figures do not carry those weights), so no defensible rule exists.
    """
    reg = registry()
    base = base.copy()
    level = base["area_code"].astype(str).str.len().map({4: "kommun", 2: "lan"}).where(base["area_code"] != RIKET_CODE, "riket")
    base["benchmark_source"] = np.where(level == "kommun", "", BENCHMARK_PUBLISHED).astype(object)
    crime_ids = {i.id for i in catalogue().of_kind("crime")}
    c, p = _f(base["count"]), _f(base["population"])
    usable = ((level == "kommun") & base["indicator"].isin(crime_ids)).to_numpy() & np.isfinite(c) & (c >= 0) & (p > 0)
    kom = base[usable].assign(_c=c[usable], _p=p[usable], _prel=(base["status"][usable] == "preliminary").to_numpy())
    if kom.empty:
        return base
    lan_of = {a.code: a.lan_code for a in reg.kommuner()}
    size = {lan.code: len(reg.kommuner(lan.code)) for lan in reg.all_lan()}
    size[RIKET_CODE] = len(reg.kommuner())
    valued = base[np.isfinite(_f(base["value"])) & (level != "kommun").to_numpy()]
    have = pd.MultiIndex.from_arrays([valued["area_code"].to_numpy(dtype=object), valued["indicator"].to_numpy(dtype=object),
                                      valued["year"].to_numpy(dtype=np.int64)])
    derived = []
    for target in (kom["area_code"].map(lan_of).to_numpy(dtype=object), np.full(len(kom), RIKET_CODE, dtype=object)):
        wanted = ~pd.MultiIndex.from_arrays([target, kom["indicator"].to_numpy(dtype=object),
                                             kom["year"].to_numpy(dtype=np.int64)]).isin(have)
        if not wanted.any():  # every benchmark is published: nothing to derive
            continue
        g = kom[wanted].assign(_to=target[wanted]).groupby(["_to", "indicator", "year"])
        agg = g.agg(count=("_c", "sum"), population=("_p", "sum"), n=("area_code", "nunique"), prel=("_prel", "any"))
        agg = agg.reset_index()
        complete = agg["n"].to_numpy() == agg["_to"].map(size).to_numpy()
        keys = pd.MultiIndex.from_arrays([agg["_to"].to_numpy(dtype=object), agg["indicator"].to_numpy(dtype=object),
                                          agg["year"].to_numpy(dtype=np.int64)])
        derived.append(agg[complete & ~keys.isin(have)])
    new = pd.concat(derived, ignore_index=True) if derived else pd.DataFrame()
    if new.empty:
        return base
    low, high = st.poisson_rate_ci(new["count"].to_numpy(dtype=float), new["population"].to_numpy(dtype=float))
    rows = pd.DataFrame({
        "area_code": new["_to"].to_numpy(dtype=object), "year": new["year"].to_numpy(), "indicator": new["indicator"].to_numpy(),
        "value": new["count"].to_numpy() / new["population"].to_numpy() * 100_000, "ci_low": low, "ci_high": high,
        "count": new["count"].to_numpy(), "population": new["population"].to_numpy(), "n_respondents": pd.NA,
        "status": np.where(new["prel"], "preliminary", "final"), "population_source": "summa av kommunernas befolkning",
        "source": "beräknat från kommunerna", "period": new["year"].astype(str).to_numpy(dtype=object),
        "benchmark_source": BENCHMARK_DERIVED,
    })
    return pd.concat([base, rows], ignore_index=True)


# --------------------------------------------------------------------------- #
# The results table
# --------------------------------------------------------------------------- #
def compute_results(store, settings: dict | None = None, report_year: int | None = None) -> pd.DataFrame:
    """Build the results table for every area and indicator in ``store``.

    ``settings`` overrides parts of ``config/analysis.yaml`` (same structure). Every
    statistic is explained in docs/metod.md; the contract columns come first
    (:data:`CONTRACT_COLUMNS`), then :data:`EXTRA_COLUMNS` and :data:`ANALYSIS_COLUMNS`.
    Comparisons, trends, EB and funnel positions are computed for every row; the priority
    columns only for the rows of each area's round for ``report_year`` (None or 0: the latest
    year in the store; :func:`tmb_analysis.periods.round_mask`), the others are empty.
    """
    clock = _Clock()
    cfg = _settings(settings)
    reg = registry()
    cat = catalogue().frame()
    parts = [df for df in (_crime_rows(store), _survey_rows(store)) if len(df)]
    if not parts:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    keep = ["area_code", "year", "indicator", "value", "ci_low", "ci_high", "count", "population",
            "n_respondents", "status", "population_source", "source", "period"]
    res = add_derived_benchmarks(pd.concat([p[keep] for p in parts], ignore_index=True))
    res = res.merge(reg.frame(), on="area_code", how="left")
    res = res.merge(cat[["indicator", "indicator_label", "source_kind", "theme", "unit", "worse"]], on="indicator", how="left")
    res["year"] = res["year"].astype("int64")
    res["count"] = pd.to_numeric(res["count"], errors="coerce").astype("Int64")
    res["population"] = pd.to_numeric(res["population"], errors="coerce").round().astype("Int64")
    res["n_respondents"] = pd.to_numeric(res["n_respondents"], errors="coerce").astype("Int64")
    order = {code: i for i, code in enumerate(a.code for a in reg.areas())}
    ind_order = {ind: i for i, ind in enumerate(catalogue().ids)}
    res = res.assign(_a=res["area_code"].map(order), _i=res["indicator"].map(ind_order))
    res = res.sort_values(["_a", "_i", "year"]).drop(columns=["_a", "_i"]).reset_index(drop=True)

    clock("base table")
    level = res["area_level"].to_numpy()
    is_kommun, is_riket = level == "kommun", level == "riket"
    crime = (res["source_kind"] == "crime").to_numpy()
    lo, hi, value = _f(res["ci_low"]), _f(res["ci_high"]), _f(res["value"])

    first_year = variation.comparable_first_year(res, cat, cfg)
    comparable = res["year"].to_numpy() >= first_year

    # ---- NTU uncertainty rule: the published width -----------------------------
    unc = cfg["survey_uncertainty"]
    width = hi - lo
    wide = ~crime & np.isfinite(width) & (width > float(unc["max_ci_width_pp"]))
    res["too_uncertain"] = wide
    w_txt = np.full(len(res), "", dtype=object)
    w_txt[wide] = [f"intervallet {v:.1f} procentenheter brett, mer än {float(unc['max_ci_width_pp']):g}".replace(".", ",")
                   for v in width[wide].tolist()]
    res["uncertainty_reason"] = _obj(w_txt, res)

    # ---- benchmark values: län and riket ---------------------------------------
    # Benchmark values: the rate from count and population where both exist (BRÅ rounds its
    # published rates to whole numbers, which matters for rare crimes), else the published value.
    c_all, p_all = _f(res["count"]), _f(res["population"])
    with np.errstate(invalid="ignore", divide="ignore"):
        exact_rate = np.where(crime & np.isfinite(c_all) & (p_all > 0), c_all / p_all * 100_000, np.nan)
    res["_bench"] = np.where(np.isfinite(exact_rate), exact_rate, value)
    # a value is compared only with a benchmark of the same period: a pooled two-year NTU estimate
    # with the pooled benchmark, a yearly one with the yearly benchmark (see period_split)
    bench = res[["area_code", "indicator", "year", "period", "_bench"]].rename(columns={"_bench": "value"})
    lan_bench = bench.rename(columns={"area_code": "lan_code", "value": "lan_value"})
    res = res.merge(lan_bench, on=["lan_code", "indicator", "year", "period"], how="left")
    riket_bench = bench[bench["area_code"] == RIKET_CODE].drop(columns="area_code").rename(columns={"value": "riket_value"})
    res = res.merge(riket_bench, on=["indicator", "year", "period"], how="left")
    res["lan_value"] = np.where(is_kommun, _f(res["lan_value"]), np.nan)
    res["riket_value"] = np.where(~is_riket, _f(res["riket_value"]), np.nan)

    clock("uncertainty, län and riket")
    # ---- similar kommuner ----------------------------------------------------
    groups = similar_groups(store, cfg)
    gb = _group_benchmarks(res, groups, cfg["groups"])
    for kind in ("group", "peers"):
        res[f"{kind}_value"] = gb[kind]["value"]
        res[f"{kind}_title"] = _obj(gb[kind]["title"], res)
    clock("similar kommuner")

    # ---- the model: phi, tau2 and every comparison ----------------------------
    idx = variation.RowIndex(res)
    pooled = period_split(res)  # pooled two-year NTU estimates: never compared with yearly values
    phi_row = _add_model(res, idx, store, cfg, cat, crime, lo, hi, comparable, first_year, gb, pooled)
    clock("model")

    # ---- trends --------------------------------------------------------------
    tcfg = cfg["trend"]
    last_n, alpha = int(tcfg["last_n_years"]), float(tcfg["alpha"])
    series = res.assign(_pooled=pooled).groupby(["area_code", "indicator", "_pooled"], sort=False).ngroup().to_numpy()
    years = res["year"].to_numpy(dtype=float)
    cols = {k: np.full(len(res), np.nan) for k in ("pct_per_year", "ci_low", "ci_high", "n_years", "scale", "first_year",
                                                   "stat", "stat_df")}
    cols.update({k: np.full(len(res), "", dtype=object) for k in ("classification", "reason", "unit")})
    ci_ = np.flatnonzero(crime)
    si_ = np.flatnonzero(~crime & ~pooled)  # overlapping two-year periods give no trend
    cols["classification"][pooled] = "unknown"
    cols["reason"][pooled] = "sammanvägd tvåårsperiod: ingen trend beräknas"
    for rows, is_crime in ((ci_, True), (si_, False)):
        if not len(rows):
            continue
        if is_crime:
            cnt = np.where(comparable[rows], _f(res["count"])[rows], np.nan)
            t = st.poisson_trend_batch(series[rows], years[rows], cnt, _f(res["population"])[rows],
                                       last_n=last_n, alpha=alpha, min_scale=phi_row[rows])
        else:
            shr = np.where(comparable[rows], value[rows], np.nan)
            t = st.share_trend_batch(series[rows], years[rows], shr, lo[rows], hi[rows], last_n=last_n, alpha=alpha)
        for k in cols:
            cols[k][rows] = t[k].to_numpy()
    comp_from = variation.per_row(res["indicator"], {k: (np.nan if v is None else float(v)) for k, v in
                                                     zip(cat["indicator"], cat["comparable_from"])}).astype(float)
    broken = np.isfinite(comp_from) & (years - last_n + 1 < comp_from) & (cols["reason"] != "")
    if broken.any():  # the window was cut by a recording change: say so
        cols["reason"][broken] = [f"{r} (ändrad registrering: serien är jämförbar från {int(y)})"
                                  for r, y in zip(cols["reason"][broken], comp_from[broken])]
    res["trend_pct_per_year"] = cols["pct_per_year"]
    res["trend_ci_low"] = cols["ci_low"]
    res["trend_ci_high"] = cols["ci_high"]
    res["trend"] = _obj(cols["classification"], res)
    res["trend_reason"] = _obj(cols["reason"], res)
    res["trend_unit"] = _obj(cols["unit"], res)
    n_years = cols["n_years"]
    res["trend_n_years"] = pd.array(n_years, dtype="Float64").astype("Int64")
    res["trend_first_year"] = pd.array(np.where(n_years > 0, cols["first_year"], np.nan), dtype="Float64").astype("Int64")
    res["trend_scale"] = cols["scale"]
    res["_df_trend"] = cols["stat_df"]
    # The trend as evidence for a priority is the area's trend against riket's: an area that rises with
    # the country is not a local problem (and in the null simulation, where every kommun follows riket,
    # a national rise would otherwise flag the large kommuner). The table's `trend` stays the area's own.
    beta, se_b = st.trend_slope_and_se(cols["pct_per_year"], cols["ci_low"], cols["ci_high"], cols["stat_df"],
                                       percent=True)
    beta_s, se_s = st.trend_slope_and_se(cols["pct_per_year"], cols["ci_low"], cols["ci_high"], cols["stat_df"],
                                         percent=False)
    beta, se_b = np.where(crime, beta, beta_s), np.where(crime, se_b, se_s)
    r_area = idx.pos.get(RIKET_CODE, -1)
    r_row = idx.rows(np.full(len(res), r_area)) if r_area >= 0 else np.full(len(res), -1)
    has_r = r_row >= 0
    beta_r = np.where(has_r, beta[np.maximum(r_row, 0)], np.nan)
    se_r = np.where(has_r, se_b[np.maximum(r_row, 0)], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        z_rel = (beta - beta_r) / np.sqrt(se_b**2 + se_r**2)
    res["_z_trend"] = np.where(np.isfinite(z_rel) & ~is_riket, z_rel, cols["stat"])
    res["riket_trend_pct_per_year"] = np.where(is_riket, np.nan, np.where(has_r, cols["pct_per_year"][np.maximum(r_row, 0)],
                                                                         np.nan))

    clock("trends")
    _add_eb(res, cfg, is_kommun, crime, lo, hi, value, phi_row)
    clock("empirical Bayes")
    _add_pooled(res, idx, store, cfg, crime, series, first_year, comp_from, phi_row)
    clock("pooling")
    in_round = periods.round_mask(res, report_year)
    res = pr.add_priorities(res, round_mask=in_round, copy=False)
    clock("priorities")
    out = res[RESULT_COLUMNS]  # drops the helper columns (_bench, _z_*, ...)
    clock("output")
    LAST_TIMINGS.clear()
    LAST_TIMINGS.update(clock.laps)
    return out


class _Clock:
    def __init__(self):
        self.t = time.perf_counter()
        self.laps: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self.t
        self.t = now


def _add_eb(res, cfg, is_kommun, crime, lo, hi, value, phi_row) -> None:
    """eb_value (prior: all kommuner in the store) and eb_lan_value (prior: the kommun's län), for crime.

    Poisson-gamma with the counts' overdispersion: the model is fitted to ``count / phi`` and
    ``population / phi`` (a quasi-Poisson count), so the prior's variance is the between-kommun
    variance beyond phi x Poisson and a kommun is shrunk as much as its overdispersed noise asks.
    NTU shares are not shrunk: BRÅ's kommun estimates are already model-based (docs/metod.md).
    """
    ecfg = cfg["empirical_bayes"]
    min_areas = int(ecfg.get("min_areas", 3))
    n = len(res)
    cols = {k: np.full(n, np.nan) for k in ("eb_value", "eb_ci_low", "eb_ci_high", "eb_weight",
                                             "eb_lan_value", "eb_lan_ci_low", "eb_lan_ci_high", "eb_prior_n",
                                             "_eb_m")}
    prior = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    key = res.groupby(["indicator", "year", "period"], sort=False).ngroup().to_numpy().astype(np.int64)
    lan = pd.factorize(res["lan_code"])[0].astype(np.int64)
    c, p = _f(res["count"]), _f(res["population"])
    rows = np.flatnonzero(is_kommun & crime)
    if len(rows):
        ph = phi_row[rows]
        for grp, prefix in ((key[rows], "eb_"), (key[rows] * 1000 + lan[rows], "eb_lan_")):
            e = st.eb_shrink_grouped(c[rows] / ph, p[rows] / ph, grp, min_areas=min_areas)
            cols[prefix + "value"][rows] = e["eb_rate"].to_numpy()
            cols[prefix + "ci_low"][rows] = e["eb_low"].to_numpy()
            cols[prefix + "ci_high"][rows] = e["eb_high"].to_numpy()
            if prefix == "eb_":
                cols["eb_weight"][rows] = e["shrinkage_weight"].to_numpy()
                cols["eb_prior_n"][rows] = e["prior_n"].to_numpy()
                cols["_eb_m"][rows] = e["prior_mean"].to_numpy()
                valid = np.isfinite(c[rows]) & (c[rows] >= 0) & (p[rows] > 0)
                n_lan = pd.Series(lan[rows][valid]).groupby(pd.Series(grp[valid])).nunique()
                spans = pd.Series(grp).map(n_lan).fillna(0).to_numpy()
                prior[rows] = np.where(spans > 1, "riket", "lan")
                reason[rows] = np.where(~valid, "antal eller befolkning saknas",
                                        np.where(np.isfinite(e["eb_rate"].to_numpy()), "",
                                                 f"för få kommuner med data (färre än {min_areas})"))
    survey = is_kommun & ~crime
    other = ~is_kommun | survey
    cols["eb_value"][other] = np.where(crime[other], res["_bench"].to_numpy(dtype=float)[other], value[other])
    cols["eb_ci_low"][other] = lo[other]
    cols["eb_ci_high"][other] = hi[other]
    cols["eb_weight"][other] = np.where(np.isfinite(value[other]), 1.0, np.nan)
    prior[other] = "ingen"
    reason[~is_kommun] = "län och riket krymps inte (stor befolkning)"
    reason[survey] = "NTU-skattningen är redan modellbaserad (Brå) och krymps inte en gång till"
    prior[is_kommun & ~np.isfinite(cols["eb_value"])] = ""
    for k, v in cols.items():
        res[k] = v
    res["eb_prior_n"] = pd.array(np.where(cols["eb_prior_n"] > 0, cols["eb_prior_n"], np.nan), dtype="Float64").astype("Int64")
    res["eb_prior"] = _obj(prior, res)
    res["eb_reason"] = _obj(reason, res)


def _add_pooled(res, idx, store, cfg, crime, series, first_year, comp_from, phi_row) -> None:
    """Rates pooled over the last ``pooling.years`` years ending at each crime row's year, and the
    comparison of the pooled rate with riket's pooled rate (``cmp_riket_pooled``) by the model."""
    pcfg = cfg["pooling"]
    k = int(pcfg.get("years", 3))
    n = len(res)
    year = res["year"].to_numpy()
    c, p = _f(res["count"]), _f(res["population"])
    ok = crime & np.isfinite(c) & (c >= 0) & np.isfinite(p) & (p > 0)
    key = series.astype(np.int64) * 10_000 + year.astype(np.int64)
    crows = np.flatnonzero(crime)
    order = crows[np.argsort(key[crows], kind="stable")]
    sorted_keys = key[order]
    sum_c, sum_p = np.zeros(n), np.zeros(n)
    complete = crime.copy()
    lacking = []
    for lag in range(k - 1, -1, -1):
        want = key - lag
        if len(order):
            at = np.clip(np.searchsorted(sorted_keys, want), 0, len(order) - 1)
            src = order[at]
            good = crime & (sorted_keys[at] == want) & ok[src]
        else:
            src, good = np.arange(n), np.zeros(n, dtype=bool)
        complete &= good
        sum_c += np.where(good, c[src], 0.0)
        sum_p += np.where(good, p[src], 0.0)
        lacking.append(good)
    # no pooled rate spans a recording change (comparable_from) or the break of the national series
    start = year - (k - 1)
    crosses_ind = crime & np.isfinite(comp_from) & (start < comp_from)
    crosses = crime & (start < first_year)
    had_all = complete.copy()
    complete &= ~crosses
    missing_years = np.full(n, "", dtype=object)
    bad = np.flatnonzero(crime & ~had_all)
    missing_years[bad] = [", ".join(str(y - lag) for lag, g in zip(range(k - 1, -1, -1), flags) if not g)
                          for y, flags in zip(year[bad].tolist(), zip(*(g[bad].tolist() for g in lacking)))]
    rate = np.where(complete, sum_c / np.where(complete, sum_p, 1.0) * 100_000, np.nan)
    low, high = st.poisson_rate_ci(np.where(complete, sum_c, np.nan), np.where(complete, sum_p, np.nan))
    res["pooled_value"] = rate
    res["pooled_ci_low"] = low
    res["pooled_ci_high"] = high
    span = (year - (k - 1)).astype(str).astype(object) + "–" + year.astype(str).astype(object)
    res["pooled_years"] = _obj(np.where(crime, span, ""), res)
    reason = np.where(~crime, "sammanvägning gäller anmälda brott",
                      np.where(had_all, "", "antal eller befolkning saknas för " + missing_years)).astype(object)
    gen = np.flatnonzero(crosses & had_all & ~crosses_ind)
    reason[gen] = [f"åren före {int(f)} används inte (ett brott i Brås nationella serie)" for f in first_year[gen]]
    ind = np.flatnonzero(crosses_ind)
    reason[ind] = [f"ändrad registrering: serien är jämförbar från {int(y)}" for y in comp_from[ind]]
    res["pooled_reason"] = _obj(reason, res)
    # small_area: kommuner below the population threshold (from the population table).
    area_pop = variation.area_year_values(idx, store.population, "population")
    res["small_area"] = (res["area_level"].to_numpy() == "kommun") & np.isfinite(area_pop) & (
        area_pop < float(pcfg.get("small_area_population", 20_000)))
    # the pooled rate against riket's pooled rate, by the model
    level = res["area_level"].to_numpy()
    is_riket = level == "riket"
    r_rows = idx.rows(idx.pos.get(RIKET_CODE, -1))
    r_ok = variation.take(complete.astype(float), r_rows) == 1
    rc = np.where(r_ok, variation.take(sum_c, r_rows), np.nan)
    rp = np.where(r_ok, variation.take(sum_p, r_rows), np.nan)
    v_p, unit_p = st.sqrt_rate(np.where(complete, sum_c, np.nan), np.where(complete, sum_p, np.nan))
    v_r, unit_r = st.sqrt_rate(rc, rp)
    tau2 = _f(res["model_tau2"])
    z, sd = variation.standardised(v_p, phi_row * unit_p, tau2, v_r, phi_row * unit_r)
    applies = crime & ~is_riket & complete & np.isfinite(z)
    res["cmp_riket_pooled"] = _obj(np.where(applies, st.compare_z(z, float(cfg["model"].get("level", 0.95))), "unknown"), res)
    res["_z_pooled"] = np.where(applies, z, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        res["_rho_pooled"] = np.where(applies, np.sqrt(phi_row * unit_p) / sd, np.nan)
    res["_pool_count"] = np.where(complete, sum_c, np.nan)


def _add_model(res, idx, store, cfg, cat, crime, lo, hi, comparable, first_year, gb, pooled=None) -> np.ndarray:
    """Every comparison of the results table, by the model of :mod:`tmb_analysis.variation`.

    Sets ``cmp_lan`` (with the rest of the län), ``cmp_riket``, ``cmp_group``, ``cmp_peers``,
    ``lan_rest_value``, ``riket_limit_low``/``riket_limit_high`` (the 95 % funnel limits around riket
    at the area's own size), ``funnel_riket`` (the 99,8 % limits), ``funnel_phi``, ``model_tau2``,
    ``model_n_areas``, ``model_reason``, ``cmp_reason`` and the helper columns the priorities read
    (``_z_<benchmark>``: the standardised differences, ``_rho_<benchmark>``: the share of their
    standard deviation that is the area's own sampling noise). Returns phi per row (1 for NTU).
    """
    mcfg = cfg["model"]
    level_ = float(mcfg.get("level", 0.95))
    funnel_level = float(cfg["funnel"].get("level", 0.998))
    n = len(res)
    level = res["area_level"].to_numpy()
    is_kommun, is_riket, is_lan = level == "kommun", level == "riket", level == "lan"
    themes = pd.Series(dict(zip(cat["indicator"], cat["theme"])))
    c, p, value = _f(res["count"]), _f(res["population"]), _f(res["value"])
    uncertain = res["too_uncertain"].to_numpy()
    se = (hi - lo) / (2 * Z95)
    # each row on the comparison scale: the square root of the rate, or the share
    v_c, unit_c = st.sqrt_rate(c, p)
    stat = np.where(crime, v_c, value)
    var_unit = np.where(crime, unit_c, se**2)
    big = crime & ~is_kommun & ~np.isfinite(stat) & np.isfinite(value) & (value >= 0)
    stat[big] = np.sqrt(value[big])  # a län or riket rate published without its count: no sampling variance
    var_unit[big] = 0.0
    valid = np.isfinite(stat) & np.isfinite(var_unit) & (var_unit >= 0) & (crime | (se > 0))
    pooled = np.zeros(n, dtype=bool) if pooled is None else pooled
    usable = valid & comparable & ~uncertain & ~pooled  # a pooled two-year estimate is not a yearly one
    phi_map, phi_reason = variation.estimate_phi(res, usable, themes, mcfg)
    ind = res["indicator"]
    phi_row = np.where(crime, variation.per_row(ind, phi_map).astype(float), 1.0)
    phi_row = np.where(np.isfinite(phi_row), phi_row, 1.0)
    own_var = phi_row * var_unit
    riket_s, riket_v = variation.benchmark_rows(idx, stat, own_var, RIKET_CODE)
    ref = np.where(np.isfinite(riket_s), riket_s, stat)
    tau2, n_areas, t_reason = variation.estimate_tau2(res, idx, stat, own_var, usable & ~is_riket & (var_unit > 0),
                                                     crime, first_year, themes, mcfg, ref)
    weight_pop = np.where(crime, p, variation.area_year_values(idx, store.population, "population"))
    reg = registry()
    per_lan = {a.code: len(reg.kommuner(a.code)) for a in reg.all_lan()}
    rest = variation.lan_rest(res, idx, se**2, crime, usable, weight_pop, phi_row, per_lan)

    base_ok = usable & (is_kommun | is_lan)
    tests = {}
    z_r, sd_r = variation.standardised(stat, own_var, tau2, riket_s, riket_v)
    tests["riket"] = (z_r, sd_r, base_ok & np.isfinite(riket_s) & np.isfinite(riket_v))
    z_l, sd_l = variation.standardised(stat, own_var, tau2, rest["stat"], rest["var"], rest["h"])
    tests["lan"] = (z_l, sd_l, base_ok & is_kommun)
    for kind in ("group", "peers"):
        g_val = gb[kind]["value"]
        g_stat = np.where(crime, np.sqrt(np.maximum(g_val, 0)), g_val)
        g_var = np.where(crime, phi_row * gb[kind]["var0"], gb[kind]["var0"])
        z_g, sd_g = variation.standardised(stat, own_var, tau2, g_stat, g_var, gb[kind]["h"])
        tests[kind] = (z_g, sd_g, base_ok & is_kommun)
    for key, (z, sd, ok) in tests.items():
        ok = ok & np.isfinite(z)
        res[f"cmp_{key}"] = _obj(np.where(ok, st.compare_z(z, level_), "unknown"), res)
        res[f"_z_{key}"] = np.where(ok, z, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            res[f"_rho_{key}"] = np.where(ok, np.sqrt(own_var) / sd, np.nan)
    r_ok = res["_z_riket"].notna().to_numpy()
    res["funnel_riket"] = _obj(np.where(r_ok, st.funnel_label(z_r, funnel_level), "unknown"), res)
    with np.errstate(invalid="ignore"):
        lo_s, hi_s = riket_s - Z95 * sd_r, riket_s + Z95 * sd_r
    res["riket_limit_low"] = np.where(r_ok, np.where(crime, np.maximum(lo_s, 0) ** 2, np.clip(lo_s, 0, 100)), np.nan)
    res["riket_limit_high"] = np.where(r_ok, np.where(crime, hi_s**2, np.clip(hi_s, 0, 100)), np.nan)
    res["lan_rest_value"] = np.where(is_kommun, rest["value"], np.nan)
    res["funnel_phi"] = np.where(crime, phi_row, np.nan)
    res["model_tau2"] = np.where(is_kommun | is_lan, tau2, np.nan)
    res["model_n_areas"] = pd.array(np.where((is_kommun | is_lan) & np.isfinite(tau2), n_areas, np.nan),
                                    dtype="Float64").astype("Int64")
    p_txt = np.where(crime, variation.per_row(ind, phi_reason, ""), "")
    res["model_reason"] = _obj(np.where(is_kommun | is_lan, _join(p_txt, t_reason), ""), res)

    # ---- reasons for 'unknown' comparisons -----------------------------------
    yr = res["year"].to_numpy()
    lan_v = res["lan_value"].to_numpy(dtype=float)
    unc_txt = res["uncertainty_reason"].to_numpy(dtype=object)
    no_ci = ~uncertain & ~(np.isfinite(lo) & np.isfinite(hi))
    own_ok = valid & ~uncertain
    old = own_ok & ~comparable & ~is_riket
    pieces: list[tuple[np.ndarray, object]] = [  # (mask, text or per-row text function)
        (uncertain, lambda i: "för osäkert: " + unc_txt[i]),
        (no_ci & crime, "konfidensintervall saknas (antal eller befolkning saknas)"),
        (no_ci & ~crime, "konfidensintervall saknas (varken publicerat intervall eller antal svarande)"),
        (old, lambda i: f"ändrad registrering: serien är jämförbar från {int(first_year[i])}"),
        (own_ok & pooled, "sammanvägd tvåårsperiod: jämförs inte med årsvärden"),
        (is_riket, "riket är jämförelsenivån"),
        (is_lan, "län jämförs bara med riket"),
        (usable & is_kommun & ~np.isfinite(lan_v), lambda i: f"länets värde saknas {yr[i]}"),
        (usable & is_kommun & np.isfinite(lan_v) & (rest["reason"] != ""), lambda i: rest["reason"][i]),
        (usable & ~is_riket & ~np.isfinite(riket_s), lambda i: f"rikets värde saknas {yr[i]}"),
        (usable & is_kommun & (gb["group"]["reason"] != ""), lambda i: gb["group"]["reason"][i]),
        (usable & is_kommun & (gb["peers"]["reason"] != ""), lambda i: gb["peers"]["reason"][i]),
    ]
    texts: dict[int, list[str]] = {}
    for mask, text in pieces:
        for i in np.flatnonzero(mask).tolist():
            texts.setdefault(i, []).append(text(i) if callable(text) else text)
    cmp_reason = np.full(n, "", dtype=object)
    if texts:
        idx = np.fromiter(texts.keys(), dtype=np.int64, count=len(texts))
        cmp_reason[idx] = ["; ".join(texts[i]) for i in idx.tolist()]
    res["cmp_reason"] = _obj(cmp_reason, res)
    res["_stat"], res["_own_var"] = stat, own_var
    return phi_row


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
    decides the results table (:mod:`tmb_analysis.variation`), so that the chart and the table agree.

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
        raise ValueError("the funnel is drawn around riket: a kommun is compared with the rest of its län, "
                         "which no single funnel shows")
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
    size = st.effective_size(se, bvalue) if share else pop
    with np.errstate(invalid="ignore", divide="ignore"):
        own = np.where(np.isfinite(count) & (pop > 0), count / pop * 100_000, val) if not share else val

    def limits_at(sizes):
        if share:
            return st.share_limits(bvalue, bvar, sizes, tau2=tau2)
        return st.rate_limits(bvalue, bvar, sizes, phi=phi, tau2=tau2)

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
    points = pd.DataFrame({
        "area_code": pts["area_code"].to_numpy(), "area_name": pts["area_name"].to_numpy(),
        "size": size, "count": count, "value": val, "pos_95": pos["95"], "pos_998": pos["998"],
    })
    ok = np.isfinite(size) & (size > 0)
    if ok.any() and np.isfinite(bvalue):
        grid = np.unique(np.round(np.geomspace(max(size[ok].min() * 0.8, 10.0), size[ok].max() * 1.25, grid_points)))
    else:
        grid = np.array([], dtype=float)
    lim = limits_at(grid)
    outliers = points[points["pos_998"].isin(["above", "below"])].reset_index(drop=True)
    return {
        "indicator": indicator, "year": int(year), "unit": unit, "benchmark": bvalue, "benchmark_code": bcode,
        "phi": phi, "tau2": tau2, "model": model, "model_reason": reason,
        "size": "precision" if share else "population", "levels": (0.95, 0.998),
        "points": points, "limits": lim, "outliers": outliers,
    }


def neutralise_formula(text):
    """Prefix a text cell that Excel would read as a formula (=, +, -, @, tab, CR) with an apostrophe."""
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def write_results_csv(results: pd.DataFrame, path) -> None:
    """Write the results table for Swedish Excel: UTF-8 with BOM, ';', decimal comma.

    Text cells that Excel would take as formulas are neutralised; numbers stay numeric.
    """
    out = results.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_formula)
    out.to_csv(path, sep=";", decimal=",", index=False, encoding="utf-8-sig", float_format="%.6g", lineterminator="\r\n")
