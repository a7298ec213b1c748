"""The context analysis (tmb_analysis.context.compute_context, issue 16), checked against values worked
out independently: Wilson intervals by hand from scipy's normal quantile, benchmarks recomputed from the
store's rows, verdicts against a simulation where nothing is really different."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tmb_analysis.context import CONTEXT_COLUMNS, compute_context, context_catalogue
from tmb_analysis.geography import registry
from tmb_analysis.store import load_store


def wilson_by_hand(c, n, scale):
    """Wilson (1927) score interval, written out: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    z = stats.norm.ppf(0.975)
    p = c / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) * scale, (centre + half) * scale


@pytest.fixture(scope="module")
def sample(sample_store):
    st = load_store(sample_store)
    return st, compute_context(st)


def test_columns_and_never_a_priority(sample):
    st, res = sample
    assert list(res.columns) == CONTEXT_COLUMNS and len(res) == len(st.context)
    assert (res["source_kind"] == "context").all() and res["priority_rank"].isna().all()
    assert set(res["indicator"]) == set(context_catalogue().ids)


def test_context_indicators_stay_out_of_the_results_and_priorities(sample_store):
    from tmb_analysis.report import load_results

    results, _ = load_results(sample_store)
    ids = set(context_catalogue().ids)
    assert not ids & set(results["indicator"]) and "context" not in set(results["source_kind"])


def test_interval_where_kolada_publishes_a_count(sample):
    _, res = sample
    rows = res[res["comparison_kind"] == "interval"]
    assert set(rows["indicator"]) == {"unga_placerade_hvb"} and len(rows) > 1000
    assert not rows["count_derived"].any()
    for r in rows.sample(40, random_state=1).itertuples(index=False):
        lo, hi = wilson_by_hand(float(r.count), float(r.population), 1000)
        assert (r.ci_low, r.ci_high) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))
        assert r.ci_low <= r.value + 0.05 and r.value - 0.05 <= r.ci_high


def test_approximate_interval_from_the_published_population(sample):
    st, res = sample
    rows = res[res["comparison_kind"] == "approximate"]
    with_den = {i.id for i in context_catalogue() if i.denominator_kpis and not i.count_kpi}
    assert set(rows["indicator"]) == with_den and rows["count_derived"].all()
    for r in rows.sample(40, random_state=2).itertuples(index=False):
        count = round(r.value / 100 * r.population)
        assert r.count == count
        lo, hi = wilson_by_hand(count, float(r.population), 100)
        assert (r.ci_low, r.ci_high) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))


def test_value_only_indicators_are_descriptive(sample):
    _, res = sample
    rows = res[res["comparison_kind"] == "descriptive"]
    value_only = {i.id for i in context_catalogue() if not i.denominator_kpis and not i.count_kpi}
    assert set(rows["indicator"]) == value_only
    assert rows["ci_low"].isna().all() and rows["count"].isna().all()
    kom = rows[rows["area_level"] == "kommun"]
    assert (kom[["cmp_lan", "cmp_riket", "cmp_group"]] == "unknown").all().all()
    assert kom["cmp_reason"].str.contains("beskrivande jämförelse").all()
    # the benchmarks are still shown side by side
    assert kom["riket_value"].notna().mean() > 0.99 and kom["lan_value"].notna().mean() > 0.99


def test_benchmarks_recomputed_from_the_store(sample):
    st, res = sample
    ctx = st.context.assign(value=lambda d: d["value"].astype(float))
    val = {(r.area_code, r.indicator, r.year): r.value for r in ctx.itertuples(index=False)}
    gavleborg = [k.code for k in registry().kommuner("21")]
    res_k = res.set_index(["area_code", "indicator", "year"])
    # riket: Kolada's 00 value
    r = res_k.loc[("2180", "behorighet_yrkesprogram", 2024)]
    assert r["riket_value"] == val[("00", "behorighet_yrkesprogram", 2024)]
    # a type A KPI: Kolada's region value
    assert r["lan_value"] == val[("21", "behorighet_yrkesprogram", 2024)] and r["lan_basis"] == "published"
    # a type K KPI with only a value: the unweighted mean of the län's kommuner that have one
    year = 2024
    got = res_k.loc[("2180", "trygghet_skolan_ak8", year)]
    members = [val[(k, "trygghet_skolan_ak8", year)] for k in gavleborg if (k, "trygghet_skolan_ak8", year) in val]
    assert got["lan_basis"] == "unweighted" and got["lan_value"] == pytest.approx(np.mean(members))
    assert got["lan_n_kommuner"] == len(members)
    # a type K KPI with a population: pooled counts of all the län's kommuner
    ind = "unga_oppna_insatser"
    rows = ctx[(ctx["indicator"] == ind) & (ctx["year"] == year) & ctx["area_code"].isin(gavleborg)]
    assert len(rows) == len(gavleborg) and rows["denominator"].notna().all()
    counts = np.rint(rows["value"] / 100 * rows["denominator"].astype(float))
    got = res_k.loc[("2180", ind, year)]
    assert got["lan_basis"] == "pooled"
    assert got["lan_value"] == pytest.approx(counts.sum() / rows["denominator"].astype(float).sum() * 100)


def test_kommungrupp_is_the_other_members(sample):
    st, res = sample
    g = st.groups[st.groups["group_kind"] == "skr_kommungrupp"]
    gid = g.loc[g["area_code"] == "2180", "group_id"].iloc[0]
    others = set(g.loc[g["group_id"] == gid, "area_code"]) - {"2180"}
    ctx = st.context[(st.context["indicator"] == "trangboddhet") & (st.context["year"] == 2024)]
    mean = ctx[ctx["area_code"].isin(others)]["value"].astype(float).mean()
    got = res[(res["area_code"] == "2180") & (res["indicator"] == "trangboddhet") & (res["year"] == 2024)].iloc[0]
    assert got["group_basis"] == "unweighted" and got["group_value"] == pytest.approx(mean)
    # with counts: pooled over the other members
    ctx = st.context[
        (st.context["indicator"] == "unga_placerade_hvb")
        & (st.context["year"] == 2024)
        & st.context["area_code"].isin(others)
        & st.context["count"].notna()
    ]
    got = res[(res["area_code"] == "2180") & (res["indicator"] == "unga_placerade_hvb") & (res["year"] == 2024)].iloc[0]
    assert got["group_basis"] == "pooled"
    assert got["group_value"] == pytest.approx(
        ctx["count"].astype(float).sum() / ctx["denominator"].astype(float).sum() * 1000
    )


# ---- verdicts: a simulation where nothing is really different ---------------------------------------


def _null_store(seed, overdispersion=0.25, years=(2022, 2023, 2024), big=None):
    """HVB placements for all 290 kommuner and riket, every kommun with the same expected rate: the
    year-to-year and between-kommun variation is noise (log-normal, sd ``overdispersion``), as in
    real counts (2-14x Poisson). ``big``: (kommun code, factor) for one kommun that really differs."""
    rng = np.random.default_rng(seed)
    reg = registry()
    kommuner = [a.code for a in reg.areas() if a.level == "kommun"]
    rows = []
    p0 = 0.0045
    for y in years:
        c_all = n_all = 0
        for k in kommuner:
            n = int(rng.integers(800, 60_000))
            p = p0 * np.exp(rng.normal(0, overdispersion) - overdispersion**2 / 2)
            if big and k == big[0]:
                p *= big[1]
            c = int(rng.binomial(n, min(p, 0.5)))
            c_all, n_all = c_all + c, n_all + n
            rows.append((k, y, c, n))
        rows.append(("00", y, c_all, n_all))
    df = pd.DataFrame(rows, columns=["area_code", "year", "count", "denominator"])
    df["value"] = (df["count"] / df["denominator"] * 1000).round(1)
    df["indicator"] = "unga_placerade_hvb"
    df["source"] = "simulated"
    df["count"] = df["count"].astype("Int64")
    df["denominator"] = df["denominator"].astype("Int64")
    return SimpleNamespace(context=df, groups=pd.DataFrame())


def test_null_simulation_flags_about_five_percent():
    flagged, naive = [], []
    for seed in range(3):
        res = compute_context(_null_store(seed))
        kom = res[(res["area_level"] == "kommun") & (res["year"] == 2024)]
        assert (kom["comparison_kind"] == "interval").all() and kom["model_tau2"].gt(0).all()
        flagged.append((kom["cmp_riket"] != "similar").mean())
        # what a binomial-only test would say: the overdispersion matters
        p, n, p0 = kom["count"] / kom["population"], kom["population"], kom["riket_value"].iloc[0] / 1000
        naive.append((np.abs(p - p0) / np.sqrt(p0 * (1 - p0) / n) > stats.norm.ppf(0.975)).mean())
        assert (kom["cmp_lan"] != "similar").mean() < 0.08
    assert np.mean(flagged) < 0.07
    assert np.mean(naive) > 3 * np.mean(flagged)


def test_a_real_difference_is_found():
    res = compute_context(_null_store(7, big=("2180", 3.0)))
    got = res[(res["area_code"] == "2180") & (res["year"] == 2024)].iloc[0]
    assert got["cmp_riket"] == "higher" and got["cmp_lan"] == "higher"
    assert got["cmp_group"] == "unknown" and "kommungrupp saknas" in got["cmp_reason"]


def test_an_empty_context_table():
    empty = compute_context(SimpleNamespace(context=pd.DataFrame(), groups=pd.DataFrame()))
    assert empty.empty and list(empty.columns) == CONTEXT_COLUMNS
