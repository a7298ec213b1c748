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

from . import priorities as pr
from . import statistics as st
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
    # benchmark values and the similar-kommun comparisons
    "lan_value",
    "riket_value",
    "cmp_group",
    "group_title",
    "group_value",
    "cmp_peers",
    "peers_title",
    "peers_value",
    "cmp_reason",
    # trend details
    "trend_reason",
    "trend_unit",
    "trend_n_years",
    "trend_first_year",
    "trend_scale",
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
    # funnel plot against riket
    "funnel_riket",
    "funnel_phi",
    # priorities
    "harm_weight",
    "priority_points",
    "priority_score",
    "priority_eligible",
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
    membership (kommun x kommun) @ data (kommun x indicator-year).
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
    valid_c = use & crime & np.isfinite(c) & (c >= 0) & np.isfinite(p) & (p > 0)
    valid_s = use & ~crime & np.isfinite(s) & np.isfinite(nr) & (nr > 0)
    shape = (len(codes), len(key_uniq))
    num, den, has = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    num[a_idx[valid_c], key_codes[valid_c]] = c[valid_c]
    den[a_idx[valid_c], key_codes[valid_c]] = p[valid_c]
    num[a_idx[valid_s], key_codes[valid_s]] = s[valid_s] * nr[valid_s]
    den[a_idx[valid_s], key_codes[valid_s]] = nr[valid_s]
    has[a_idx[valid_c | valid_s], key_codes[valid_c | valid_s]] = 1.0
    min_members = int(cfg.get("min_members_with_data", 2))
    min_cov = float(cfg.get("min_coverage", 0.5))
    scale = np.where(crime, 100_000.0, 1.0)
    for kind in ("group", "peers"):
        sub = groups[groups["kind"] == kind]
        value = np.full(n, np.nan)
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
        g_num, g_den, g_has = m @ num, m @ den, m @ has
        rows = np.flatnonzero(use)
        ai, ki = a_idx[rows], key_codes[rows]
        n_mem, n_has = size[ai], g_has[ai, ki]
        with np.errstate(invalid="ignore", divide="ignore"):
            v = g_num[ai, ki] / g_den[ai, ki] * scale[rows]
        enough = (n_has >= min_members) & (n_has >= min_cov * n_mem) & (g_den[ai, ki] > 0)
        value[rows] = np.where(enough, v, np.nan)
        title_by_pos = np.array([subj.get(c, "") for c in codes], dtype=object)
        title[rows] = title_by_pos[a_idx[rows]]
        label = "kommungrupp" if kind == "group" else "liknande kommuner"
        short = np.flatnonzero(~enough & (n_mem > 0))
        few = np.full(len(rows), "", dtype=object)
        few[short] = [f"{label}: för få kommuner med data ({int(h)} av {int(t)})"
                      for h, t in zip(n_has[short], n_mem[short])]
        reason[rows] = np.where(n_mem == 0, f"{label}: grupp saknas", few)
        out[kind] = {"value": value, "title": title, "reason": reason}
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
def compute_results(store, settings: dict | None = None) -> pd.DataFrame:
    """Build the results table for every area and indicator in ``store``.

    ``settings`` overrides parts of ``config/analysis.yaml`` (same structure). Every
    statistic is explained in docs/metod.md; the contract columns come first
    (:data:`CONTRACT_COLUMNS`), then :data:`EXTRA_COLUMNS` and :data:`ANALYSIS_COLUMNS`.
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

    # ---- NTU uncertainty rule ------------------------------------------------
    unc = cfg["survey_uncertainty"]
    n_resp = _f(res["n_respondents"])
    width = hi - lo
    few_n = ~crime & np.isfinite(n_resp) & (n_resp < float(unc["min_respondents"]))
    wide = ~crime & np.isfinite(width) & (width > float(unc["max_ci_width_pp"]))
    res["too_uncertain"] = few_n | wide
    n_txt = np.full(len(res), "", dtype=object)
    n_txt[few_n] = [f"{int(v)} svarande, färre än {int(unc['min_respondents'])}" for v in n_resp[few_n].tolist()]
    w_txt = np.full(len(res), "", dtype=object)
    w_txt[wide] = [f"intervallet {v:.1f} procentenheter brett, mer än {float(unc['max_ci_width_pp']):g}".replace(".", ",")
                   for v in width[wide].tolist()]
    res["uncertainty_reason"] = _obj(_join(n_txt, w_txt), res)

    # ---- benchmarks: län and riket -------------------------------------------
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
    uncertain = res["too_uncertain"].to_numpy()
    own_ok = np.isfinite(lo) & np.isfinite(hi) & ~uncertain

    def compare(benchmark):
        out = st.compare_to_benchmark(lo, hi, benchmark)
        return np.where(uncertain, "unknown", out).astype(object)

    res["cmp_lan"] = _obj(compare(res["lan_value"].to_numpy()), res)
    res["cmp_riket"] = _obj(compare(res["riket_value"].to_numpy()), res)

    clock("uncertainty, län and riket")
    # ---- similar kommuner ----------------------------------------------------
    groups = similar_groups(store, cfg)
    gb = _group_benchmarks(res, groups, cfg["groups"])
    for kind in ("group", "peers"):
        res[f"{kind}_value"] = gb[kind]["value"]
        res[f"{kind}_title"] = _obj(gb[kind]["title"], res)
        res[f"cmp_{kind}"] = _obj(np.where(is_kommun, compare(gb[kind]["value"]), "unknown"), res)

    # ---- reasons for 'unknown' comparisons -----------------------------------
    n_rows = len(res)
    yr = res["year"].to_numpy()
    lan_v, riket_v = res["lan_value"].to_numpy(dtype=float), res["riket_value"].to_numpy(dtype=float)
    unc_txt = res["uncertainty_reason"].to_numpy(dtype=object)
    no_ci = ~uncertain & ~(np.isfinite(lo) & np.isfinite(hi))
    pieces: list[tuple[np.ndarray, object]] = [  # (mask, text or per-row text function)
        (uncertain, lambda i: "för osäkert: " + unc_txt[i]),
        (no_ci & crime, "konfidensintervall saknas (antal eller befolkning saknas)"),
        (no_ci & ~crime, "konfidensintervall saknas (varken publicerat intervall eller antal svarande)"),
        (is_riket, "riket är jämförelsenivån"),
        (level == "lan", "län jämförs bara med riket"),
        (own_ok & is_kommun & ~np.isfinite(lan_v), lambda i: f"länets värde saknas {yr[i]}"),
        (own_ok & ~is_riket & ~np.isfinite(riket_v), lambda i: f"rikets värde saknas {yr[i]}"),
        (own_ok & is_kommun & (gb["group"]["reason"] != ""), lambda i: gb["group"]["reason"][i]),
        (own_ok & is_kommun & (gb["peers"]["reason"] != ""), lambda i: gb["peers"]["reason"][i]),
    ]
    texts: dict[int, list[str]] = {}
    for mask, text in pieces:
        for i in np.flatnonzero(mask).tolist():
            texts.setdefault(i, []).append(text(i) if callable(text) else text)
    cmp_reason = np.full(n_rows, "", dtype=object)
    if texts:
        idx = np.fromiter(texts.keys(), dtype=np.int64, count=len(texts))
        cmp_reason[idx] = ["; ".join(texts[i]) for i in idx.tolist()]
    res["cmp_reason"] = _obj(cmp_reason, res)

    clock("similar kommuner and reasons")
    # ---- trends --------------------------------------------------------------
    tcfg = cfg["trend"]
    last_n, alpha = int(tcfg["last_n_years"]), float(tcfg["alpha"])
    first = tcfg.get("first_year", {})
    pooled = period_split(res)
    series = res.assign(_pooled=pooled).groupby(["area_code", "indicator", "_pooled"], sort=False).ngroup().to_numpy()
    years = res["year"].to_numpy(dtype=float)
    cols = {k: np.full(len(res), np.nan) for k in ("pct_per_year", "ci_low", "ci_high", "n_years", "scale", "first_year")}
    cols.update({k: np.full(len(res), "", dtype=object) for k in ("classification", "reason", "unit")})
    ci_ = np.flatnonzero(crime)
    si_ = np.flatnonzero(~crime & ~pooled)  # overlapping two-year periods give no trend
    cols["classification"][pooled] = "unknown"
    cols["reason"][pooled] = "sammanvägd tvåårsperiod: ingen trend beräknas"
    for rows, is_crime in ((ci_, True), (si_, False)):
        if not len(rows):
            continue
        if is_crime:
            cnt = np.where(years[rows] >= float(first.get("crime", -np.inf)), _f(res["count"])[rows], np.nan)
            t = st.poisson_trend_batch(series[rows], years[rows], cnt, _f(res["population"])[rows],
                                       last_n=last_n, alpha=alpha)
        else:
            shr = np.where(years[rows] >= float(first.get("survey", -np.inf)), value[rows], np.nan)
            t = st.share_trend_batch(series[rows], years[rows], shr, lo[rows], hi[rows], last_n=last_n, alpha=alpha)
        for k in cols:
            cols[k][rows] = t[k].to_numpy()
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

    clock("trends")
    _add_eb(res, cfg, is_kommun, crime, lo, hi, value)
    clock("empirical Bayes")
    _add_pooled(res, store, cfg, crime, series)
    clock("pooling")
    _add_funnel(res, cfg, crime)
    clock("funnel")
    res = pr.add_priorities(res)
    clock("priorities")
    out = res[RESULT_COLUMNS]  # drops the helper column _bench
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


def _add_eb(res, cfg, is_kommun, crime, lo, hi, value) -> None:
    """eb_value (prior: all kommuner in the store) and eb_lan_value (prior: the kommun's län)."""
    ecfg = cfg["empirical_bayes"]
    min_areas = int(ecfg.get("min_areas", 3))
    n = len(res)
    cols = {k: np.full(n, np.nan) for k in ("eb_value", "eb_ci_low", "eb_ci_high", "eb_weight",
                                             "eb_lan_value", "eb_lan_ci_low", "eb_lan_ci_high", "eb_prior_n")}
    prior = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    key = res.groupby(["indicator", "year", "period"], sort=False).ngroup().to_numpy().astype(np.int64)
    lan = pd.factorize(res["lan_code"])[0].astype(np.int64)
    c, p = _f(res["count"]), _f(res["population"])
    se = (hi - lo) / (2 * Z95)
    for kind_mask, is_crime in ((is_kommun & crime, True), (is_kommun & ~crime, False)):
        rows = np.flatnonzero(kind_mask)
        if not len(rows):
            continue
        for grp, prefix in ((key[rows], "eb_"), (key[rows] * 1000 + lan[rows], "eb_lan_")):
            if is_crime:
                e = st.eb_shrink_grouped(c[rows], p[rows], grp, min_areas=min_areas)
            else:
                e = st.eb_shrink_normal(value[rows], se[rows], grp, min_areas=min_areas)
            cols[prefix + "value"][rows] = e["eb_rate"].to_numpy()
            cols[prefix + "ci_low"][rows] = e["eb_low"].to_numpy()
            cols[prefix + "ci_high"][rows] = e["eb_high"].to_numpy()
            if prefix == "eb_":
                cols["eb_weight"][rows] = e["shrinkage_weight"].to_numpy()
                cols["eb_prior_n"][rows] = e["prior_n"].to_numpy()
                valid = np.isfinite(c[rows]) & (c[rows] >= 0) & (p[rows] > 0) if is_crime else np.isfinite(se[rows]) & (se[rows] > 0) & np.isfinite(value[rows])
                n_lan = pd.Series(lan[rows][valid]).groupby(pd.Series(grp[valid])).nunique()
                spans = pd.Series(grp).map(n_lan).fillna(0).to_numpy()
                prior[rows] = np.where(spans > 1, "riket", "lan")
                missing_txt = "antal eller befolkning saknas" if is_crime else "konfidensintervall saknas"
                reason[rows] = np.where(~valid, missing_txt,
                                        np.where(np.isfinite(e["eb_rate"].to_numpy()), "",
                                                 f"för få kommuner med data (färre än {min_areas})"))
    other = ~is_kommun
    cols["eb_value"][other] = res["_bench"].to_numpy(dtype=float)[other]
    cols["eb_ci_low"][other] = lo[other]
    cols["eb_ci_high"][other] = hi[other]
    cols["eb_weight"][other] = np.where(np.isfinite(value[other]), 1.0, np.nan)
    prior[other] = "ingen"
    reason[other] = "län och riket krymps inte (stor befolkning)"
    prior[is_kommun & ~np.isfinite(cols["eb_value"])] = ""
    for k, v in cols.items():
        res[k] = v
    res["eb_prior_n"] = pd.array(np.where(cols["eb_prior_n"] > 0, cols["eb_prior_n"], np.nan), dtype="Float64").astype("Int64")
    res["eb_prior"] = _obj(prior, res)
    res["eb_reason"] = _obj(reason, res)


def _add_pooled(res, store, cfg, crime, series) -> None:
    """Rates pooled over the last ``pooling.years`` years ending at each crime row's year."""
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
    missing_years = np.full(n, "", dtype=object)
    bad = np.flatnonzero(crime & ~complete)
    missing_years[bad] = [", ".join(str(y - lag) for lag, g in zip(range(k - 1, -1, -1), flags) if not g)
                          for y, flags in zip(year[bad].tolist(), zip(*(g[bad].tolist() for g in lacking)))]
    rate = np.where(complete, sum_c / np.where(complete, sum_p, 1.0) * 100_000, np.nan)
    low, high = st.poisson_rate_ci(np.where(complete, sum_c, np.nan), np.where(complete, sum_p, np.nan))
    res["pooled_value"] = rate
    res["pooled_ci_low"] = low
    res["pooled_ci_high"] = high
    span = (year - (k - 1)).astype(str).astype(object) + "–" + year.astype(str).astype(object)
    res["pooled_years"] = _obj(np.where(crime, span, ""), res)
    res["pooled_reason"] = _obj(np.where(~crime, "sammanvägning gäller anmälda brott",
                                         np.where(complete, "", "antal eller befolkning saknas för " + missing_years)), res)
    # small_area: kommuner below the population threshold (from the population table).
    pop = store.population[["area_code", "year", "population"]]
    pop_map = pd.Series(_f(pop["population"]), index=pd.MultiIndex.from_frame(pop[["area_code", "year"]].astype({"year": "int64"})))
    area_pop = pop_map.reindex(pd.MultiIndex.from_arrays([res["area_code"].to_numpy(), year])).to_numpy(dtype=float)
    res["small_area"] = (res["area_level"].to_numpy() == "kommun") & np.isfinite(area_pop) & (
        area_pop < float(pcfg.get("small_area_population", 20_000)))


def _add_funnel(res, cfg, crime) -> None:
    """funnel_riket: the area's position against the funnel around riket among areas of its level."""
    fcfg = cfg["funnel"]
    level_ = float(fcfg.get("level", 0.998))
    use_od = bool(fcfg.get("overdispersion", True))
    n = len(res)
    pos = np.full(n, "unknown", dtype=object)
    phi_all = np.full(n, np.nan)
    lev = res["area_level"].to_numpy()
    bench = _f(res["riket_value"])
    c, p, v, nr = _f(res["count"]), _f(res["population"]), _f(res["value"]), _f(res["n_respondents"])
    key = res.groupby(["area_level", "indicator", "year", "period"], sort=False, dropna=False).ngroup().to_numpy()
    applies = np.isin(lev, ["kommun", "lan"])
    for is_crime in (True, False):
        rows = np.flatnonzero(applies & (crime == is_crime))
        if not len(rows):
            continue
        if not use_od:
            ph = np.full(len(rows), np.nan)
        elif is_crime:
            ph = st.overdispersion_grouped(c[rows], p[rows], bench[rows], key[rows])
        else:
            ph = st.overdispersion_share_grouped(v[rows], nr[rows], bench[rows], key[rows])
        phi_all[rows] = np.where(ph > 1, ph, np.nan)
        if is_crime:
            pos[rows] = st.funnel_position(c[rows], p[rows], bench[rows], ph, level=level_)
        else:
            pos[rows] = st.funnel_position_share(v[rows], nr[rows], bench[rows], ph, level=level_)
    res["funnel_riket"] = _obj(pos, res)
    res["funnel_phi"] = phi_all


def funnel_data(
    results: pd.DataFrame,
    indicator: str,
    year: int,
    level: str = "kommun",
    lan_code: str | None = None,
    benchmark: str = "riket",
    overdispersion: bool = True,
    grid_points: int = 120,
) -> dict:
    """Everything a funnel chart needs for one indicator and year.

    Points: the areas of ``level`` (kommuner, optionally only those of ``lan_code``) with
    their size (population, or NTU respondents for shares), count and value. Benchmark:
    riket's value (or the län's with ``benchmark='lan'``); if that row is missing, the
    pooled value of the points. ``phi``: the Spiegelhalter (2005) overdispersion factor of
    the points around the benchmark. Returns a dict with

    * ``benchmark`` (float), ``benchmark_code``, ``unit``, ``phi`` (NaN if not > 1),
      ``level`` (0.95 and 0.998);
    * ``points``: DataFrame area_code, area_name, size, count, value, and the position
      (``above``/``below``/``within``/``unknown``) against each limit: ``pos_95``,
      ``pos_998`` (exact limits), ``pos_95_od``, ``pos_998_od`` (overdispersion-adjusted;
      equal to the exact ones when phi <= 1);
    * ``limits``: DataFrame on a size grid with ``population`` and ``lo_95, hi_95, lo_998,
      hi_998`` -- adjusted for overdispersion when ``overdispersion`` and phi > 1, exact
      otherwise -- plus the exact limits as ``*_exact`` and the adjusted as ``*_od``;
    * ``outliers``: the points outside the 99.8 % limits used in ``limits``.
    """
    data = results[(results["indicator"] == indicator) & (results["year"] == int(year))]
    unit = str(data["unit"].iloc[0]) if len(data) else "per_100k"
    pts = data[data["area_level"] == level]
    if lan_code is not None and level == "kommun":
        pts = pts[pts["area_code"].astype(str).str[:2] == str(lan_code)]
    share = unit == "percent"
    size = _f(pts["n_respondents"] if share else pts["population"])
    count = _f(pts["count"])
    val = _f(pts["value"])
    bcode = RIKET_CODE if benchmark == "riket" else str(lan_code)
    if benchmark not in ("riket", "lan") or (benchmark == "lan" and lan_code is None):
        raise ValueError("benchmark must be 'riket', or 'lan' with lan_code")
    brow = data[data["area_code"].astype(str) == bcode]
    bvalue = float(_f(brow["value"])[0]) if len(brow) else np.nan
    if len(brow) and not share:  # as in the results table: count / population where both exist
        bc, bp = float(_f(brow["count"])[0]), float(_f(brow["population"])[0])
        if np.isfinite(bc) and np.isfinite(bp) and bp > 0:
            bvalue = bc / bp * 100_000
    ok = np.isfinite(size) & (size > 0)
    if not np.isfinite(bvalue):
        bcode = ""
        if share:
            good = ok & np.isfinite(val)
            bvalue = float(np.sum(val[good] * size[good]) / np.sum(size[good])) if good.any() else np.nan
        else:
            good = ok & np.isfinite(count)
            bvalue = float(np.sum(count[good]) / np.sum(size[good]) * 100_000) if good.any() else np.nan
    phi = (st.estimate_overdispersion_share(val, size, bvalue) if share
           else st.estimate_overdispersion(count, size, bvalue))
    phi_used = phi if (np.isfinite(phi) and phi > 1) else np.nan

    def position(lvl, ph):
        if share:
            return st.funnel_position_share(val, size, bvalue, ph, level=lvl)
        return st.funnel_position(count, size, bvalue, ph, level=lvl)

    points = pd.DataFrame({
        "area_code": pts["area_code"].to_numpy(), "area_name": pts["area_name"].to_numpy(),
        "size": size, "count": count, "value": val,
        "pos_95": position(0.95, None), "pos_998": position(0.998, None),
        "pos_95_od": position(0.95, phi_used), "pos_998_od": position(0.998, phi_used),
    })
    if ok.any() and np.isfinite(bvalue):
        grid = np.unique(np.round(np.geomspace(max(size[ok].min() * 0.8, 10.0), size[ok].max() * 1.25, grid_points)))
    else:
        grid = np.array([], dtype=float)
    limit_fn = st.funnel_limits_share if share else st.funnel_limits
    exact = limit_fn(bvalue, grid, levels=(0.95, 0.998))
    od = limit_fn(bvalue, grid, levels=(0.95, 0.998), overdispersion_phi=phi_used)
    limits = pd.DataFrame({"population": grid})
    main = od if (overdispersion and np.isfinite(phi_used)) else exact
    for tag in ("lo_95", "hi_95", "lo_998", "hi_998"):
        limits[tag] = main[tag].to_numpy()
    for tag in ("lo_95", "hi_95", "lo_998", "hi_998"):
        limits[f"{tag}_exact"] = exact[tag].to_numpy()
        limits[f"{tag}_od"] = od[tag].to_numpy()
    col = "pos_998_od" if overdispersion else "pos_998"
    outliers = points[points[col].isin(["above", "below"])].reset_index(drop=True)
    return {
        "indicator": indicator, "year": int(year), "unit": unit, "benchmark": bvalue, "benchmark_code": bcode,
        "phi": phi_used, "overdispersion": bool(overdispersion and np.isfinite(phi_used)),
        "levels": (0.95, 0.998), "points": points, "limits": limits, "outliers": outliers,
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
