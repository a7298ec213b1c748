"""The results table, checked against values worked out by hand from the input file."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats import chi2

from tmb_analysis import statistics as st
from tmb_analysis.results import (
    ANALYSIS_COLUMNS,
    COMPARISONS,
    CONTRACT_COLUMNS,
    FUNNEL_POSITIONS,
    RESULT_COLUMNS,
    TRENDS,
    compute_results,
    neutralise_formula,
    write_results_csv,
)
from tmb_analysis.statistics.funnel import funnel_data
from tmb_analysis.store import Store, import_paths, load_store


@pytest.fixture
def results(write_bra, bra_lines, tmp_path):
    store = tmp_path / "store"
    import_paths([write_bra(bra_lines)], store)
    return compute_results(load_store(store))


def row(res, area, indicator, year):
    sel = res[(res.area_code == area) & (res.indicator == indicator) & (res.year == year)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_contract_columns(results):
    assert list(results.columns[: len(CONTRACT_COLUMNS)]) == CONTRACT_COLUMNS
    assert set(results.area_level) == {"kommun", "lan", "riket"}
    assert set(results.cmp_lan) <= {"higher", "lower", "similar", "unknown"}


def test_crime_rate_interval_and_comparison(results):
    r = row(results, "2180", "totalt", 2023)
    # Gävle 2023 in the fixture: 9000 reported, published 8869 per 100 000 -> population 9000/8869e-5
    pop = round(9000 / 8869 * 100_000)
    assert r.value == 8869 and r["count"] == 9000 and r.population == pop
    lo = chi2.ppf(0.025, 2 * 9000) / 2 / pop * 1e5
    hi = chi2.ppf(0.975, 2 * 9000 + 2) / 2 / pop * 1e5
    assert r.ci_low == pytest.approx(lo, rel=1e-9) and r.ci_high == pytest.approx(hi, rel=1e-9)
    # by hand: the exact interval is about 8687-9054, wholly above the län (8403) and wholly below riket
    # (14349) -- but the comparisons use the model, not this interval
    assert 8680 < r.ci_low < 8700 and 9045 < r.ci_high < 9060
    # One kommun in the store: the defaults of the theme 'totalt' in analysis.yaml, phi 14 and a
    # between-kommun coefficient of variation 0.2 (tau2 = (0.2/2)^2 x riket's rate, square-root scale).
    phi, cv = 14.0, 0.2
    riket_pop = round(1511882 / 14349 * 100_000)
    lan_pop = round(24000 / 8403 * 100_000)
    riket_rate = 1511882 / riket_pop * 1e5
    tau2 = (cv / 2) ** 2 * riket_rate
    own = phi * 1e5 / (4 * pop)
    z_riket = (math.sqrt(9000 / pop * 1e5) - math.sqrt(riket_rate)) / math.sqrt(
        own + tau2 + phi * 1e5 / (4 * riket_pop)
    )
    # the rest of the län: 24 000 - 9 000 cases among the other nine kommuner (none of them in the
    # store: their between-kommun variation counts as nine equal kommuner, h = 1/9)
    rest_pop = lan_pop - pop
    z_lan = (math.sqrt(9000 / pop * 1e5) - math.sqrt(15000 / rest_pop * 1e5)) / math.sqrt(
        own + tau2 + phi * 1e5 / (4 * rest_pop) + tau2 / 9
    )
    assert z_riket == pytest.approx(-2.11, abs=0.01) and z_lan == pytest.approx(0.305, abs=0.01)
    assert r.cmp_riket == "lower" and r.cmp_lan == "similar"
    assert r.lan_rest_value == pytest.approx(15000 / rest_pop * 1e5)
    assert r.funnel_phi == phi and r.model_tau2 == pytest.approx(tau2) and r.model_n_areas == 0
    assert "standardvärdet för temat totalt" in r.model_reason
    # the 95 % limits around riket for a kommun of Gävle's size, as the funnel draws them
    sd = math.sqrt(own + tau2 + phi * 1e5 / (4 * riket_pop))
    assert r.riket_limit_low == pytest.approx((math.sqrt(riket_rate) - 1.959964 * sd) ** 2, rel=1e-6)
    assert r.riket_limit_high == pytest.approx((math.sqrt(riket_rate) + 1.959964 * sd) ** 2, rel=1e-6)


def test_survey_uses_published_interval(results):
    r = row(results, "2180", "otrygghet_kvall", 2023)
    assert (r.value, r.ci_low, r.ci_high, r.n_respondents) == (24.0, 21.0, 28.0, 600)
    # län 22.5 lies inside 21-28: no reliable difference; riket 26.46 also inside
    assert r.cmp_lan == "similar" and r.cmp_riket == "similar"


def test_benchmarks_do_not_apply_to_themselves(results):
    lan = row(results, "21", "totalt", 2023)
    assert lan.cmp_lan == "unknown" and lan.cmp_riket == "lower"
    riket = row(results, "00", "totalt", 2023)
    assert riket.cmp_lan == "unknown" and riket.cmp_riket == "unknown"


def test_missing_benchmark_is_unknown(write_bra, bra_lines, tmp_path):
    lines = [line for line in bra_lines if not line.startswith("Hela landet")]
    store = tmp_path / "s"
    import_paths([write_bra(lines)], store)
    res = compute_results(load_store(store))
    assert (res.loc[res.area_code == "2180", "cmp_riket"] == "unknown").all()
    assert not np.isinf(res[["value", "ci_low", "ci_high"]].astype(float)).any().any()


def test_csv_is_excel_safe(results, tmp_path):
    res = results.copy()
    res.loc[0, "area_name"] = '=HYPERLINK("http://x")'
    path = tmp_path / "out.csv"
    write_results_csv(res, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, sep=";", decimal=",", encoding="utf-8-sig", dtype={"area_code": str})
    assert back.loc[0, "area_name"].startswith("'=")
    assert back["value"].dtype.kind == "f"  # numbers stay numeric, with a decimal comma on disk
    assert "8869" in raw.decode("utf-8-sig")
    assert neutralise_formula("-5") == "'-5" and neutralise_formula(-5) == -5


# --------------------------------------------------------------------------- #
# The statistics in the results table
# --------------------------------------------------------------------------- #

NUMERIC_CONTRACT = ["value", "ci_low", "ci_high", "trend_pct_per_year", "trend_ci_low", "trend_ci_high", "eb_value"]


def make_store(crime=(), survey=(), population=(), groups=None) -> Store:
    """A store built directly from rows (no validation, so that bad input can be tested)."""
    c = pd.DataFrame(list(crime), columns=["area_code", "year", "indicator", "count", "rate_per_100k"])
    c = c.assign(
        status="final",
        source="test",
        count=c["count"].astype("Float64"),
        rate_per_100k=c["rate_per_100k"].astype("Float64"),
    )
    s = pd.DataFrame(
        list(survey),
        columns=["area_code", "year", "indicator", "share_pct", "ci_low_pct", "ci_high_pct", "n_respondents"],
    ).assign(source="test")
    for col in ("share_pct", "ci_low_pct", "ci_high_pct", "n_respondents"):
        s[col] = s[col].astype("Float64")
    p = pd.DataFrame(list(population), columns=["area_code", "year", "population"]).assign(source="test")
    p["population"] = p["population"].astype("Float64")
    for df in (c, s, p):
        df["year"] = df["year"].astype("int64")
    store = Store(crime=c, survey=s, population=p)
    if groups is not None:
        store.groups = groups
    return store


def check_table(res: pd.DataFrame) -> None:
    """Invariants of every results table: contract first, labels from their sets, no inf, reasons."""
    assert list(res.columns) == RESULT_COLUMNS
    assert list(res.columns[: len(CONTRACT_COLUMNS)]) == CONTRACT_COLUMNS
    for col in ("cmp_lan", "cmp_riket", "cmp_group", "cmp_peers"):
        assert set(res[col]) <= set(COMPARISONS), col
    assert set(res["trend"]) <= set(TRENDS)
    assert set(res["funnel_riket"]) <= set(FUNNEL_POSITIONS)
    numbers = res.select_dtypes(include="number").astype("float64").to_numpy()
    assert not np.isinf(numbers).any()
    # A trend number exists exactly when the trend is known; otherwise a reason says why.
    known = res["trend"] != "unknown"
    assert res.loc[known, ["trend_pct_per_year", "trend_ci_low", "trend_ci_high"]].notna().all().all()
    assert res.loc[~known, ["trend_pct_per_year", "trend_ci_low", "trend_ci_high"]].isna().all().all()
    assert (res.loc[~known, "trend_reason"].str.len() > 0).all()
    assert (res.loc[known, "trend_reason"] == "").all()
    assert (res.loc[known, "trend_ci_low"] <= res.loc[known, "trend_pct_per_year"] + 1e-9).all()
    # Every unknown comparison of an area with a value has a reason.
    unknown = (res[["cmp_lan", "cmp_riket"]] == "unknown").any(axis=1)
    assert (res.loc[unknown, "cmp_reason"].str.len() > 0).all()
    # EB: a value with an interval, or a reason.
    no_eb = res["eb_value"].isna() | res["eb_ci_low"].isna()
    assert (res.loc[no_eb, "eb_reason"].str.len() > 0).all()
    eb = res[~no_eb]
    assert ((eb["eb_ci_low"] <= eb["eb_value"] + 1e-9) & (eb["eb_value"] <= eb["eb_ci_high"] + 1e-9)).all()
    # The model: phi >= 1 for crime rows, tau2 >= 0 wherever a comparison was made.
    assert (res.loc[res.source_kind == "crime", "funnel_phi"] >= 1).all()
    compared = res["cmp_riket"] != "unknown"
    assert (res.loc[compared, "model_tau2"] >= 0).all()
    # The table's words and the funnel's lines never disagree: 'higher' exactly when the rate (from
    # count and population) lies above the 95 % limit at the area's size, 'lower' below; above the
    # 99,8 % limit only when 'higher'.
    c, p = res["count"].astype("Float64").astype(float), res["population"].astype("Float64").astype(float)
    rate = np.where(np.isfinite(c) & (p > 0), c / p * 1e5, res["value"].astype(float))
    known = compared.to_numpy()
    lim_hi, lim_lo = res["riket_limit_high"].to_numpy(float), res["riket_limit_low"].to_numpy(float)
    off = np.abs(rate - lim_hi) > 1e-6 * np.abs(lim_hi)  # not on the line itself
    assert ((rate > lim_hi) == (res["cmp_riket"] == "higher").to_numpy())[known & off].all()
    off = np.abs(rate - lim_lo) > 1e-6 * np.abs(lim_hi)
    assert ((rate < lim_lo) == (res["cmp_riket"] == "lower").to_numpy())[known & off].all()
    assert (res.loc[res.funnel_riket == "above", "cmp_riket"] == "higher").all()
    assert (res.loc[res.funnel_riket == "below", "cmp_riket"] == "lower").all()
    # Priorities: ranks 1..3, at most three per area (one round per area), only with evidence that
    # the table shows: every test named in priority_basis is 'higher' (or increasing) in its column.
    ranked = res[res["priority_rank"].notna()]
    assert set(ranked["priority_rank"].astype(int)) <= {1, 2, 3}
    assert ranked.groupby("area_code")["priority_rank"].agg(lambda s: sorted(s) == list(range(1, len(s) + 1))).all()
    column = {
        "lan": "cmp_lan",
        "riket": "cmp_riket",
        "group": "cmp_group",
        "peers": "cmp_peers",
        "pooled": "cmp_riket_pooled",
        "trend": "trend",
    }
    for r in ranked.itertuples():
        keys = r.priority_basis.split(";")
        assert keys and all(getattr(r, column[k]) in ("higher", "increasing") for k in keys), r
        assert r.priority_q <= 0.05 and 0 <= r.priority_stability <= 1
    assert set(ranked["priority_confidence"]) <= {"stark", "måttlig", "svag"}
    assert ranked["priority_evidence"].str.len().gt(20).all()
    assert ranked["priority_evidence"].str.contains("av 100 omräkningar").all()
    assert (ranked["area_level"] != "riket").all()
    assert "totalt" not in set(ranked["indicator"])
    stark = ranked[ranked.priority_confidence == "stark"]
    assert ((stark.priority_q <= 0.001) & (stark.priority_stability >= 0.8)).all()
    # Priority columns only on the rows of each area's round.
    from tmb_analysis.periods import round_mask

    outside = ~round_mask(res)
    assert res.loc[outside, "priority_rank"].isna().all() and res.loc[outside, "priority_stability"].isna().all()


@pytest.fixture(scope="module")
def sample_results(sample_store):
    return compute_results(load_store(sample_store))


def test_sample_results_every_contract_column_filled(sample_results):
    res = sample_results
    check_table(res)
    assert set(res["area_level"]) == {"kommun", "lan", "riket"}
    assert res["area_code"].nunique() == 290 + 21 + 1
    crime, survey = res[res.source_kind == "crime"], res[res.source_kind == "survey"]
    # Columns that apply to every row are filled for every row.
    for col in (
        "area_name",
        "indicator_label",
        "value",
        "ci_low",
        "ci_high",
        "eb_value",
        "cmp_lan",
        "cmp_riket",
        "trend",
    ):
        assert res[col].notna().all(), col
    assert crime[["count", "population"]].notna().all().all()
    assert survey["n_respondents"].notna().all()
    # Trends are known wherever five usable years exist (the first years have too few).
    from tmb_analysis.periods import round_mask

    latest = res[round_mask(res)]  # each source at its latest year: crime 2024, NTU 2025
    assert set(latest.loc[latest.source_kind == "crime", "year"]) == {2024} and len(latest) > 312 * 30
    assert (latest["trend"] != "unknown").mean() > 0.95
    assert set(res["trend"]) == set(TRENDS)
    # Every kommun has similar-kommun comparisons in the example data.
    kom = latest[latest.area_level == "kommun"]
    assert (kom["cmp_group"] != "unknown").mean() > 0.95 and (kom["cmp_peers"] != "unknown").mean() > 0.95
    # Priorities exist, and fewer than three occur.
    per_area = res[res.priority_rank.notna()].groupby(["area_code", "year"]).size()
    assert per_area.max() == 3


def test_sample_trends_match_statsmodels(sample_results):
    from tmb_analysis.catalogue import catalogue

    res = sample_results
    rng = np.random.default_rng(1)
    crime = res[(res.source_kind == "crime") & (res.trend != "unknown")]
    for i in rng.choice(len(crime), 25, replace=False):
        r = crime.iloc[i]
        first = max(2015, catalogue().get(r.indicator).comparable_from or 0)  # no window spans a recording change
        s = res[
            (res.area_code == r.area_code) & (res.indicator == r.indicator) & (res.year <= r.year) & (res.year >= first)
        ]
        ref = st.poisson_trend(s["year"], s["count"], s["population"], last_n=5, min_scale=r.funnel_phi)
        assert r.trend == ref.classification
        assert r.trend_pct_per_year == pytest.approx(ref.pct_per_year, rel=1e-6, abs=1e-6)
        assert r.trend_ci_low == pytest.approx(ref.ci_low, rel=1e-6, abs=1e-6)
        assert r.trend_ci_high == pytest.approx(ref.ci_high, rel=1e-6, abs=1e-6)
        assert r.trend_unit == "percent_per_year"
    survey = res[(res.source_kind == "survey") & (res.trend != "unknown")]
    for i in rng.choice(len(survey), 10, replace=False):
        r = survey.iloc[i]
        s = res[(res.area_code == r.area_code) & (res.indicator == r.indicator) & (res.year <= r.year)]
        ref = st.share_trend(s["year"], s["value"], s["ci_low"], s["ci_high"], last_n=5)
        assert r.trend_pct_per_year == pytest.approx(ref.pct_per_year, abs=1e-9)
        assert r.trend_unit == "percentage_points_per_year"


def test_sample_eb_matches_esda_national_and_county(sample_results):
    from esda.smoothing import Empirical_Bayes

    res = sample_results
    year = int(res.loc[res.source_kind == "crime", "year"].max())  # crime runs to 2024
    kom = res[(res.area_level == "kommun") & (res.indicator == "ran_unga") & (res.year == year)]
    assert len(kom) == 290
    # the model's overdispersion: the Poisson-gamma EB of count / phi in population / phi
    phi = float(kom["funnel_phi"].iloc[0])
    assert phi > 1
    counts, pops = kom["count"].to_numpy(float) / phi, kom["population"].to_numpy(float) / phi
    ref = Empirical_Bayes(counts, pops).r.ravel() * 1e5
    np.testing.assert_allclose(kom["eb_value"].to_numpy(float), ref, rtol=1e-9)
    assert (kom["eb_prior"] == "riket").all() and (kom["eb_prior_n"] == 290).all()
    lan = kom[kom.lan_code == "21"]
    ref_lan = (
        Empirical_Bayes(lan["count"].to_numpy(float) / phi, lan["population"].to_numpy(float) / phi).r.ravel() * 1e5
    )
    np.testing.assert_allclose(lan["eb_lan_value"].to_numpy(float), ref_lan, rtol=1e-9)
    # NTU shares are not shrunk (BRÅ's kommun estimates are model-based already); län and riket
    # neither: their own rate (from count and population where both exist).
    ntu = res[(res.area_level == "kommun") & (res.source_kind == "survey")]
    np.testing.assert_allclose(ntu["eb_value"].to_numpy(float), ntu["value"].to_numpy(float))
    assert (ntu["eb_prior"] == "ingen").all() and ntu["eb_reason"].str.contains("modellbaserad").all()
    big = res[(res.area_level != "kommun") & (res.year == year)]
    own = np.where(
        big["count"].notna(),
        big["count"].astype(float) / big["population"].astype(float) * 1e5,
        big["value"].astype(float),
    )
    np.testing.assert_allclose(big["eb_value"].to_numpy(float), own)
    np.testing.assert_allclose(big["eb_value"].to_numpy(float), big["value"].to_numpy(float), atol=0.5)  # rounding


def test_sample_pooled_rate_by_hand(sample_results):
    res = sample_results
    kom = res[(res.area_level == "kommun") & (res.indicator == "bostadsinbrott")]
    smallest = kom.loc[kom["population"].astype(float).idxmin(), "area_code"]
    s = kom[kom.area_code == smallest].set_index("year")
    y = int(s.index.max())
    c = s.loc[y - 2 : y, "count"].astype(float)
    p = s.loc[y - 2 : y, "population"].astype(float)
    r = s.loc[y]
    assert r.pooled_value == pytest.approx(c.sum() / p.sum() * 1e5)
    lo = stats.chi2.ppf(0.025, 2 * c.sum()) / 2 / p.sum() * 1e5 if c.sum() > 0 else 0.0
    assert r.pooled_ci_low == pytest.approx(lo)
    assert r.pooled_years == f"{y - 2}–{y}"
    assert bool(r.small_area) is True  # the smallest kommun, about 2 500 inhabitants
    big = kom.loc[kom["population"].astype(float).idxmax()]
    assert bool(big.small_area) is False
    first = s.loc[s.index.min()]
    assert math.isnan(first.pooled_value) and "saknas" in first.pooled_reason


def test_sample_phi_matches_statsmodels_and_tau2_by_hand(sample_results):
    import statsmodels.api as sm

    res = sample_results
    kom = res[(res.area_level == "kommun") & (res.indicator == "bostadsinbrott")]
    # phi: the Pearson dispersion of statsmodels' Poisson GLM count ~ kommun + year, offset log(population)
    x = sm.add_constant(
        pd.get_dummies(kom[["area_code", "year"]].astype(str), drop_first=True).astype(float).to_numpy()
    )
    fit = sm.GLM(
        kom["count"].to_numpy(float), x, family=sm.families.Poisson(), offset=np.log(kom["population"].to_numpy(float))
    ).fit(tol=1e-12)
    phi = max(1.0, fit.pearson_chi2 / fit.df_resid)
    assert kom["funnel_phi"].iloc[0] == pytest.approx(phi, rel=1e-6) and phi > 1.5
    # tau2 of the latest year: DerSimonian-Laird on 10 %-winsorised z-scores around the pooled rate,
    # the three last years summed (Spiegelhalter 2005), on the square-root scale
    year = int(kom.year.max())
    excess = denom = 0.0
    for y in (year - 2, year - 1, year):
        sub = kom[kom.year == y]
        c, p = sub["count"].to_numpy(float), sub["population"].to_numpy(float)
        v, s2 = np.sqrt(c / p * 1e5), phi * 1e5 / (4 * p)
        z = (v - np.sqrt(c.sum() / p.sum() * 1e5)) / np.sqrt(s2)
        lo, hi = np.percentile(z, [10, 90])
        w = 1 / s2
        excess += np.sum(np.clip(z, lo, hi) ** 2) - (len(z) - 1)
        denom += w.sum() - (w**2).sum() / w.sum()
    latest = kom[kom.year == year]
    assert latest["model_tau2"].iloc[0] == pytest.approx(max(0.0, excess / denom), rel=1e-9)
    assert (latest["model_n_areas"] == 290).all() and (latest["model_reason"] == "").all()


def _latest_year(res, indicator):
    return int(res.loc[(res.indicator == indicator) & res["value"].notna(), "year"].max())


def test_funnel_and_table_agree_for_every_indicator(sample_results):
    """One truth per page: each kommun's position in the funnel (the country's and the county's) is the
    table's comparison with riket: above the 95 % line exactly when 'higher', beyond 99,8 % exactly
    when funnel_riket says so."""
    from tmb_analysis.catalogue import catalogue

    res = sample_results
    as_cmp = {"above": "higher", "below": "lower", "within": "similar", "unknown": "unknown"}
    checked = 0
    for ind in catalogue().ids:
        year = _latest_year(res, ind)
        table = res[(res.indicator == ind) & (res.year == year) & (res.area_level == "kommun")].set_index("area_code")
        for lan in (None, "21"):
            fd = funnel_data(res, ind, year, lan_code=lan)
            pts = fd["points"].set_index("area_code")
            assert len(pts) == len(table if lan is None else table[table.lan_code == lan])
            t = table.loc[pts.index]
            assert list(pts["pos_95"].map(as_cmp)) == list(t["cmp_riket"]), ind
            assert list(pts["pos_998"]) == list(t["funnel_riket"]), ind
            checked += len(pts)
        lim = fd["limits"]
        assert (lim["lo_998"] <= lim["lo_95"]).all() and (lim["hi_95"] <= lim["hi_998"]).all()
        assert fd["model"] and fd["benchmark_code"] == "00"
    assert checked > 35 * 280
    fs = funnel_data(res, "otrygghet_kvall", _latest_year(res, "otrygghet_kvall"), lan_code="21")
    assert fs["unit"] == "percent" and fs["size"] == "precision"
    with pytest.raises(ValueError, match="riket"):
        funnel_data(res, "totalt", 2024, lan_code="21", benchmark="lan")


def test_results_csv_roundtrip_with_new_columns(sample_results, tmp_path):
    path = tmp_path / "indicators.csv"
    sub = sample_results[sample_results.area_code.isin(["00", "21", "2180"])]
    write_results_csv(sub, path)
    back = pd.read_csv(path, sep=";", decimal=",", encoding="utf-8-sig", dtype={"area_code": str})
    assert list(back.columns) == RESULT_COLUMNS
    text = path.read_text("utf-8-sig")
    assert "inf" not in text.lower().replace("information", "")
    assert back["trend_pct_per_year"].dtype.kind == "f"


# --------------------------------------------------------------------------- #
# Similar-kommun comparisons, worked out by hand
# --------------------------------------------------------------------------- #
KOMMUNER = {"2101": 6000, "2104": 9500, "2121": 11500, "2180": 103000}


def _mini(groups=None, drop=(), counts=None):
    crime, pop = [], []
    counts = {"2101": 30, "2104": 20, "2121": 25, "2180": 400, **(counts or {})}
    for y in range(2019, 2025):
        for code, p in KOMMUNER.items():
            if (code, y) in drop:
                continue
            crime.append((code, y, "bostadsinbrott", counts[code] + (y - 2019), None))
            pop.append((code, y, p))
        tot = sum(counts.values()) + 4 * (y - 2019)
        crime.append(("21", y, "bostadsinbrott", tot, None))
        pop.append(("21", y, sum(KOMMUNER.values())))
        crime.append(("00", y, "bostadsinbrott", 36_000, None))
        pop.append(("00", y, 10_500_000))
    return make_store(crime=crime, population=pop, groups=groups)


def _groups():
    rows = [
        ("G1", "Landsbygdskommun (ovägt medel)", "skr_kommungrupp", code, None) for code in ("2101", "2104", "2121")
    ]
    rows += [("G9", "Större stad (ovägt medel)", "skr_kommungrupp", "2180", None)]
    rows += [
        ("L1", "Liknande kommuner, övergripande, Ockelbo, 2023", "liknande_kommuner", code, "2101")
        for code in ("2104", "2121", "2180")
    ]
    rows += [("L2", "Liknande kommuner ekonomiskt bistånd, Ockelbo, 2023", "liknande_kommuner", "2180", "2101")]
    return pd.DataFrame(rows, columns=["group_id", "group_title", "group_kind", "area_code", "subject_code"]).assign(
        source="test"
    )


def test_group_comparison_by_hand():
    res = compute_results(_mini(_groups()))
    check_table(res)
    r = res[(res.area_code == "2101") & (res.year == 2024)].iloc[0]
    # SKR group: the other members 2104 and 2121, pooled (Ockelbo itself left out)
    group = (25 + 30) / (9500 + 11500) * 1e5
    assert r.group_value == pytest.approx(group)
    assert r.group_title == "Landsbygdskommun (ovägt medel)"
    # Ockelbo 2024: 35 cases in 6 000 -> 583 per 100 000; the exact Poisson interval (about 406-811)
    # lies above 262, but counts vary far more than Poisson. Four kommuner in the store: the defaults
    # of the theme 'tillgrepp', phi 12 and coefficient of variation 0.2 (tau2 = 0.01 x riket's rate).
    low = stats.chi2.ppf(0.025, 70) / 2 / 6000 * 1e5
    assert low > group
    phi, tau2 = 12.0, 0.01 * 36_000 / 10_500_000 * 1e5
    own = phi * 1e5 / (4 * 6000)
    h_group = (9500**2 + 11500**2) / 21000**2  # the members' own between-kommun variation
    z_group = (math.sqrt(35 / 6000 * 1e5) - math.sqrt(group)) / math.sqrt(
        own + tau2 + phi * 1e5 / (4 * 21000) + h_group * tau2
    )
    assert z_group == pytest.approx(0.956, abs=0.001) and r.cmp_group == "similar"
    # Liknande kommuner: the general group is preferred over the theme group
    peers = (25 + 30 + 405) / (9500 + 11500 + 103000) * 1e5
    assert r.peers_value == pytest.approx(peers) and r.peers_title.startswith("Liknande kommuner, övergripande")
    h_peers = (9500**2 + 11500**2 + 103000**2) / 124000**2
    z_peers = (math.sqrt(35 / 6000 * 1e5) - math.sqrt(peers)) / math.sqrt(
        own + tau2 + phi * 1e5 / (4 * 124000) + h_peers * tau2
    )
    assert z_peers == pytest.approx(0.641, abs=0.001) and r.cmp_peers == "similar"
    # five times the cases would be a difference the model calls one
    big = compute_results(_mini(_groups(), counts={"2101": 170}))
    b = big[(big.area_code == "2101") & (big.year == 2024)].iloc[0]
    z_big = (math.sqrt(175 / 6000 * 1e5) - math.sqrt(group)) / math.sqrt(
        own + tau2 + phi * 1e5 / (4 * 21000) + h_group * tau2
    )
    assert z_big > 1.96 and b.cmp_group == "higher"
    # A kommun alone in its SKR group has no benchmark; Gävle has no peers group
    g = res[(res.area_code == "2180") & (res.year == 2024)].iloc[0]
    assert g.cmp_group == "unknown" and "kommungrupp: för få kommuner med data (0 av 0)" not in g.cmp_reason
    assert "kommungrupp: grupp saknas" in g.cmp_reason and "liknande kommuner: grupp saknas" in g.cmp_reason


def test_group_comparison_needs_coverage():
    res = compute_results(_mini(_groups(), drop={("2104", 2024), ("2121", 2024)}))
    r = res[(res.area_code == "2101") & (res.year == 2024)].iloc[0]
    assert r.cmp_group == "unknown" and math.isnan(r.group_value)
    assert "kommungrupp: för få kommuner med data (0 av 2)" in r.cmp_reason


def test_no_groups_in_store_is_unknown_with_reason():
    store = _mini()
    del store.groups  # an older Store without the attribute
    res = compute_results(store)
    kom = res[res.area_level == "kommun"]
    assert (kom["cmp_group"] == "unknown").all() and (kom["cmp_peers"] == "unknown").all()
    assert kom["cmp_reason"].str.contains("kommungrupp: grupp saknas").all()


# --------------------------------------------------------------------------- #
# NTU uncertainty rule
# --------------------------------------------------------------------------- #
def test_ntu_uncertainty_rule():
    survey = []
    for y in (2022, 2023, 2024):
        survey += [
            ("2101", y, "otrygghet_kvall", 40.0, 30.0, 50.0, 80),  # few respondents, interval 20 wide: usable
            ("2104", y, "otrygghet_kvall", 40.0, 28.0, 52.0, 300),  # interval 24 points wide
            ("2180", y, "otrygghet_kvall", 40.0, 37.0, 43.0, 900),  # certain
            ("21", y, "otrygghet_kvall", 25.0, 24.0, 26.0, 2000),
            ("00", y, "otrygghet_kvall", 26.0, 25.8, 26.2, 60000),
        ]
    res = compute_results(make_store(survey=survey))
    check_table(res)
    r = res[res.year == 2024].set_index("area_code")
    # the rule reads the published width only: BRÅ's kommun intervals are model-based
    assert not r.loc["2101", "too_uncertain"] and r.loc["2101", "cmp_riket"] != "unknown"
    assert r.loc["2104", "too_uncertain"] and "24,0 procentenheter" in r.loc["2104", "uncertainty_reason"]
    assert not r.loc["2180", "too_uncertain"]
    assert r.loc["2104", "cmp_lan"] == "unknown" and r.loc["2104", "cmp_riket"] == "unknown"
    assert r.loc["2104", "cmp_reason"].startswith("för osäkert")
    # By hand: three kommuner, so tau is the theme's default, 4 percentage points for otrygghet; the
    # comparison counts the kommun's and riket's published intervals (se = width / 2 x 1,96).
    se = lambda lo, hi: (hi - lo) / (2 * 1.959964)  # noqa: E731
    z_riket = (40 - 26) / math.sqrt(se(37, 43) ** 2 + 16 + se(25.8, 26.2) ** 2)
    assert z_riket == pytest.approx(3.27, abs=0.01) and r.loc["2180", "cmp_riket"] == "higher"
    # Ockelbo's interval is wide, but 40 % against riket's 26 % is still a difference
    z_ockelbo = (40 - 26) / math.sqrt(se(30, 50) ** 2 + 16 + se(25.8, 26.2) ** 2)
    assert z_ockelbo == pytest.approx(2.16, abs=0.01) and r.loc["2101", "cmp_riket"] == "higher"
    # The rest of the län from the published län share: Gävle has 900 of the län's 2 000 respondents
    # (no population in the store), so the rest is (25 - 0.45 x 40) / 0.55 with variance se_lan^2 / 0.55.
    w = 900 / 2000
    rest = (25 - w * 40) / (1 - w)
    assert r.loc["2180", "lan_rest_value"] == pytest.approx(rest)
    z_lan = (40 - rest) / math.sqrt(se(37, 43) ** 2 + 16 + se(24, 26) ** 2 / (1 - w) + 16)
    assert z_lan > 1.96 and r.loc["2180", "cmp_lan"] == "higher"
    # The trend of a flat series from published intervals: no clear trend, in percentage points
    assert r.loc["2180", "trend"] == "no_clear_trend" and r.loc["2180", "trend_unit"] == "percentage_points_per_year"
    assert r.loc["2180", "trend_pct_per_year"] == pytest.approx(0.0, abs=1e-9)
    # EB for shares: too uncertain kommuner are pulled toward the others
    assert r.loc["2180", "eb_value"] == pytest.approx(40.0, abs=1e-9) or r.loc["2180", "eb_weight"] <= 1


# --------------------------------------------------------------------------- #
# Bad input: never a crash, never inf, unknown with a reason
# --------------------------------------------------------------------------- #
def _crime_series(code, counts, pops, years=None, indicator="bostadsinbrott"):
    years = years or list(range(2020, 2020 + len(counts)))
    crime = [(code, y, indicator, c, None) for y, c in zip(years, counts)]
    pop = [(code, y, p) for y, p in zip(years, pops) if p is not None]
    return crime, pop


def _with_benchmarks(crime, pop, years=range(2020, 2025), indicator="bostadsinbrott", lan=True, riket=True):
    for y in years:
        if lan:
            crime.append(("21", y, indicator, 3000, None))
            pop.append(("21", y, 280_000))
        if riket:
            crime.append(("00", y, indicator, 36_000, None))
            pop.append(("00", y, 10_500_000))
    return crime, pop


@pytest.mark.parametrize(
    "counts,pops,expect_reason",
    [
        ([10, 12, 9, 11, 13], [0, 0, 0, 0, 0], "befolkning saknas"),
        ([10, 12, 9, 11, 13], [None] * 5, "befolkning saknas"),
        ([0, 0, 0, 0, 0], [6000] * 5, "alla värden noll"),
        ([0, 0, 0, 0, 4], [6000] * 5, "händelser endast under ett år"),
        ([7], [6000], "för få år med data"),
    ],
)
def test_bad_crime_input(counts, pops, expect_reason):
    crime, pop = _crime_series("2101", counts, pops)
    crime, pop = _with_benchmarks(crime, pop)
    res = compute_results(make_store(crime=crime, population=pop))
    check_table(res)
    last = res[res.area_code == "2101"].iloc[-1]
    assert last.trend == "unknown" and last.trend_reason == expect_reason
    assert not math.isinf(float(last.value)) if pd.notna(last.value) else True
    if any(p in (0, None) for p in pops):
        assert last.cmp_lan == "unknown" and "antal eller befolkning saknas" in last.cmp_reason
        assert math.isnan(last.eb_value) and last.eb_reason
        assert math.isnan(last.pooled_value) and last.funnel_riket == "unknown"
    else:
        assert last.cmp_lan in ("similar", "lower")  # zero counts compare fine: the interval starts at 0


def test_missing_benchmarks_unknown_with_reason():
    crime, pop = _crime_series("2101", [10, 12, 9, 11, 13], [6000] * 5)
    crime, pop = _with_benchmarks(crime, pop, lan=False, riket=False)
    res = compute_results(make_store(crime=crime, population=pop))
    check_table(res)
    r = res[res.area_code == "2101"].iloc[-1]
    assert r.cmp_lan == "unknown" and r.cmp_riket == "unknown" and r.funnel_riket == "unknown"
    assert "länets värde saknas 2024" in r.cmp_reason and "rikets värde saknas 2024" in r.cmp_reason
    assert r.priority_rank is pd.NA or pd.isna(r.priority_rank)


def test_empty_and_survey_only_stores():
    empty = compute_results(make_store())
    assert list(empty.columns) == RESULT_COLUMNS and empty.empty
    res = compute_results(
        make_store(
            survey=[
                ("2101", 2024, "otrygghet_kvall", 20.0, None, None, 300),
                ("2101", 2023, "otrygghet_kvall", 20.0, None, None, None),
            ]
        )
    )
    check_table(res)
    r = res.set_index("year")
    lo, hi = st.wilson_share_ci(20.0, 300)  # no published interval: Wilson from n
    assert r.loc[2024, "ci_low"] == pytest.approx(float(lo)) and r.loc[2024, "ci_high"] == pytest.approx(float(hi))
    assert math.isnan(r.loc[2023, "ci_low"]) and r.loc[2023, "cmp_reason"].startswith("konfidensintervall saknas")


@pytest.mark.realdata
def test_real_dalarna_every_contract_column_filled(real_bra_dalarna, tmp_path):
    store = tmp_path / "store"
    import_paths([real_bra_dalarna], store)
    res = compute_results(load_store(store))
    check_table(res)
    assert set(res.area_level) == {"kommun", "lan", "riket"}
    assert res[res.area_level == "kommun"].area_code.nunique() == 15
    for col in (
        "area_name",
        "indicator_label",
        "source_kind",
        "year",
        "value",
        "ci_low",
        "ci_high",
        "cmp_lan",
        "cmp_riket",
        "trend",
        "eb_value",
    ):
        assert res[col].notna().all(), col
    crime = res[res.source_kind == "crime"]
    assert crime[["count", "population"]].notna().all().all()
    assert (res.trend != "unknown").mean() > 0.6
    # With one county in the store, the EB prior of crime is that county's kommuner.
    kom = res[res.area_level == "kommun"]
    assert set(kom.loc[kom.source_kind == "crime", "eb_prior"]) == {"lan"}
    assert set(ANALYSIS_COLUMNS) <= set(res.columns)
    # phi per indicator from the 15 kommuner (as measured in issue 10: 2-4 violence, 5-14 property and totalt)
    phi = res[res.source_kind == "crime"].groupby("indicator")["funnel_phi"].first()
    assert 12 < phi["totalt"] < 17 and 10 < phi["stold_totalt"] < 14 and 1.5 < phi["vald_offentlig_vuxna"] < 3
    assert 1.0 <= phi["ran_unga"] < 1.2  # about Poisson: rån mot unga is rare and spread
    assert (kom.loc[kom.source_kind == "crime", "model_n_areas"].dropna() == 15).all()
    # the funnel and the table agree on the real data too, for every indicator's latest year
    as_cmp = {"above": "higher", "below": "lower", "within": "similar", "unknown": "unknown"}
    for ind in res["indicator"].unique():
        year = _latest_year(res, ind)
        fd = funnel_data(res, ind, year)
        t = kom[(kom.indicator == ind) & (kom.year == year)].set_index("area_code").loc[fd["points"]["area_code"]]
        assert list(fd["points"]["pos_95"].map(as_cmp)) == list(t["cmp_riket"]), ind
        assert list(fd["points"]["pos_998"]) == list(t["funnel_riket"]), ind


# --------------------------------------------------------------------------- #
# Bad input for the model (issue 10): no crash, no invented certainty, the reason in the table
# --------------------------------------------------------------------------- #
def _part(sample_store, codes=None, lan=("21",)):
    """The example store cut to some län (or some kommuner of them), with the län and riket rows."""
    from dataclasses import replace

    store = load_store(sample_store)

    def keep(df):
        code = df["area_code"].astype(str)
        inside = code.str[:2].isin(lan) & ((code.str.len() == 2) | (codes is None) | code.isin(codes or ()))
        return df[inside | (code == "00")].reset_index(drop=True)

    return replace(
        store,
        crime=keep(store.crime),
        survey=keep(store.survey),
        population=keep(store.population),
        groups=store.groups.iloc[0:0],
    )


def test_a_store_with_a_single_county(sample_store):
    res = compute_results(_part(sample_store))
    check_table(res)
    kom = res[res.area_level == "kommun"]
    assert kom.area_code.nunique() == 10
    crime = kom[kom.source_kind == "crime"]
    latest = crime[crime.year == crime.year.max()]
    # ten kommuner: the model is estimated from them, never from one area
    assert (latest["model_n_areas"] == 10).all() and (latest["model_reason"] == "").all()
    assert set(crime["eb_prior"]) == {"lan"}
    assert (kom["cmp_group"] == "unknown").all()
    compared = kom[kom.cmp_riket != "unknown"]
    assert compared["cmp_reason"].str.contains("kommungrupp: grupp saknas").all()
    # NTU: the rest of the län from the other nine kommuner, population-weighted (by hand)
    # (a year in which all ten have a usable NTU estimate: otherwise the rest comes from the published län share)
    otr = kom[(kom.indicator == "otrygghet_kvall") & ~kom.too_uncertain.astype(bool) & kom.value.notna()]
    full = otr.groupby("year")["area_code"].nunique()
    year = int(full[full == 10].index.max())
    ntu = otr[otr.year == year].set_index("area_code")
    pops = load_store(sample_store).population
    pop = pops[pops.year == year].set_index("area_code")["population"].astype(float)
    others = ntu.drop(index="2180")
    rest = (others["value"] * pop[others.index]).sum() / pop[others.index].sum()
    assert ntu.loc["2180", "lan_rest_value"] == pytest.approx(rest)
    # the län itself is compared with riket as if it were a kommun (one län: no between-län variation to estimate)
    lan = res[(res.area_level == "lan") & (res.source_kind == "crime") & (res.year == crime.year.max())]
    assert lan["model_reason"].str.contains("länet jämförs som en kommun").all()
    # a proposal's size is measured against the county its EB value is shrunk towards
    ranked = res[res.priority_rank.notna() & (res.source_kind == "crime") & (res.area_level == "kommun")]
    for r in ranked.itertuples():
        if r.eb_value > r.lan_value:
            assert "Storleken jämförs med länet" in r.priority_evidence


def test_a_county_with_three_kommuner(sample_store):
    res = compute_results(_part(sample_store, codes=("2101", "2104", "2180")))
    check_table(res)
    kom = res[(res.area_level == "kommun") & (res.year == 2024)]
    crime = kom[kom.source_kind == "crime"]
    # too few kommuner: the documented defaults of analysis.yaml, said in the table
    assert (crime["model_n_areas"] == 0).all()
    assert crime["model_reason"].str.contains("3 kommuner med data, färre än 10").all()
    assert crime["model_reason"].str.contains("φ är standardvärdet för temat").all()
    phi = crime.groupby("indicator")["funnel_phi"].first()
    assert phi["totalt"] == 14 and phi["stold_totalt"] == 12 and phi["vald_nara_kvinnor"] == 3
    ntu = kom[kom.source_kind == "survey"]
    assert ntu["model_reason"].str.contains("procentenheter").all()
    # the rest of the län is known (the län's counts minus the kommun's), with its unseen kommuner's variation
    assert crime["lan_rest_value"].notna().all() and (crime["cmp_lan"] != "unknown").all()


def test_an_indicator_with_all_zero_counts(sample_store):
    store = _part(sample_store, lan=("21", "22", "23"))
    crime = store.crime.copy()
    zero = crime["indicator"] == "ran_unga"
    crime.loc[zero, "count"] = 0
    crime.loc[zero, "rate_per_100k"] = 0.0
    from dataclasses import replace

    res = compute_results(replace(store, crime=crime))
    check_table(res)
    r = res[(res.indicator == "ran_unga") & (res.area_level == "kommun")]
    assert r["funnel_phi"].eq(3.0).all() and r["model_reason"].str.contains("φ är standardvärdet").all()
    latest = r[r.year == r.year.max()]
    assert (latest["trend"] == "unknown").all() and (latest["trend_reason"] == "alla värden noll").all()
    assert latest["model_reason"].str.contains("inga anmälda brott").all()
    # nothing against nothing: no difference claimed, no priority
    assert set(latest["cmp_riket"]) <= {"similar", "unknown"} and latest["priority_rank"].isna().all()
    assert not latest["priority_eligible"].any()


def test_a_year_where_riket_is_missing(sample_store):
    store = _part(sample_store)
    year = int(store.crime["year"].max())
    from dataclasses import replace

    crime = store.crime[~((store.crime.area_code == "00") & (store.crime.year == year))]
    res = compute_results(replace(store, crime=crime.reset_index(drop=True)))
    check_table(res)
    r = res[(res.area_level == "kommun") & (res.year == year) & (res.source_kind == "crime")]
    assert (r["cmp_riket"] == "unknown").all() and r["cmp_reason"].str.contains(f"rikets värde saknas {year}").all()
    assert (r["funnel_riket"] == "unknown").all() and r["riket_limit_high"].isna().all()
    assert (r["cmp_riket_pooled"] == "unknown").all()  # riket's three years are incomplete
    assert (r["cmp_lan"] != "unknown").all()  # the county is still there
    # the funnel of that year is drawn around the kommuner's own pooled value, and says so
    fd = funnel_data(res, "totalt", year)
    assert fd["benchmark_code"] == "" and np.isfinite(fd["benchmark"])
    # no proposal rests on riket that year
    ranked = r[r.priority_rank.notna()]
    assert not ranked["priority_basis"].str.contains("riket|pooled").any()


def test_no_window_or_pooled_rate_spans_a_recording_change(sample_results):
    res = sample_results
    s = res[(res.area_code == "2180") & (res.indicator == "vald_nara_kvinnor")].set_index("year")
    assert s.loc[2019, "cmp_riket"] == "unknown" and s.loc[2019, "cmp_lan"] == "unknown"
    assert "ändrad registrering: serien är jämförbar från 2020" in s.loc[2019, "cmp_reason"]
    assert s.loc[2021, "trend"] == "unknown" and "jämförbar från 2020" in s.loc[2021, "trend_reason"]
    assert s.loc[2022, "trend_first_year"] == 2020 and s.loc[2022, "trend_n_years"] == 3
    assert s.loc[2024, "trend_first_year"] == 2020  # crime runs to 2024 in the example data
    assert math.isnan(s.loc[2021, "pooled_value"]) and "jämförbar från 2020" in s.loc[2021, "pooled_reason"]
    assert np.isfinite(s.loc[2022, "pooled_value"])
    b = res[(res.area_code == "2180") & (res.indicator == "bilbrott")].set_index("year")
    assert b.loc[2017, "cmp_riket"] == "unknown" and b.loc[2018, "cmp_riket"] != "unknown"


def test_the_priorities_rank_the_round_of_the_report_year(sample_store):
    from tmb_analysis.periods import round_mask

    res = compute_results(load_store(sample_store), report_year=2022)
    candidates = res.priority_stability.notna().to_numpy()
    in_round = round_mask(res, 2022)
    assert candidates.any() and (in_round[candidates]).all()
    # mostly 2022; a small kommun whose NTU 2022 was not published (too few answers) has its latest NTU
    # year before it in the round
    assert (
        set(res.loc[candidates, "year"]) <= {2019, 2020, 2021, 2022}
        and (res.loc[candidates, "year"] == 2022).mean() > 0.75
    )
    assert res.loc[res.year > 2022, "priority_rank"].isna().all()
    # comparisons and trends are still there for every year
    assert (res.loc[res.year == 2024, "trend"] != "unknown").mean() > 0.9


def test_metod_documents_every_column_the_statistics_add():
    """docs/metod.md is the reviewer's check of the code: each column the statistics add is named there."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "metod.md").read_text(encoding="utf-8")
    identity = {
        "area_code",
        "area_name",
        "area_level",
        "indicator",
        "indicator_label",
        "source_kind",
        "year",
        "lan_code",
        "theme",
        "unit",
        "status",
        "population_source",
        "source",
        "worse",
    }
    missing = [c for c in RESULT_COLUMNS if c not in identity and f"`{c}`" not in text]
    assert not missing


# ---- benchmarks derived from complete sets of kommuner; pooled periods kept apart -------------


def _county_file(tmp_path, name, drop=(), lan=False):
    """Gävleborg's ten kommuner, 'Totalt antal anmälda brott' 2024, invented counts (100 + 10 i) and rates."""
    from tmb_analysis.geography import registry

    lines = ["geografi,enhet,ar,variabel,varde,kalla"]
    var, kalla = "Totalt antal anmälda brott", "Anmälda brott"
    for i, k in enumerate(registry().kommuner("21")):
        if k.code in drop:
            continue
        lines += [
            f"{k.name},Antal,2024,{var},{100 + 10 * i}.0,{kalla}",
            f"{k.name},Antal per 100 000 inv,2024,{var},{1000 + 100 * i}.0,{kalla}",
        ]
    if lan:
        lines += [
            f"Gävleborgs län,Antal,2024,{var},1450.0,{kalla}",
            f"Gävleborgs län,Antal per 100 000 inv,2024,{var},1100.0,{kalla}",
        ]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_lan_benchmark_derived_from_its_complete_set_of_kommuner(tmp_path):
    store = tmp_path / "s"
    import_paths([_county_file(tmp_path, "county.csv")], store)
    st = load_store(store)
    res = compute_results(st)
    lan = row(res, "21", "totalt", 2024)
    # worked out by hand: counts 100, 110 … 190 sum to 1450; each population is round(count / rate × 1e5)
    pops = [round((100 + 10 * i) / (1000 + 100 * i) * 100_000) for i in range(10)]
    assert lan["count"] == 1450 and lan["population"] == sum(pops)
    assert lan.value == pytest.approx(1450 / sum(pops) * 100_000)
    lo = chi2.ppf(0.025, 2 * 1450) / 2 / sum(pops) * 1e5
    assert lan.ci_low == pytest.approx(lo, rel=1e-9)
    assert lan.benchmark_source == "beräknat från kommunerna" and lan.area_level == "lan"
    # every kommun is compared with the derived län; riket has no row (a county is not the country)
    kom = res[(res.area_level == "kommun") & (res.indicator == "totalt")]
    assert len(kom) == 10 and kom["lan_value"].notna().all() and (kom["cmp_lan"] != "unknown").any()
    assert not (res.area_code == "00").any()
    assert set(kom["benchmark_source"]) == {""}


def test_nothing_derived_from_an_incomplete_set_and_published_rows_stay(tmp_path):
    store = tmp_path / "a"
    import_paths([_county_file(tmp_path, "nine.csv", drop=("2101",))], store)
    res = compute_results(load_store(store))
    assert not (res.area_code == "21").any()
    assert (res.loc[res.area_level == "kommun", "cmp_lan"] == "unknown").all()
    store = tmp_path / "b"
    import_paths([_county_file(tmp_path, "published.csv", lan=True)], store)
    lan = row(compute_results(load_store(store)), "21", "totalt", 2024)
    assert (lan["count"], lan.value, lan.benchmark_source) == (1450, 1100, "publicerat")


def test_pooled_periods_are_compared_only_with_pooled_benchmarks(write_bra, tmp_path):
    ntu, var = (
        "Nationella trygghetsundersökningen (NTU)",
        "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet",
    )
    lines = []
    for area, ar, share, low, high in (
        ("Gävle", "2017/2018", 30, 27, 33),
        ("Gävleborgs län", "2017/2018", 20, 19, 21),  # pooled
        ("Gävle", "2019", 30, 27, 33),
        ("Gävleborgs län", "2019", 30, 29, 31),  # yearly
        ("Hela landet", "2018", 10, 9.8, 10.2),
    ):  # a yearly riket 2018: not the pooled period's benchmark
        lines += [
            f"{area},Andel (%),{ar},{var},{share},{ntu}",
            f"{area},KI (95 %) undre gräns,{ar},{var},{low},{ntu}",
            f"{area},KI (95 %) övre gräns,{ar},{var},{high},{ntu}",
        ]
    store = tmp_path / "s"
    import_paths([write_bra(lines)], store)
    res = compute_results(load_store(store))
    pooled = row(res, "2180", "otrygghet_kvall", 2018)
    # the pooled estimate keeps its period and meets only the pooled län value; it is not put through the
    # model of yearly variation (docs/metod.md): its comparisons are unknown, with the reason
    assert (pooled.period, pooled.lan_value, pooled.cmp_lan) == ("2017–2018", 20, "unknown")
    assert pd.isna(pooled.riket_value) and pooled.cmp_riket == "unknown"
    assert "tvåårsperiod" in pooled.cmp_reason
    assert pooled.trend == "unknown" and "tvåårsperiod" in pooled.trend_reason
    yearly = row(res, "2180", "otrygghet_kvall", 2019)
    assert (yearly.period, yearly.lan_value) == ("2019", 30) and "tvåårsperiod" not in yearly.cmp_reason
