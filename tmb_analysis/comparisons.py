"""Every comparison, shrunk value and pooled rate of the results table: the statistics applied to its rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import statistics as st
from .geography import RIKET_CODE, registry
from .statistics import variation
from .statistics._arrays import floats as _f
from .statistics.intervals import Z95


def text_column(values, like: pd.DataFrame) -> pd.Series:
    """A text column kept as Python objects (no costly conversion to Arrow strings)."""
    return pd.Series(np.asarray(values, dtype=object), index=like.index, dtype=object)


def join_texts(*parts: np.ndarray, sep: str = "; ") -> np.ndarray:
    """Join text arrays elementwise, skipping empty strings."""
    out = np.asarray(parts[0], dtype=object).copy()
    for p in parts[1:]:
        p = np.asarray(p, dtype=object)
        out = np.where(out == "", p, np.where(p == "", out, out + sep + p)).astype(object)
    return out


def add_shrinkage(res, cfg, is_kommun, crime, lo, hi, value, phi_row) -> None:
    """eb_value (prior: all kommuner in the store) and eb_lan_value (prior: the kommun's län), for crime.

    Poisson-gamma with the counts' overdispersion: the model is fitted to ``count / phi`` and
    ``population / phi`` (a quasi-Poisson count), so the prior's variance is the between-kommun
    variance beyond phi x Poisson and a kommun is shrunk as much as its overdispersed noise asks.
    NTU shares are not shrunk: BRÅ's kommun estimates are already model-based (docs/metod.md).
    """
    ecfg = cfg["empirical_bayes"]
    min_areas = int(ecfg.get("min_areas", 3))
    n = len(res)
    cols = {
        k: np.full(n, np.nan)
        for k in (
            "eb_value",
            "eb_ci_low",
            "eb_ci_high",
            "eb_weight",
            "eb_lan_value",
            "eb_lan_ci_low",
            "eb_lan_ci_high",
            "eb_prior_n",
            "_eb_m",
        )
    }
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
                reason[rows] = np.where(
                    ~valid,
                    "antal eller befolkning saknas",
                    np.where(
                        np.isfinite(e["eb_rate"].to_numpy()), "", f"för få kommuner med data (färre än {min_areas})"
                    ),
                )
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
    res["eb_prior_n"] = pd.array(np.where(cols["eb_prior_n"] > 0, cols["eb_prior_n"], np.nan), dtype="Float64").astype(
        "Int64"
    )
    res["eb_prior"] = text_column(prior, res)
    res["eb_reason"] = text_column(reason, res)


def add_pooled_rates(res, idx, store, cfg, crime, series, first_year, comp_from, phi_row) -> None:
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
    missing_years[bad] = [
        ", ".join(str(y - lag) for lag, g in zip(range(k - 1, -1, -1), flags) if not g)
        for y, flags in zip(year[bad].tolist(), zip(*(g[bad].tolist() for g in lacking)))
    ]
    rate = np.where(complete, sum_c / np.where(complete, sum_p, 1.0) * 100_000, np.nan)
    low, high = st.poisson_rate_ci(np.where(complete, sum_c, np.nan), np.where(complete, sum_p, np.nan))
    res["pooled_value"] = rate
    res["pooled_ci_low"] = low
    res["pooled_ci_high"] = high
    span = (year - (k - 1)).astype(str).astype(object) + "–" + year.astype(str).astype(object)
    res["pooled_years"] = text_column(np.where(crime, span, ""), res)
    reason = np.where(
        ~crime,
        "sammanvägning gäller anmälda brott",
        np.where(had_all, "", "antal eller befolkning saknas för " + missing_years),
    ).astype(object)
    gen = np.flatnonzero(crosses & had_all & ~crosses_ind)
    reason[gen] = [f"åren före {int(f)} används inte (ett brott i Brås nationella serie)" for f in first_year[gen]]
    ind = np.flatnonzero(crosses_ind)
    reason[ind] = [f"ändrad registrering: serien är jämförbar från {int(y)}" for y in comp_from[ind]]
    res["pooled_reason"] = text_column(reason, res)
    # small_area: kommuner below the population threshold (from the population table).
    area_pop = variation.area_year_values(idx, store.population, "population")
    res["small_area"] = (
        (res["area_level"].to_numpy() == "kommun")
        & np.isfinite(area_pop)
        & (area_pop < float(pcfg.get("small_area_population", 20_000)))
    )
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
    res["cmp_riket_pooled"] = text_column(
        np.where(applies, st.compare_z(z, float(cfg["model"].get("level", 0.95))), "unknown"), res
    )
    res["_z_pooled"] = np.where(applies, z, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        res["_rho_pooled"] = np.where(applies, np.sqrt(phi_row * unit_p) / sd, np.nan)
    res["_pool_count"] = np.where(complete, sum_c, np.nan)


def add_model_comparisons(
    res, idx, store, cfg, cat, crime, lo, hi, comparable, first_year, gb, pooled=None
) -> np.ndarray:
    """Every comparison of the results table, by the model of :mod:`tmb_analysis.statistics.variation`.

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
    tau2, n_areas, t_reason = variation.estimate_tau2(
        res, idx, stat, own_var, usable & ~is_riket & (var_unit > 0), crime, first_year, themes, mcfg, ref
    )
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
        res[f"cmp_{key}"] = text_column(np.where(ok, st.compare_z(z, level_), "unknown"), res)
        res[f"_z_{key}"] = np.where(ok, z, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            res[f"_rho_{key}"] = np.where(ok, np.sqrt(own_var) / sd, np.nan)
    r_ok = res["_z_riket"].notna().to_numpy()
    res["funnel_riket"] = text_column(np.where(r_ok, st.funnel_label(z_r, funnel_level), "unknown"), res)
    with np.errstate(invalid="ignore"):
        lo_s, hi_s = riket_s - Z95 * sd_r, riket_s + Z95 * sd_r
    res["riket_limit_low"] = np.where(r_ok, np.where(crime, np.maximum(lo_s, 0) ** 2, np.clip(lo_s, 0, 100)), np.nan)
    res["riket_limit_high"] = np.where(r_ok, np.where(crime, hi_s**2, np.clip(hi_s, 0, 100)), np.nan)
    res["lan_rest_value"] = np.where(is_kommun, rest["value"], np.nan)
    res["funnel_phi"] = np.where(crime, phi_row, np.nan)
    res["model_tau2"] = np.where(is_kommun | is_lan, tau2, np.nan)
    res["model_n_areas"] = pd.array(
        np.where((is_kommun | is_lan) & np.isfinite(tau2), n_areas, np.nan), dtype="Float64"
    ).astype("Int64")
    p_txt = np.where(crime, variation.per_row(ind, phi_reason, ""), "")
    res["model_reason"] = text_column(np.where(is_kommun | is_lan, join_texts(p_txt, t_reason), ""), res)

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
    res["cmp_reason"] = text_column(cmp_reason, res)
    res["_stat"], res["_own_var"] = stat, own_var
    return phi_row
