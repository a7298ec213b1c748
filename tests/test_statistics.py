"""Tests for tmb_analysis.statistics.

Expected values are computed independently of the module: by textbook formulas
with scipy.stats distributions, hand-worked literals, numpy fits of noiseless
series, and esda's independent empirical-Bayes smoother.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from tmb_analysis import statistics as st

Z975 = stats.norm.ppf(0.975)


def garwood(x, alpha=0.05):
    """Textbook Garwood limits on a count via chi-square quantiles."""
    lower = 0.0 if x == 0 else stats.chi2.ppf(alpha / 2, 2 * x) / 2
    upper = stats.chi2.ppf(1 - alpha / 2, 2 * x + 2) / 2
    return lower, upper


def assert_no_inf(*arrays):
    for a in arrays:
        assert not np.isinf(np.asarray(a, dtype=float)).any()


# --------------------------------------------------------------------------- #
# Rates
# --------------------------------------------------------------------------- #
def test_poisson_ci_hand_worked_literals():
    low, high = st.poisson_rate_ci([10, 0], [100_000, 100_000])
    assert low[0] == pytest.approx(4.795, abs=1e-3)
    assert high[0] == pytest.approx(18.39, abs=1e-2)
    assert low[1] == 0.0
    assert high[1] == pytest.approx(3.689, abs=1e-3)


@pytest.mark.parametrize("count", [0, 1, 2, 5, 17, 100, 1234])
@pytest.mark.parametrize("pop", [850.0, 20_000.0, 1_000_000.0])
def test_poisson_ci_matches_chi2_formula(count, pop):
    lo_c, hi_c = garwood(count)
    low, high = st.poisson_rate_ci(count, pop)
    assert float(low) == pytest.approx(lo_c * 100_000 / pop, rel=1e-10, abs=1e-12)
    assert float(high) == pytest.approx(hi_c * 100_000 / pop, rel=1e-10)


def test_poisson_ci_other_alpha_and_per():
    lo_c, hi_c = garwood(7, alpha=0.002)
    low, high = st.poisson_rate_ci(7, 5000, per=1000, alpha=0.002)
    assert float(low) == pytest.approx(lo_c * 1000 / 5000, rel=1e-10)
    assert float(high) == pytest.approx(hi_c * 1000 / 5000, rel=1e-10)


def test_poisson_ci_bad_input_gives_nan_not_inf():
    counts = pd.Series([5, pd.NA, -1, 5, 5, 5, 3], dtype="Int64")
    pops = pd.Series([0.0, 1000, 1000, pd.NA, -5, np.inf, 1000], dtype="Float64")
    low, high = st.poisson_rate_ci(counts, pops)
    assert isinstance(low, np.ndarray) and low.dtype == float
    assert np.isnan(low[:6]).all() and np.isnan(high[:6]).all()
    assert low[6] == pytest.approx(garwood(3)[0] * 100)
    assert_no_inf(low, high)


@pytest.mark.parametrize("count,pop", [(pd.NA, 1000), (None, 1000), (3, None), (3, pd.NA), ("x", 10)])
def test_poisson_ci_scalar_missing(count, pop):
    low, high = st.poisson_rate_ci(count, pop)
    assert np.isnan(low) and np.isnan(high)


def test_rate_per_100k():
    r = st.rate_per_100k(pd.Series([1, 0, pd.NA, 4], dtype="Int64"), [50_000, 10, 10, 0])
    np.testing.assert_allclose(r[:2], [2.0, 0.0])
    assert np.isnan(r[2:]).all()
    assert_no_inf(r)


def test_pooled_rate():
    rate, low, high = st.pooled_rate([10, 12, 8], [10_000, 10_100, 9_900])
    assert rate == pytest.approx(30 / 30_000 * 100_000)
    lo_c, hi_c = garwood(30)
    assert low == pytest.approx(lo_c / 30_000 * 100_000)
    assert high == pytest.approx(hi_c / 30_000 * 100_000)


def test_pooled_rate_missing_year():
    assert all(np.isnan(st.pooled_rate([10, np.nan, 8], [1e4, 1e4, 1e4])))
    assert all(np.isnan(st.pooled_rate([10, 12], [1e4, 0])))
    rate, _, _ = st.pooled_rate([10, np.nan, 8], [1e4, 1e4, 1e4], skipna=True)
    assert rate == pytest.approx(18 / 2e4 * 1e5)
    assert all(np.isnan(st.pooled_rate([], [])))


# --------------------------------------------------------------------------- #
# Shares
# --------------------------------------------------------------------------- #
def wilson_textbook(p, n, z=Z975):
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return 100 * (centre - half), 100 * (centre + half)


@pytest.mark.parametrize("share,n", [(50, 10), (0, 25), (100, 40), (12.5, 800), (33.3, 3)])
def test_wilson_matches_textbook(share, n):
    low, high = st.wilson_share_ci(share, n)
    exp_lo, exp_hi = wilson_textbook(share / 100, n)
    assert float(low) == pytest.approx(exp_lo, abs=1e-9)
    assert float(high) == pytest.approx(exp_hi, abs=1e-9)


def test_wilson_bad_input():
    low, high = st.wilson_share_ci(
        pd.Series([50, 50, 50, -1, 101, pd.NA], dtype="Float64"), [0, -3, np.nan, 10, 10, 10]
    )
    assert np.isnan(low).all() and np.isnan(high).all()


# --------------------------------------------------------------------------- #
# Benchmark comparison
# --------------------------------------------------------------------------- #
def test_compare_to_benchmark():
    lo = pd.Series([5, 1, 1, 1, np.nan, 1, 2], dtype="Float64")
    hi = [6, 2, 3, 3, 3, pd.NA, 4]
    bench = [4, 2.5, 2, 3, 2, 2, pd.NA]
    out = st.compare_to_benchmark(lo, hi, bench)
    assert list(out) == ["higher", "lower", "similar", "similar", "unknown", "unknown", "unknown"]


def test_compare_to_benchmark_scalar_benchmark_broadcasts():
    out = st.compare_to_benchmark([5, 1, 1], [6, 2, 9], 3.0)
    assert list(out) == ["higher", "lower", "similar"]
    assert list(st.compare_to_benchmark([5, 1], [6, 2], np.nan)) == ["unknown", "unknown"]


# --------------------------------------------------------------------------- #
# Trends
# --------------------------------------------------------------------------- #
def test_poisson_trend_exact_ten_percent():
    years = np.arange(2019, 2024)
    counts = 200 * 1.10 ** np.arange(5)
    res = st.poisson_trend(years, counts, 50_000)
    assert res.pct_per_year == pytest.approx(10.0, abs=1e-6)
    assert res.classification == "increasing"
    assert res.ci_low > 0 and res.ci_low < 10 < res.ci_high
    assert res.n_years == 5 and res.scale == 1.0 and res.reason == ""


def test_poisson_trend_noiseless_matches_polyfit_on_log_rates():
    years = np.array([2016, 2017, 2018, 2019, 2020, 2021, 2023])  # a gap, unsorted below
    pop = np.array([10_000, 10_400, 11_000, 9_800, 12_000, 12_500, 13_000.0])
    rates = 0.01 * np.exp(-0.07 * (years - 2016))
    counts = rates * pop
    order = np.array([3, 0, 6, 1, 5, 2, 4])
    res = st.poisson_trend(years[order], counts[order], pop[order], last_n=5)
    last = slice(2, 7)
    slope = np.polyfit(years[last], np.log(counts[last] / pop[last]), 1)[0]
    assert res.pct_per_year == pytest.approx(100 * (math.exp(slope) - 1), abs=1e-6)
    assert res.pct_per_year == pytest.approx(100 * (math.exp(-0.07) - 1), abs=1e-6)
    assert res.classification == "decreasing"
    assert res.n_years == 5


def test_poisson_trend_uses_last_n_years_only():
    years = np.arange(2010, 2024)
    counts = np.r_[[500, 10, 900, 30, 700, 5, 800, 50, 400], 100 * 1.1 ** np.arange(5)]
    res = st.poisson_trend(years, counts, 1e5, last_n=5)
    assert res.pct_per_year == pytest.approx(10.0, abs=1e-6)


def test_poisson_trend_skips_years_without_population():
    years = np.arange(2015, 2022)
    counts = 100 * 1.05 ** np.arange(7)
    pop = np.array([1e4, 1e4, 1e4, np.nan, 1e4, 0, 1e4])
    res = st.poisson_trend(years, counts, pop, last_n=5)
    assert res.n_years == 5
    assert res.pct_per_year == pytest.approx(5.0, abs=1e-6)


def test_poisson_trend_quasi_poisson_by_hand():
    """Check MLE score equations, Pearson scale and CI with hand formulas."""
    years = np.arange(2019, 2024).astype(float)
    counts = np.array([40.0, 75, 38, 90, 70])
    pop = np.array([20_000, 20_500, 21_000, 21_400, 22_000.0])
    res = st.poisson_trend(years, counts, pop, use_t=True)
    b = math.log1p(res.pct_per_year / 100)
    x = years - years.mean()
    a = math.log(counts.sum() / np.sum(pop * np.exp(b * x)))
    mu = pop * np.exp(a + b * x)
    assert np.sum(x * (counts - mu)) == pytest.approx(0, abs=1e-5)  # slope score = 0
    scale = np.sum((counts - mu) ** 2 / mu) / 3
    assert scale > 1
    assert res.scale == pytest.approx(scale, rel=1e-6)
    info = np.array([[mu.sum(), (x * mu).sum()], [(x * mu).sum(), (x * x * mu).sum()]])
    se = math.sqrt(np.linalg.inv(info)[1, 1] * scale)
    tq = stats.t.ppf(0.975, 3)
    assert res.ci_low == pytest.approx(100 * math.expm1(b - tq * se), rel=1e-5)
    assert res.ci_high == pytest.approx(100 * math.expm1(b + tq * se), rel=1e-5)
    assert res.classification == "no_clear_trend"
    # With normal quantiles the interval is narrower but still quasi-Poisson.
    res_z = st.poisson_trend(years, counts, pop, use_t=False)
    assert res_z.ci_high == pytest.approx(100 * math.expm1(b + Z975 * se), rel=1e-5)


def test_poisson_trend_underdispersed_keeps_poisson_scale():
    years = np.arange(2019, 2024)
    res = st.poisson_trend(years, [100, 101, 99, 100, 100], 1e4)
    assert res.scale == 1.0
    assert res.classification == "no_clear_trend"


@pytest.mark.parametrize(
    "years,counts,pop,reason",
    [
        ([2023], [10], [1000], "för få år med data"),
        ([2022, 2023], [10, 12], [1000, 1000], "för få år med data"),
        (range(2019, 2024), [0, 0, 0, 0, 0], 1e4, "alla värden noll"),
        (range(2019, 2024), [5, 6, 7, 8, 9], [0, 0, 0, 0, 0], "befolkning saknas"),
        (range(2019, 2024), [5, 6, 7, 8, 9], [np.nan, pd.NA, 1e4, None, 0], "befolkning saknas"),
        (range(2019, 2024), [np.nan, pd.NA, 5, None, -1], 1e4, "för få år med data"),
        (range(2019, 2024), [0, 0, 0, 0, 7], 1e4, "händelser endast under ett år"),
        ([], [], [], "för få år med data"),
    ],
)
def test_poisson_trend_unknown(years, counts, pop, reason):
    res = st.poisson_trend(list(years), counts, pop)
    assert res.classification == "unknown"
    assert res.reason == reason
    assert all(math.isnan(v) for v in (res.pct_per_year, res.ci_low, res.ci_high, res.scale))


def test_poisson_trend_accepts_nullable_series():
    years = pd.Series([2019, 2020, 2021, 2022, 2023], dtype="Int64")
    counts = pd.Series([100, 110, pd.NA, 133, 146], dtype="Int64")
    res = st.poisson_trend(years, counts, pd.Series([1e4] * 5, dtype="Float64"))
    assert res.n_years == 4
    assert res.classification in {"increasing", "no_clear_trend"}


def test_share_trend_noiseless_equal_weights():
    years = np.arange(2015, 2020)
    share = 20 + 0.8 * (years - 2015)
    se = 1.0
    res = st.share_trend(years, share, share - Z975 * se, share + Z975 * se)
    sxx = np.sum((years - years.mean()) ** 2)
    assert res.pct_per_year == pytest.approx(0.8, abs=1e-9)
    assert res.ci_low == pytest.approx(0.8 - Z975 * se / math.sqrt(sxx), abs=1e-9)
    assert res.ci_high == pytest.approx(0.8 + Z975 * se / math.sqrt(sxx), abs=1e-9)
    assert res.classification == "increasing"
    assert res.unit == "percentage_points_per_year"


def test_share_trend_weights_match_polyfit():
    years = np.arange(2014, 2020)
    share = np.array([30.0, 28, 31, 27, 26, 25])
    half = np.array([6.0, 2, 4, 1, 3, 2])
    res = st.share_trend(years, share, share - half, share + half, last_n=6)
    slope = np.polyfit(years, share, 1, w=Z975 / half)[0]  # polyfit wants 1/sigma
    assert res.pct_per_year == pytest.approx(slope, abs=1e-9)
    assert res.n_years == 6


@pytest.mark.parametrize(
    "share,lo,hi,reason",
    [
        ([10, 11], [8, 9], [12, 13], "för få år med data"),
        ([0, 0, 0, 0], [0, 0, 0, 0], [3, 3, 3, 3], "alla värden noll"),
        ([10, 11, 12, 13], [np.nan] * 4, [np.nan] * 4, "konfidensintervall saknas"),
        ([10, 11, 12, 13], [10, 11, 12, 13], [10, 11, 12, 13], "konfidensintervall saknas"),
    ],
)
def test_share_trend_unknown(share, lo, hi, reason):
    years = np.arange(2020, 2020 + len(share))
    res = st.share_trend(years, share, lo, hi)
    assert res.classification == "unknown" and res.reason == reason
    assert math.isnan(res.pct_per_year)


# --------------------------------------------------------------------------- #
# Empirical Bayes
# --------------------------------------------------------------------------- #
@pytest.fixture
def eb_data():
    rng = np.random.default_rng(20240601)
    pops = rng.integers(2_500, 900_000, size=60).astype(float)
    true_rates = rng.gamma(shape=4.0, scale=0.0005 / 4.0, size=60)
    counts = rng.poisson(true_rates * pops).astype(float)
    counts[:3] = 0.0  # zero counts must be handled
    return counts, pops


def test_eb_matches_esda(eb_data):
    from esda.smoothing import Empirical_Bayes

    counts, pops = eb_data
    ref = Empirical_Bayes(counts, pops).r.ravel() * 100_000
    out = st.eb_shrink(counts, pops)
    assert list(out.columns) == ["eb_rate", "eb_low", "eb_high", "shrinkage_weight"]
    np.testing.assert_allclose(out["eb_rate"].to_numpy(), ref, rtol=1e-9)
    assert (out["eb_low"] <= out["eb_rate"]).all() and (out["eb_rate"] <= out["eb_high"]).all()
    assert out["shrinkage_weight"].between(0, 1).all()


def test_eb_skips_nan_rows_and_keeps_index(eb_data):
    from esda.smoothing import Empirical_Bayes

    counts, pops = eb_data
    c = pd.Series(counts, index=[f"k{i}" for i in range(len(counts))]).astype("Float64")
    c.iloc[5] = pd.NA
    p = pops.copy()
    p[7] = 0.0
    out = st.eb_shrink(c, p)
    assert list(out.index) == list(c.index)
    assert out.iloc[[5, 7]].isna().all().all()
    keep = np.ones(len(counts), bool)
    keep[[5, 7]] = False
    ref = Empirical_Bayes(counts[keep], pops[keep]).r.ravel() * 100_000
    np.testing.assert_allclose(out["eb_rate"].to_numpy(dtype=float)[keep], ref, rtol=1e-9)


def test_eb_posterior_gamma_by_hand(eb_data):
    counts, pops = eb_data
    m = counts.sum() / pops.sum()
    s2 = np.sum(pops * (counts / pops - m) ** 2) / pops.sum() - m / pops.mean()
    assert s2 > 0
    shape, rate = m * m / s2 + counts, m / s2 + pops
    out = st.eb_shrink(counts, pops, alpha=0.1)
    np.testing.assert_allclose(out["eb_low"], stats.gamma.ppf(0.05, shape, scale=1 / rate) * 1e5)
    np.testing.assert_allclose(out["eb_high"], stats.gamma.ppf(0.95, shape, scale=1 / rate) * 1e5)
    np.testing.assert_allclose(out["shrinkage_weight"], s2 / (s2 + m / pops))
    # A small area is shrunk more than a large one.
    small, large = np.argmin(pops), np.argmax(pops)
    assert out["shrinkage_weight"][small] < out["shrinkage_weight"][large]


def test_eb_degenerate_variance_shrinks_fully():
    counts, pops = [10, 20, 31], [10_000, 20_000, 30_000]  # no extra-Poisson spread
    out = st.eb_shrink(counts, pops)
    m = 61 / 60_000 * 1e5
    np.testing.assert_allclose(out["eb_rate"], m)
    assert (out["shrinkage_weight"] == 0).all()
    lo, hi = garwood(61)
    np.testing.assert_allclose(out["eb_low"], lo / 60_000 * 1e5)
    np.testing.assert_allclose(out["eb_high"], hi / 60_000 * 1e5)


def test_eb_all_zero_and_all_missing():
    out = st.eb_shrink([0, 0, 0], [1000, 2000, 3000])
    assert (out["eb_rate"] == 0).all() and (out["eb_low"] == 0).all()
    assert np.isfinite(out["eb_high"]).all()
    out = st.eb_shrink([np.nan, pd.NA], [0, 100])
    assert out.isna().all().all()
    assert_no_inf(out.to_numpy(dtype=float))


# --------------------------------------------------------------------------- #
# Batch trends: checked against per-series statsmodels fits
# --------------------------------------------------------------------------- #
def _series_frame(seed=11, n_series=60):
    """Random count series with gaps, zeros, missing populations and all-zero series."""
    rng = np.random.default_rng(seed)
    rows = []
    for sid in range(n_series):
        pop = float(rng.integers(2_000, 400_000))
        rate = rng.gamma(2.0, 0.001)
        years = np.arange(2014, 2025)
        counts = rng.poisson(rate * pop * np.exp(rng.normal(0, 0.25, len(years)) * (sid % 3))).astype(float)
        pops = np.full(len(years), pop) * (1 + 0.01 * np.arange(len(years)))
        if sid % 7 == 0:
            counts[4] = np.nan
        if sid % 11 == 0:
            pops[6] = 0.0
        if sid % 13 == 0:
            counts[:] = 0.0
        if sid % 17 == 0:
            counts[:-1] = 0.0  # events in one year only
        keep = rng.random(len(years)) > 0.08  # a few years missing altogether
        for y, c, p in zip(years[keep], counts[keep], pops[keep]):
            rows.append((f"s{sid}", y, c, p))
    df = pd.DataFrame(rows, columns=["series", "year", "count", "pop"])
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # row order must not matter


def _glm_reference(years, counts, pops, last_n=5):
    """Independent reference: the last usable years, statsmodels GLM to a tight tolerance."""
    import statsmodels.api as sm

    ok = np.isfinite(counts) & np.isfinite(pops) & (pops > 0)
    order = np.argsort(years[ok])[-last_n:]
    y, c, p = years[ok][order], counts[ok][order], pops[ok][order]
    x = sm.add_constant(y - y.mean())
    model = sm.GLM(c, x, family=sm.families.Poisson(), offset=np.log(p))
    res = model.fit(tol=1e-13, maxiter=200)
    dispersion = res.pearson_chi2 / res.df_resid
    if dispersion > 1:
        res = model.fit(scale="X2", use_t=True, tol=1e-13, maxiter=200)
    lo, hi = np.asarray(res.conf_int(alpha=0.05))[1]
    return 100 * math.expm1(res.params[1]), 100 * math.expm1(lo), 100 * math.expm1(hi), float(res.scale), len(y)


def test_poisson_trend_batch_matches_statsmodels_per_series():
    df = _series_frame()
    out = st.poisson_trend_batch(df["series"], df["year"], df["count"], df["pop"])
    assert len(out) == len(df) and list(out.index) == list(range(len(df)))
    checked = 0
    for i, r in df.iterrows():
        sub = df[(df["series"] == r["series"]) & (df["year"] <= r["year"])]
        ref = st.poisson_trend(sub["year"], sub["count"], sub["pop"])  # the per-series function
        o = out.iloc[i]
        assert (o["classification"], o["reason"], o["n_years"]) == (ref.classification, ref.reason, ref.n_years)
        if ref.classification == "unknown":
            assert math.isnan(o["pct_per_year"]) and math.isnan(o["ci_low"]) and o["reason"]
            continue
        pct, lo, hi, scale, n = _glm_reference(
            sub["year"].to_numpy(float), sub["count"].to_numpy(float), sub["pop"].to_numpy(float)
        )
        assert o["pct_per_year"] == pytest.approx(pct, rel=1e-6, abs=1e-6)
        assert o["ci_low"] == pytest.approx(lo, rel=1e-6, abs=1e-6)
        assert o["ci_high"] == pytest.approx(hi, rel=1e-6, abs=1e-6)
        assert o["scale"] == pytest.approx(scale, rel=1e-6)
        checked += 1
    assert checked > 300
    assert {"för få år med data", "alla värden noll", "händelser endast under ett år"} <= set(out["reason"])


def test_poisson_trend_batch_windows_and_first_year():
    years = np.arange(2016, 2025)
    counts = 100 * 1.1 ** np.arange(len(years))
    out = st.poisson_trend_batch(["a"] * len(years), years, counts, 1e5)
    assert list(out["n_years"]) == [1, 2, 3, 4, 5, 5, 5, 5, 5]
    assert list(out["classification"][:2]) == ["unknown", "unknown"]
    assert list(out["first_year"]) == [2016, 2016, 2016, 2016, 2016, 2017, 2018, 2019, 2020]
    np.testing.assert_allclose(out["pct_per_year"][2:], 10.0, atol=1e-8)
    assert (out["unit"] == "percent_per_year").all()


def test_poisson_trend_batch_bad_input_never_inf():
    out = st.poisson_trend_batch(
        ["a", "a", "b", "b", "b", "c"],
        [2020, 2021, 2020, 2021, 2022, 2022],
        [np.inf, 3, pd.NA, None, 4, 0],
        [0, np.nan, 10, 10, 10, 1e4],
    )
    assert (out["classification"] == "unknown").all()
    assert (out["reason"] != "").all()
    assert not np.isinf(out[["pct_per_year", "ci_low", "ci_high", "scale"]].to_numpy(float)).any()
    assert len(st.poisson_trend_batch([], [], [], [])) == 0


def test_poisson_trend_batch_duplicate_years_are_unknown():
    out = st.poisson_trend_batch(["a"] * 4, [2020, 2021, 2021, 2022], [5, 6, 7, 8], 1e4)
    assert (out["reason"] == "samma år förekommer flera gånger").iloc[2:].all()


def test_share_trend_batch_matches_wls_per_series():
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    rows = []
    for sid in range(40):
        for y in range(2017, 2026):
            share = float(np.clip(20 + 0.6 * (y - 2017) * (sid % 2) + rng.normal(0, 2), 0, 100))
            half = float(rng.uniform(1, 7))
            lo = np.nan if (sid % 6 == 0 and y == 2020) else share - half
            rows.append((sid, y, share, lo, share + half))
    df = pd.DataFrame(rows, columns=["s", "y", "v", "lo", "hi"]).sample(frac=1, random_state=2).reset_index(drop=True)
    out = st.share_trend_batch(df["s"], df["y"], df["v"], df["lo"], df["hi"])
    for i, r in df.iterrows():
        sub = df[(df["s"] == r["s"]) & (df["y"] <= r["y"])].dropna().sort_values("y").tail(5)
        o = out.iloc[i]
        if len(sub) < 3:
            assert o["classification"] == "unknown"
            continue
        se = (sub["hi"] - sub["lo"]) / (2 * Z975)
        x = sm.add_constant(sub["y"].to_numpy(float) - 2020.0)
        fit = sm.WLS(sub["v"].to_numpy(), x, weights=1 / se**2).fit()
        chi2 = float(np.sum((sub["v"] - fit.fittedvalues) ** 2 / se**2))
        scale = max(chi2 / (len(sub) - 2), 1.0)
        bse = math.sqrt(np.linalg.inv(x.T @ np.diag(1 / se**2) @ x)[1, 1] * scale)
        q = stats.t.ppf(0.975, len(sub) - 2) if scale > 1 else Z975
        assert o["pct_per_year"] == pytest.approx(fit.params[1], abs=1e-9)
        assert o["ci_low"] == pytest.approx(fit.params[1] - q * bse, abs=1e-9)
        assert o["ci_high"] == pytest.approx(fit.params[1] + q * bse, abs=1e-9)
        assert o["unit"] == "percentage_points_per_year"


# --------------------------------------------------------------------------- #
# Grouped empirical Bayes, normal-normal EB
# --------------------------------------------------------------------------- #
def test_eb_grouped_matches_esda_per_group(eb_data):
    from esda.smoothing import Empirical_Bayes

    counts, pops = eb_data
    groups = np.repeat(["a", "b", "c"], 20)
    out = st.eb_shrink_grouped(counts, pops, groups)
    for g in "abc":
        m = groups == g
        ref = Empirical_Bayes(counts[m], pops[m]).r.ravel() * 100_000
        np.testing.assert_allclose(out.loc[m, "eb_rate"], ref, rtol=1e-9)
        single = st.eb_shrink(counts[m], pops[m])
        np.testing.assert_allclose(
            out.loc[m, ["eb_low", "eb_high", "shrinkage_weight"]].to_numpy(float),
            single[["eb_low", "eb_high", "shrinkage_weight"]].to_numpy(float),
            rtol=1e-12,
        )
        assert (out.loc[m, "prior_n"] == 20).all()


def test_eb_grouped_min_areas_and_missing_group():
    out = st.eb_shrink_grouped([5, 6, 7, 8, 9], [1e4] * 5, ["a", "a", "b", "b", None], min_areas=3)
    assert out["eb_rate"].isna().all() and (out["prior_n"] == 0).all()


def test_eb_normal_matches_statsmodels_random_effects():
    from statsmodels.stats.meta_analysis import combine_effects

    rng = np.random.default_rng(9)
    y = rng.normal(25, 4, 25)
    se = rng.uniform(1, 6, 25)
    out = st.eb_shrink_normal(y, se)
    ref = combine_effects(y, se**2, method_re="dl")
    tau2, mu = ref.tau2, ref.mean_effect_re
    assert tau2 > 0
    b = se**2 / (se**2 + tau2)
    post = b * mu + (1 - b) * y
    sd = np.sqrt((1 - b) * se**2)
    np.testing.assert_allclose(out["eb_rate"], post, rtol=1e-10)
    np.testing.assert_allclose(out["eb_low"], post - Z975 * sd, rtol=1e-10)
    np.testing.assert_allclose(out["eb_high"], post + Z975 * sd, rtol=1e-10)
    np.testing.assert_allclose(out["prior_mean"], mu, rtol=1e-10)


def test_eb_normal_no_heterogeneity_gives_common_mean():
    y, se = np.array([20.0, 20.5, 19.5]), np.array([3.0, 3.0, 3.0])
    out = st.eb_shrink_normal(y, se)
    np.testing.assert_allclose(out["eb_rate"], 20.0)
    np.testing.assert_allclose(out["eb_high"] - out["eb_rate"], Z975 * 3 / math.sqrt(3))
    bad = st.eb_shrink_normal([np.nan, 5], [1, 0])
    assert bad["eb_rate"].isna().all()


# --------------------------------------------------------------------------- #
# Dobson
# --------------------------------------------------------------------------- #


def test_dobson_ci_by_hand():
    counts = np.array([12.0, 30.0, 4.0])
    w = np.array([6.0, 2.0, 8.0])
    t, v, y = np.sum(w * counts), np.sum(w**2 * counts), counts.sum()
    y_lo, y_hi = garwood(y)
    low, high = st.dobson_ci(t, v, y)
    assert float(low) == pytest.approx(t + math.sqrt(v / y) * (y_lo - y), rel=1e-12)
    assert float(high) == pytest.approx(t + math.sqrt(v / y) * (y_hi - y), rel=1e-12)
    # Equal weights reduce to the exact interval of the scaled count.
    low1, high1 = st.dobson_ci(3 * y, 9 * y, y)
    assert float(low1) == pytest.approx(3 * y_lo) and float(high1) == pytest.approx(3 * y_hi)
    assert np.isnan(st.dobson_ci(0, 0, 0)[0])


# --------------------------------------------------------------------------- #
# The model of variation between areas: phi, tau2, limits, multiplicity, redraws
# --------------------------------------------------------------------------- #
def _panel(seed=3, groups=3, areas=12, years=6, drop=0.1):
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(groups):
        for a in range(areas):
            level = rng.normal(0, 0.4)
            for t in range(years):
                if rng.random() < drop:
                    continue  # an unbalanced panel, as real stores are
                n = int(rng.integers(3_000, 90_000))
                mu = n * 1e-3 * np.exp(level + 0.05 * t)
                y = rng.negative_binomial(mu / 2, 1 / 3) if g == 1 else rng.poisson(mu)
                rows.append((f"g{g}", f"k{a}", 2015 + t, int(y), n))
    return pd.DataFrame(rows, columns=["g", "a", "t", "y", "n"])


def test_twoway_dispersion_matches_statsmodels_glm():
    df = _panel()
    df.loc[df.index[:3], "y"] = 0  # a few zero counts (large Pearson residuals: the fit must still agree)
    out = st.twoway_dispersion(df.y, df.n, df.a, df.t, df.g).set_index("group")
    for g, sub in df.groupby("g"):
        x = sm.add_constant(pd.get_dummies(sub[["a", "t"]].astype(str), drop_first=True).astype(float).to_numpy())
        fit = sm.GLM(sub.y.to_numpy(float), x, family=sm.families.Poisson(), offset=np.log(sub.n.to_numpy(float))).fit(
            tol=1e-13
        )
        assert out.loc[g, "phi"] == pytest.approx(fit.pearson_chi2 / fit.df_resid, rel=1e-7)
        assert out.loc[g, "df"] == fit.df_resid
    assert out.loc["g1", "phi"] > 2  # the negative-binomial group (variance 3 x mean)
    assert 0.7 < out.loc["g2", "phi"] < 1.4  # Poisson counts


def test_twoway_dispersion_drops_all_zero_areas_and_bad_rows():
    df = _panel(groups=1, drop=0.0)
    zero = df.a == "k0"
    ref = st.twoway_dispersion(df.y[~zero], df.n[~zero], df.a[~zero], df.t[~zero])
    df.loc[zero, "y"] = 0  # an area with no events carries no information on the dispersion
    bad = pd.DataFrame(
        {"y": [np.nan, 5, -1], "n": [1000, 0, 1000], "a": ["x", "y", "z"], "t": [2015] * 3, "g": ["g0"] * 3}
    )
    both = pd.concat([df, bad], ignore_index=True)
    out = st.twoway_dispersion(both.y, both.n, both.a, both.t)
    assert out.phi[0] == pytest.approx(ref.phi[0], rel=1e-9) and out.n_areas[0] == 11
    empty = st.twoway_dispersion([0, 0], [100, 100], ["a", "b"], [1, 2])
    assert math.isnan(empty.phi[0]) and empty.df[0] == 0


def test_dl_tau2_is_dersimonian_laird_without_winsorising():
    from statsmodels.stats.meta_analysis import combine_effects

    rng = np.random.default_rng(5)
    y, v = rng.normal(0, 1.2, 15), rng.uniform(0.1, 1.0, 15)
    assert st.dl_tau2(y, v, winsor=0).tau2[0] == pytest.approx(combine_effects(y, v, method_re="dl").tau2, rel=1e-10)
    grouped = st.dl_tau2(np.r_[y, y[:8]], np.r_[v, v[:8]], groups=[0] * 15 + [1] * 8, winsor=0)
    assert grouped.tau2[1] == pytest.approx(combine_effects(y[:8], v[:8], method_re="dl").tau2, rel=1e-10)
    assert list(grouped.n) == [15, 8]


def test_dl_tau2_winsorised_by_hand():
    # ten areas with unit variance around the centre 0: z = y. The 10th/90th percentiles of
    # z = 1..10 (type 7) are 1.9 and 9.1, so z_w = 1.9, 2, ..., 9, 9.1.
    y = np.arange(1.0, 11.0)
    out = st.dl_tau2(y, np.ones(10), centre=0.0)
    zw = np.r_[1.9, np.arange(2.0, 10.0), 9.1]
    expected = (np.sum(zw**2) - 9) / (10 - 10 / 10)
    assert out.tau2[0] == pytest.approx(expected)
    assert out.excess[0] == pytest.approx(np.sum(zw**2) - 9) and out.denom[0] == pytest.approx(9.0)
    # no variation beyond chance: tau2 = 0, never negative
    assert st.dl_tau2(np.zeros(10), np.ones(10), centre=0.0).tau2[0] == 0.0
    assert math.isnan(st.dl_tau2([1.0], [1.0]).tau2[0])


def test_additive_tau2_alone_flags_small_kommuner_when_counts_are_overdispersed():
    """Why the model has both a multiplicative phi and an additive tau2: with counts drawn around one
    rate with variance 8 x Poisson, tau2 fitted alone leaves small kommuner with nearly Poisson
    variance, and a third of them are flagged at the 5 % level (large ones almost never); with phi
    as well, about 5 % of each size class are."""
    rng = np.random.default_rng(7)
    ranks = np.arange(1, 291)
    pop = np.exp(
        np.interp(np.log(ranks), np.log([1, 10, 60, 145, 250, 290]), np.log([1e6, 15e4, 45e3, 16e3, 6500, 2500]))
    )
    phi, rate = 8.0, 3600.0
    flags = {1.0: [], phi: []}
    for _ in range(60):
        y = rng.negative_binomial(rate * pop / 1e5 / (phi - 1), 1 / phi)
        v, s2 = st.sqrt_rate(y, pop)
        for ph in flags:
            tau2 = st.dl_tau2(v, ph * s2, centre=np.sqrt(y.sum() / pop.sum() * 1e5)).tau2[0]
            flags[ph].append(st.compare_z((v - np.sqrt(rate)) / np.sqrt(ph * s2 + tau2)) != "similar")
    small, large = pop < 10_000, pop >= 100_000
    alone, both = np.mean(flags[1.0], axis=0), np.mean(flags[phi], axis=0)
    assert alone[small].mean() > 0.25 and alone[large].mean() < 0.02
    assert 0.03 < both[small].mean() < 0.075 and 0.03 < both[large].mean() < 0.075


def test_sqrt_rate_and_rate_limits_are_funnelplotr_cqc_limits_by_hand():
    v, var = st.sqrt_rate([25, 0, 5], [50_000, 1_000, 0])
    assert v[0] == pytest.approx(math.sqrt(50.0)) and var[0] == pytest.approx(1e5 / 200_000)
    assert v[1] == 0.0 and math.isnan(v[2]) and math.isnan(var[2])
    # FunnelPlotR, method "CQC": limits = target x (1 -/+ z sqrt(1/(4E) + tau2_rel))^2 with E the
    # expected count; on the rate scale tau2 = tau2_rel x rate.
    rate, pops, tau2_rel = 400.0, np.array([5_000.0, 50_000.0, 500_000.0]), 0.01
    lim = st.rate_limits(rate, 0.0, pops, phi=1.0, tau2=tau2_rel * rate)
    expected = rate * pops / 1e5
    for tag, z in (("95", 1.959964), ("998", 3.090232)):
        half = z * np.sqrt(1 / (4 * expected) + tau2_rel)
        np.testing.assert_allclose(lim[f"hi_{tag}"], rate * (1 + half) ** 2, rtol=1e-6)
        np.testing.assert_allclose(lim[f"lo_{tag}"], rate * np.maximum(1 - half, 0) ** 2, rtol=1e-6)
    # phi multiplies the Poisson part; the benchmark's own variance adds; the lower limit stops at 0
    wide = st.rate_limits(rate, 0.5, [2_000.0], phi=9.0, tau2=0.0)
    sd = math.sqrt(9 * 1e5 / 8_000 + 0.5)
    assert wide.hi_95[0] == pytest.approx((20 + 1.959964 * sd) ** 2, rel=1e-6)
    assert wide.lo_998[0] == 0.0
    assert st.rate_limits(np.nan, 0, [1000]).hi_95.isna().all()


def test_share_limits_and_effective_size_by_hand():
    n = st.effective_size([1.0, 2.5], 25.0)
    np.testing.assert_allclose(n, [25 * 75 / 1.0, 25 * 75 / 6.25])
    lim = st.share_limits(25.0, 0.04, n, tau2=1.5)
    # at each area's own precision the limit is bench +- z sqrt(se^2 + tau2 + var_bench)
    np.testing.assert_allclose(lim.hi_95, 25 + 1.959964 * np.sqrt(np.array([1.0, 6.25]) + 1.5 + 0.04), rtol=1e-6)
    assert st.share_limits(0.0, 0, [100]).hi_95.isna().all()


def test_compare_z_and_funnel_label():
    z = [2.0, -2.0, 1.0, np.nan, 3.2]
    assert list(st.compare_z(z)) == ["higher", "lower", "similar", "unknown", "higher"]
    assert list(st.funnel_label(z)) == ["within", "within", "within", "unknown", "above"]


def test_bh_adjust_and_reject_match_statsmodels_per_group():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(11)
    groups = rng.integers(0, 6, 300)
    p = np.where(rng.random(300) < 0.15, rng.uniform(0, 1e-3, 300), rng.random(300))
    p[::37] = np.nan
    adj = st.bh_adjust(p, groups)
    rej = st.bh_reject(p, groups, 0.05)
    for g in range(6):
        m = (groups == g) & np.isfinite(p)
        ref_rej, ref_adj, _, _ = multipletests(p[m], alpha=0.05, method="fdr_bh")
        np.testing.assert_allclose(adj[m], ref_adj, rtol=1e-12)
        assert list(rej[m]) == list(ref_rej)
    assert np.isnan(adj[::37]).all() and not rej[::37].any()
    # with the number of tests given, a group whose other tests are missing keeps its m
    assert not st.bh_reject([0.01], [0], 0.05, m=[10])[0] and st.bh_reject([0.004], [0], 0.05, m=[10])[0]


def test_nb_draw_moments():
    rng = np.random.default_rng(2)
    d = st.nb_draw(rng, [40.0, 40.0, 0.0], [5.0, 1.0, 5.0], 40_000)
    assert d[:, 0].mean() == pytest.approx(40, rel=0.02) and d[:, 0].var() == pytest.approx(200, rel=0.05)
    assert d[:, 1].var() == pytest.approx(40, rel=0.05)  # phi = 1: Poisson
    assert (d[:, 2] == 0).all()


def test_trend_scale_floor_is_the_pooled_phi():
    years = np.arange(2020, 2025)
    counts, pop = np.array([100, 104, 99, 107, 110]), np.full(5, 50_000)
    free = st.poisson_trend(years, counts, pop)
    floored = st.poisson_trend(years, counts, pop, min_scale=6.0)
    x = sm.add_constant(years - years.mean())
    ref = sm.GLM(counts, x, family=sm.families.Poisson(), offset=np.log(pop)).fit(scale=6.0, tol=1e-12)
    lo, hi = np.asarray(ref.conf_int())[1]
    assert floored.scale == pytest.approx(6.0) and floored.ci_low == pytest.approx(100 * np.expm1(lo), rel=1e-6)
    assert floored.ci_high - floored.ci_low > free.ci_high - free.ci_low
    batch = st.poisson_trend_batch(np.zeros(5), years, counts, pop, min_scale=6.0).iloc[-1]
    assert batch.ci_low == pytest.approx(floored.ci_low, rel=1e-6) and batch.stat_df == np.inf
    assert batch.stat == pytest.approx(ref.params[1] / ref.bse[1], rel=1e-6)
    # a local chi2/df above the floor wins, with t quantiles
    noisy = np.array([100, 160, 80, 150, 90])
    b2 = st.poisson_trend_batch(np.zeros(5), years, noisy, pop, min_scale=2.0).iloc[-1]
    assert b2.scale > 2.0 and b2.stat_df == 3


def test_trend_slope_and_se_read_back_from_the_interval_match_statsmodels():
    """The priority's trend test needs the slope and its standard error; they are read back from the
    reported change per year and its interval, and must equal the GLM's own params and bse."""
    import statsmodels.api as sm

    years = np.arange(2020, 2025)
    counts, pop = np.array([120, 131, 150, 149, 170]), np.full(5, 50_000.0)
    x = sm.add_constant(years - years.mean())
    fit = sm.GLM(counts, x, family=sm.families.Poisson(), offset=np.log(pop)).fit(scale="X2", tol=1e-12)
    lo, hi = fit.conf_int()[1]  # normal quantiles (df inf)
    pct, pct_lo, pct_hi = 100 * np.expm1([fit.params[1], lo, hi])
    beta, se = st.trend_slope_and_se(pct, pct_lo, pct_hi, np.inf, percent=True)
    assert float(beta) == pytest.approx(fit.params[1], rel=1e-9) and float(se) == pytest.approx(fit.bse[1], rel=1e-9)
    # shares: percentage points, t quantiles on 3 df
    beta, se = st.trend_slope_and_se(1.2, 1.2 - 2 * 3.182446305, 1.2 + 2 * 3.182446305, 3, percent=False)
    assert float(beta) == pytest.approx(1.2) and float(se) == pytest.approx(2.0, rel=1e-8)
    assert np.isnan(st.trend_slope_and_se(np.nan, np.nan, np.nan, np.inf)[0])
