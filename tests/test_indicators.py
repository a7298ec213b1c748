"""The results table, checked against values worked out by hand from the input file."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from tmb_analysis.indicators import CONTRACT_COLUMNS, compute_results, neutralise_formula, write_results_csv
from tmb_analysis.store import import_paths, load_store


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
    # by hand: the interval is about 8687-9054, wholly above the län (8403) and wholly below riket (14349)
    assert 8680 < r.ci_low < 8700 and 9045 < r.ci_high < 9060
    assert r.cmp_lan == "higher" and r.cmp_riket == "lower"


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
    res.loc[0, "area_name"] = "=HYPERLINK(\"http://x\")"
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
import math  # noqa: E402

from scipy import stats  # noqa: E402

from tmb_analysis import statistics as st  # noqa: E402
from tmb_analysis.indicators import (  # noqa: E402
    ANALYSIS_COLUMNS,
    COMPARISONS,
    FUNNEL_POSITIONS,
    RESULT_COLUMNS,
    TRENDS,
    funnel_data,
)
from tmb_analysis.store import Store  # noqa: E402

NUMERIC_CONTRACT = ["value", "ci_low", "ci_high", "trend_pct_per_year", "trend_ci_low", "trend_ci_high", "eb_value"]


def make_store(crime=(), survey=(), population=(), groups=None) -> Store:
    """A store built directly from rows (no validation, so that bad input can be tested)."""
    c = pd.DataFrame(list(crime), columns=["area_code", "year", "indicator", "count", "rate_per_100k"])
    c = c.assign(status="final", source="test", count=c["count"].astype("Float64"),
                 rate_per_100k=c["rate_per_100k"].astype("Float64"))
    s = pd.DataFrame(list(survey), columns=["area_code", "year", "indicator", "share_pct", "ci_low_pct",
                                            "ci_high_pct", "n_respondents"]).assign(source="test")
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
    no_eb = res["eb_value"].isna()
    assert (res.loc[no_eb, "eb_reason"].str.len() > 0).all()
    eb = res[~no_eb]
    assert ((eb["eb_ci_low"] <= eb["eb_value"] + 1e-9) & (eb["eb_value"] <= eb["eb_ci_high"] + 1e-9)).all()
    # Priorities: ranks 1..3, at most three per area and year, only with evidence.
    ranked = res[res["priority_rank"].notna()]
    assert set(ranked["priority_rank"].astype(int)) <= {1, 2, 3}
    assert ranked.groupby(["area_code", "year"])["priority_rank"].agg(lambda s: sorted(s) == list(range(1, len(s) + 1))).all()
    evidence = ((ranked[["cmp_lan", "cmp_riket", "cmp_group", "cmp_peers"]] == "higher").any(axis=1)
                | (ranked["trend"] == "increasing"))
    assert evidence.all()
    assert set(ranked["priority_confidence"]) <= {"stark", "måttlig", "svag"}
    assert ranked["priority_evidence"].str.len().gt(20).all()
    assert (ranked["area_level"] != "riket").all()
    assert "totalt" not in set(ranked["indicator"])


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
    for col in ("area_name", "indicator_label", "value", "ci_low", "ci_high", "eb_value", "cmp_lan", "cmp_riket", "trend"):
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
    res = sample_results
    rng = np.random.default_rng(1)
    crime = res[(res.source_kind == "crime") & (res.trend != "unknown")]
    for i in rng.choice(len(crime), 25, replace=False):
        r = crime.iloc[i]
        s = res[(res.area_code == r.area_code) & (res.indicator == r.indicator) & (res.year <= r.year)]
        ref = st.poisson_trend(s["year"], s["count"], s["population"], last_n=5)
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
    counts, pops = kom["count"].to_numpy(float), kom["population"].to_numpy(float)
    ref = Empirical_Bayes(counts, pops).r.ravel() * 1e5
    np.testing.assert_allclose(kom["eb_value"].to_numpy(float), ref, rtol=1e-9)
    assert (kom["eb_prior"] == "riket").all() and (kom["eb_prior_n"] == 290).all()
    lan = kom[kom.lan_code == "21"]
    ref_lan = Empirical_Bayes(lan["count"].to_numpy(float), lan["population"].to_numpy(float)).r.ravel() * 1e5
    np.testing.assert_allclose(lan["eb_lan_value"].to_numpy(float), ref_lan, rtol=1e-9)
    # Län and riket are not shrunk: their own rate (from count and population where both exist).
    big = res[(res.area_level != "kommun") & (res.year == year)]
    own = np.where(big["count"].notna(), big["count"].astype(float) / big["population"].astype(float) * 1e5,
                   big["value"].astype(float))
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


def test_sample_funnel_matches_funnel_outliers(sample_results):
    res = sample_results
    year = int(res.loc[res.source_kind == "crime", "year"].max())  # crime runs to 2024, NTU to 2025
    kom = res[(res.area_level == "kommun") & (res.indicator == "bostadsinbrott") & (res.year == year)]
    riket = res[(res.area_code == "00") & (res.indicator == "bostadsinbrott") & (res.year == year)].iloc[0]
    bench = float(riket["count"]) / float(riket["population"]) * 1e5  # unrounded, as the table uses it
    assert bench == pytest.approx(kom["riket_value"].iloc[0]) and bench == pytest.approx(riket.value, abs=0.5)
    phi = st.estimate_overdispersion(kom["count"], kom["population"], bench)
    ref = st.funnel_outliers(kom["count"], kom["population"], bench, level=0.998, phi=phi)
    assert list(kom["funnel_riket"]) == list(ref)
    fd = funnel_data(res, "bostadsinbrott", year)
    assert fd["benchmark"] == pytest.approx(bench) and fd["phi"] == pytest.approx(phi if phi > 1 else np.nan, nan_ok=True)
    assert {"population", "lo_95", "hi_95", "lo_998", "hi_998", "lo_998_exact", "hi_998_od"} <= set(fd["limits"].columns)
    assert len(fd["points"]) == 290
    assert set(fd["outliers"]["area_code"]) == set(kom.loc[kom.funnel_riket.isin(["above", "below"]), "area_code"])
    lim = fd["limits"]
    assert (lim["lo_998"] <= lim["lo_95"]).all() and (lim["hi_95"] <= lim["hi_998"]).all()
    # Shares: the funnel is drawn against respondents.
    fs = funnel_data(res, "otrygghet_kvall", year, lan_code="21")
    n21 = int(((res.indicator == "otrygghet_kvall") & (res.year == year) & (res.lan_code == "21")
               & (res.area_level == "kommun")).sum())  # a small kommun's NTU may be left out (n < 100)
    assert fs["unit"] == "percent" and len(fs["points"]) == n21 >= 9


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


def _mini(groups=None, drop=()):
    crime, pop = [], []
    counts = {"2101": 30, "2104": 20, "2121": 25, "2180": 400}
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
    rows = [("G1", "Landsbygdskommun (ovägt medel)", "skr_kommungrupp", code, None) for code in ("2101", "2104", "2121")]
    rows += [("G9", "Större stad (ovägt medel)", "skr_kommungrupp", "2180", None)]
    rows += [("L1", "Liknande kommuner, övergripande, Ockelbo, 2023", "liknande_kommuner", code, "2101")
             for code in ("2104", "2121", "2180")]
    rows += [("L2", "Liknande kommuner ekonomiskt bistånd, Ockelbo, 2023", "liknande_kommuner", "2180", "2101")]
    return pd.DataFrame(rows, columns=["group_id", "group_title", "group_kind", "area_code", "subject_code"]).assign(source="test")


def test_group_comparison_by_hand():
    res = compute_results(_mini(_groups()))
    check_table(res)
    r = res[(res.area_code == "2101") & (res.year == 2024)].iloc[0]
    # SKR group: the other members 2104 and 2121, pooled (Ockelbo itself left out)
    group = (25 + 30) / (9500 + 11500) * 1e5
    assert r.group_value == pytest.approx(group)
    assert r.group_title == "Landsbygdskommun (ovägt medel)"
    # Ockelbo 2024: 35 cases in 6 000 -> 583 per 100 000, exact interval about 406-811: above 262
    assert r.cmp_group == ("higher" if r.ci_low > group else "similar")
    assert r.cmp_group == "higher"
    # Liknande kommuner: the general group is preferred over the theme group
    peers = (25 + 30 + 405) / (9500 + 11500 + 103000) * 1e5
    assert r.peers_value == pytest.approx(peers) and r.peers_title.startswith("Liknande kommuner, övergripande")
    low = stats.chi2.ppf(0.025, 70) / 2 / 6000 * 1e5  # exact lower limit for 35 cases: about 406
    assert low > peers and r.cmp_peers == "higher"
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
            ("2101", y, "otrygghet_kvall", 40.0, 30.0, 50.0, 80),    # few respondents
            ("2104", y, "otrygghet_kvall", 40.0, 28.0, 52.0, 300),   # interval 24 points wide
            ("2180", y, "otrygghet_kvall", 40.0, 37.0, 43.0, 900),   # certain
            ("21", y, "otrygghet_kvall", 25.0, 24.0, 26.0, 2000),
            ("00", y, "otrygghet_kvall", 26.0, 25.8, 26.2, 60000),
        ]
    res = compute_results(make_store(survey=survey))
    check_table(res)
    r = res[res.year == 2024].set_index("area_code")
    assert r.loc["2101", "too_uncertain"] and "80 svarande, färre än 100" in r.loc["2101", "uncertainty_reason"]
    assert r.loc["2104", "too_uncertain"] and "24,0 procentenheter" in r.loc["2104", "uncertainty_reason"]
    assert not r.loc["2180", "too_uncertain"]
    for code in ("2101", "2104"):
        assert r.loc[code, "cmp_lan"] == "unknown" and r.loc[code, "cmp_riket"] == "unknown"
        assert r.loc[code, "cmp_reason"].startswith("för osäkert")
    assert r.loc["2180", "cmp_lan"] == "higher" and r.loc["2180", "cmp_riket"] == "higher"
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
    res = compute_results(make_store(survey=[("2101", 2024, "otrygghet_kvall", 20.0, None, None, 300),
                                             ("2101", 2023, "otrygghet_kvall", 20.0, None, None, None)]))
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
    for col in ("area_name", "indicator_label", "source_kind", "year", "value", "ci_low", "ci_high", "cmp_lan",
                "cmp_riket", "trend", "eb_value"):
        assert res[col].notna().all(), col
    crime = res[res.source_kind == "crime"]
    assert crime[["count", "population"]].notna().all().all()
    assert (res.trend != "unknown").mean() > 0.6
    # With one county in the store, the EB prior is that county's kommuner.
    assert set(res.loc[res.area_level == "kommun", "eb_prior"]) == {"lan"}
    assert res.priority_rank.notna().any()
    assert set(ANALYSIS_COLUMNS) <= set(res.columns)


# ---- benchmarks derived from complete sets of kommuner; pooled periods kept apart -------------

def _county_file(tmp_path, name, drop=(), lan=False):
    """Gävleborg's ten kommuner, 'Totalt antal anmälda brott' 2024, invented counts (100 + 10 i) and rates."""
    from tmb_analysis.geography import registry

    lines = ["geografi,enhet,ar,variabel,varde,kalla"]
    var, kalla = "Totalt antal anmälda brott", "Anmälda brott"
    for i, k in enumerate(registry().kommuner("21")):
        if k.code in drop:
            continue
        lines += [f"{k.name},Antal,2024,{var},{100 + 10 * i}.0,{kalla}",
                  f"{k.name},Antal per 100 000 inv,2024,{var},{1000 + 100 * i}.0,{kalla}"]
    if lan:
        lines += [f"Gävleborgs län,Antal,2024,{var},1450.0,{kalla}", f"Gävleborgs län,Antal per 100 000 inv,2024,{var},1100.0,{kalla}"]
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
    ntu, var = "Nationella trygghetsundersökningen (NTU)", "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet"
    lines = []
    for area, ar, share, low, high in (
            ("Gävle", "2017/2018", 30, 27, 33), ("Gävleborgs län", "2017/2018", 20, 19, 21),  # pooled
            ("Gävle", "2019", 30, 27, 33), ("Gävleborgs län", "2019", 30, 29, 31),  # yearly
            ("Hela landet", "2018", 10, 9.8, 10.2)):  # a yearly riket 2018: not the pooled period's benchmark
        lines += [f"{area},Andel (%),{ar},{var},{share},{ntu}", f"{area},KI (95 %) undre gräns,{ar},{var},{low},{ntu}",
                  f"{area},KI (95 %) övre gräns,{ar},{var},{high},{ntu}"]
    store = tmp_path / "s"
    import_paths([write_bra(lines)], store)
    res = compute_results(load_store(store))
    pooled = row(res, "2180", "otrygghet_kvall", 2018)
    assert (pooled.period, pooled.lan_value, pooled.cmp_lan) == ("2017–2018", 20, "higher")
    assert pd.isna(pooled.riket_value) and pooled.cmp_riket == "unknown"
    assert pooled.trend == "unknown" and "tvåårsperiod" in pooled.trend_reason
    yearly = row(res, "2180", "otrygghet_kvall", 2019)
    assert (yearly.period, yearly.lan_value, yearly.cmp_lan) == ("2019", 30, "similar")
