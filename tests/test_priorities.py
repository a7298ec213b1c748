"""Harm weights, the priority score and the harm-weighted index, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tmb_analysis import priorities as pr
from tmb_analysis.catalogue import catalogue

CFG = {
    "max_rank": 3,
    "levels": ["kommun", "lan"],
    "rank_source_kinds": ["crime", "survey"],
    "exclude": ["totalt"],
    "weights": {"level": {"lan": 1.0, "riket": 1.0, "group": 0.75, "peers": 0.75}, "trend": 1.0,
                "funnel": 0.5, "magnitude": 0.5, "magnitude_cap": 2.0, "concern": 1.0},
    "confidence": {"stark": 3, "maattlig": 2, "min_count": 20, "min_respondents": 300, "eb_must_confirm": True},
}
WEIGHTS = {"bostadsinbrott": 4.0, "vald_nara_kvinnor": 8.0, "skadegorelse": 1.5, "totalt": 1.0,
           "trafikbrott": 1.0, "narkotika": 2.5, "oro_bostadsinbrott": 2.0, "otrygghet_kvall": 3.0}
RELATED = {"bostadsinbrott": ["oro_bostadsinbrott"]}


def row(indicator="bostadsinbrott", area="2101", level="kommun", year=2024, **kw):
    kind = catalogue().get(indicator).source_kind
    base = dict(
        area_code=area, area_level=level, indicator=indicator, indicator_label=catalogue().get(indicator).label,
        source_kind=kind, year=year, value=500.0, ci_low=450.0, ci_high=550.0, count=100,
        n_respondents=pd.NA, status="final", unit="per_100k" if kind == "crime" else "percent", worse="higher",
        cmp_lan="similar", cmp_riket="similar", cmp_group="similar", cmp_peers="similar",
        lan_value=480.0, riket_value=400.0, group_value=470.0, peers_value=490.0, eb_value=500.0,
        trend="no_clear_trend", trend_pct_per_year=1.0, trend_ci_low=-2.0, trend_ci_high=4.0,
        trend_unit="percent_per_year" if kind == "crime" else "percentage_points_per_year",
        trend_first_year=2020, funnel_riket="within",
    )
    base.update(kw)
    return base


def run(rows, config=CFG, weights=WEIGHTS, related=RELATED):
    return pr.add_priorities(pd.DataFrame(rows), config=config, weights=weights, related=related)


# --------------------------------------------------------------------------- #
# Configuration
# --------------------------------------------------------------------------- #
def test_harm_weights_cover_the_catalogue_with_reasons():
    weights = pr.harm_weights()
    raw = pr.load_config("harm_weights")
    for ind in catalogue():
        assert ind.id in weights, ind.id
        assert weights[ind.id] > 0
        entry = raw[ind.source_kind][ind.id]
        assert isinstance(entry, dict) and len(entry["reason"]) > 20
    # violence against people weighs more than property crime, which weighs more than traffic
    assert weights["vald_nara_kvinnor"] > weights["bostadsinbrott"] > weights["stold_totalt"] > weights["trafikbrott"]
    index = raw["index"]
    assert set(index) <= {i.id for i in catalogue().of_kind("crime")}
    assert not {"totalt", "bilbrott", "bostadsinbrott"} & set(index)  # overlapping indicators left out


def test_priority_and_analysis_config_load():
    cfg = pr.priority_config()
    assert cfg["max_rank"] == 3 and "totalt" in cfg["exclude"]
    assert set(cfg["weights"]["level"]) == {"lan", "riket", "group", "peers"}
    a = pr.analysis_config()
    assert a["trend"]["last_n_years"] == 5 and a["survey_uncertainty"]["min_respondents"] == 100
    rel = pr.related_indicators()
    ids = set(catalogue().ids)
    for crime, survey in rel.items():
        assert crime in ids and catalogue().get(crime).source_kind == "crime"
        assert all(catalogue().get(s).source_kind == "survey" for s in survey)


@pytest.mark.parametrize("bad", ["x", -1, 0, float("nan")])
def test_bad_harm_weight_is_rejected(bad):
    with pytest.raises(ValueError, match="harm weight"):
        pr.harm_weights({"crime": {"totalt": {"weight": bad}}})


# --------------------------------------------------------------------------- #
# The score and the ranking
# --------------------------------------------------------------------------- #
def test_score_by_hand():
    r = row(cmp_lan="higher", cmp_riket="higher", trend="increasing", trend_ci_low=2.0, funnel_riket="above",
            eb_value=1600.0, value=1600.0, ci_low=1400.0, ci_high=1800.0)
    out = run([r]).iloc[0]
    # level 1 + 1, trend 1, funnel 0.5, magnitude 0.5 x min(2, log2(1600/400) = 2) = 1, no concern
    assert out.priority_score == pytest.approx(4.0 * (1 + 1 + 1 + 0.5 + 1))
    assert out.priority_points == 4 and out.priority_rank == 1 and out.priority_confidence == "stark"
    assert out.harm_weight == 4.0


def test_magnitude_uses_eb_value_and_is_capped():
    half = run([row(cmp_lan="higher", eb_value=400.0 * 2 ** 0.5)]).iloc[0]
    assert half.priority_score == pytest.approx(4.0 * (1 + 0.5 * 0.5))
    capped = run([row(cmp_lan="higher", eb_value=400.0 * 100)]).iloc[0]
    assert capped.priority_score == pytest.approx(4.0 * (1 + 0.5 * 2))
    below = run([row(cmp_lan="higher", eb_value=200.0)]).iloc[0]
    assert below.priority_score == pytest.approx(4.0 * 1)


def test_no_evidence_is_never_ranked():
    # Heavy harm, far above riket, outside the funnel, much concern: but neither 'higher' nor 'increasing'.
    rows = [
        row("vald_nara_kvinnor", eb_value=4000.0, funnel_riket="above"),
        row("oro_bostadsinbrott", value=60.0, ci_low=50.0, ci_high=70.0, cmp_lan="higher"),
        row("bostadsinbrott", cmp_lan="lower", cmp_riket="lower", trend="decreasing"),
    ]
    out = run(rows)
    assert out["priority_rank"].isna().iloc[[0, 2]].all()
    assert not out["priority_eligible"].iloc[0] and out["priority_score"].iloc[0] > 0
    assert out["priority_rank"].iloc[1] == 1  # the survey indicator has evidence


def test_fewer_than_three_is_valid_and_order_by_score():
    rows = [
        row("skadegorelse", cmp_riket="higher"),                     # 1.5 x 1 (+ magnitude)
        row("vald_nara_kvinnor", trend="increasing", trend_ci_low=0.5),  # 8 x 1
        row("trafikbrott"),                                             # no evidence
    ]
    out = run(rows).set_index("indicator")
    assert out.loc["vald_nara_kvinnor", "priority_rank"] == 1
    assert out.loc["skadegorelse", "priority_rank"] == 2
    assert pd.isna(out.loc["trafikbrott", "priority_rank"])
    assert out["priority_rank"].notna().sum() == 2


def test_top_three_only_ties_by_harm_then_catalogue_order():
    rows = [row(ind, cmp_lan="higher", eb_value=400.0) for ind in ("skadegorelse", "narkotika", "trafikbrott", "bostadsinbrott")]
    cfg = {**CFG, "weights": {**CFG["weights"], "magnitude": 0.0}}
    weights = {**WEIGHTS, "skadegorelse": 2.5}  # ties with narkotika
    out = run(rows, config=cfg, weights=weights).set_index("indicator")
    assert out.loc["bostadsinbrott", "priority_rank"] == 1
    assert out.loc["skadegorelse", "priority_rank"] == 2  # same score and harm as narkotika, earlier in the catalogue
    assert out.loc["narkotika", "priority_rank"] == 3
    assert pd.isna(out.loc["trafikbrott", "priority_rank"])


def test_excluded_and_riket_rows_are_not_ranked():
    rows = [row("totalt", cmp_lan="higher"), row("bostadsinbrott", area="00", level="riket", cmp_lan="higher"),
            row("bostadsinbrott", area="21", level="lan", cmp_riket="higher")]
    out = run(rows)
    assert pd.isna(out["priority_rank"].iloc[0]) and pd.isna(out["priority_rank"].iloc[1])
    assert pd.isna(out["priority_score"].iloc[1])  # riket is not scored at all
    assert out["priority_rank"].iloc[2] == 1


def test_ranks_are_per_area_and_year():
    rows = [row("bostadsinbrott", cmp_lan="higher", year=y, area=a) for y in (2023, 2024) for a in ("2101", "2104")]
    out = run(rows)
    assert (out["priority_rank"] == 1).all()


def test_lower_is_worse_direction():
    r = row("bostadsinbrott", worse="lower", cmp_lan="lower", trend="decreasing", trend_ci_high=-1.0, eb_value=100.0)
    out = run([r]).iloc[0]
    # level 1, trend 1, magnitude 0.5 x log2(400/100) = 1
    assert out.priority_score == pytest.approx(4.0 * 3) and out.priority_rank == 1
    assert "Lägre än länet" in out.priority_evidence and "Minskar med 1,0 procent per år" in out.priority_evidence


# --------------------------------------------------------------------------- #
# Concern, confidence and the evidence text
# --------------------------------------------------------------------------- #
def test_concern_from_related_survey_indicator():
    crime = row("bostadsinbrott", cmp_lan="higher", eb_value=400.0)
    worried = row("oro_bostadsinbrott", value=30.0, ci_low=26.0, ci_high=34.0, cmp_riket="higher",
                  lan_value=20.0, riket_value=22.0, eb_value=30.0)
    out = run([crime, worried]).set_index("indicator")
    assert out.loc["bostadsinbrott", "priority_score"] == pytest.approx(4.0 * (1 + 1))
    assert "Relaterad oro i NTU: Oro för att utsättas för bostadsinbrott." in out.loc["bostadsinbrott", "priority_evidence"]
    calm = run([crime, {**worried, "cmp_riket": "similar"}]).set_index("indicator")
    assert calm.loc["bostadsinbrott", "priority_score"] == pytest.approx(4.0 * 1)
    other_year = run([crime, {**worried, "year": 2023}]).set_index("indicator")
    assert other_year.loc["bostadsinbrott", "priority_score"] == pytest.approx(4.0 * 1)


@pytest.mark.parametrize(
    "changes,confidence",
    [
        (dict(cmp_lan="higher", cmp_riket="higher", cmp_group="higher"), "stark"),
        (dict(cmp_lan="higher", trend="increasing"), "måttlig"),
        (dict(cmp_lan="higher"), "svag"),
        (dict(cmp_lan="higher", cmp_riket="higher", cmp_group="higher", count=12), "måttlig"),  # few cases
        (dict(cmp_lan="higher", cmp_riket="higher", cmp_group="higher", eb_value=390.0), "måttlig"),  # EB not above
        (dict(cmp_lan="higher", count=3), "svag"),  # never below svag
    ],
)
def test_confidence_rule(changes, confidence):
    out = run([row(**changes)]).iloc[0]
    assert out.priority_confidence == confidence
    if "count" in changes and changes.get("count", 100) < 20:
        assert f"få fall ({changes['count']} anmälda brott)" in out.priority_evidence


def test_confidence_small_survey_sample():
    r = row("otrygghet_kvall", value=30.0, ci_low=26.0, ci_high=34.0, cmp_lan="higher", cmp_riket="higher",
            cmp_group="higher", n_respondents=180, lan_value=20.0, riket_value=22.0, group_value=21.0, eb_value=29.0)
    out = run([r]).iloc[0]
    assert out.priority_confidence == "måttlig" and "få svarande i NTU (180)" in out.priority_evidence


def test_evidence_text():
    r = row("vald_nara_kvinnor", value=612.4, ci_low=520.0, ci_high=715.0, count=150, cmp_lan="higher",
            cmp_riket="higher", lan_value=410.0, riket_value=398.0, trend="increasing", trend_pct_per_year=8.06,
            trend_ci_low=2.0, trend_ci_high=14.49, eb_value=590.0, status="preliminary")
    text = run([r]).iloc[0].priority_evidence
    assert text.startswith("Våld i nära relationer mot kvinnor 2024: 612 per 100\u00a0000 invånare (95\u00a0% KI 520–715).")
    assert "Högre än länet (410) och riket (398): hela konfidensintervallet ligger över jämförelsevärdet." in text
    assert "Ökar med 8,1 procent per år (95\u00a0% KI +2,0 till +14,5, 2020–2024)." in text
    assert "Skadevikt 8,0;" in text and "Underlagets styrka: stark." in text
    assert text.endswith("Årets siffror är preliminära.")
    assert "nan" not in text.lower() and "inf" not in text.lower()


def test_formatting_helper():
    rates = np.array([12345.678, -0.04, np.nan, np.inf, 7.31, -1234.4])
    out = pr._fmt(rates, unit=np.array(["per_100k"] * 6))
    # as in the tables: rates per 100 000 as whole numbers, no "−0"
    assert list(out) == ["12\u00a0346", "0", "–", "–", "7", "\u22121\u00a0234"]
    # half away from zero, as formatting.fmt_number, not numpy's half-to-even: 0,25 -> 0,3; 2,675 -> 2,68
    assert list(pr._fmt(np.array([0.25, 2.675]), 1)) == ["0,3", "2,7"]
    assert list(pr._fmt(np.array([2.675]), 2)) == ["2,68"]
    assert list(pr._fmt(np.array([25.0, 3.5]), unit=np.array(["percent", "percent"]))) == ["25\u00a0%", "3,5\u00a0%"]
    assert list(pr._fmt(np.array([2.0, -1.5, 0.0]), 1, signed=True)) == ["+2,0", "\u22121,5", "0,0"]


def test_priorities_for():
    rows = [row("bostadsinbrott", cmp_lan="higher"), row("skadegorelse", cmp_lan="higher"),
            row("bostadsinbrott", cmp_lan="higher", year=2023)]
    out = run(rows)
    top = pr.priorities_for(out, "2101")
    assert list(top["indicator"]) == ["bostadsinbrott", "skadegorelse"] and (top["year"] == 2024).all()
    assert len(pr.priorities_for(out, "2101", 2023)) == 1 and pr.priorities_for(out, "9999").empty


# --------------------------------------------------------------------------- #
# The harm-weighted index
# --------------------------------------------------------------------------- #
def _index_frame():
    rows = []
    data = {"2101": (6000, {"skadegorelse": 120, "vald_nara_kvinnor": 40}),
            "00": (10_500_000, {"skadegorelse": 60_000, "vald_nara_kvinnor": 25_000}),
            "2104": (9500, {"skadegorelse": 0, "vald_nara_kvinnor": 0}),
            "2121": (11500, {"skadegorelse": 10})}
    for code, (pop, counts) in data.items():
        for ind, c in counts.items():
            rows.append(dict(area_code=code, area_name=code, area_level="riket" if code == "00" else "kommun",
                             year=2024, indicator=ind, source_kind="crime", count=c, population=pop))
    return pd.DataFrame(rows)


def test_harm_index_by_hand():
    weights = {"skadegorelse": 1.5, "vald_nara_kvinnor": 8.0}
    out = pr.harm_index(_index_frame(), weights=weights, indicators=["skadegorelse", "vald_nara_kvinnor"]).set_index("area_code")
    t = 1.5 * 120 + 8 * 40
    v = 1.5**2 * 120 + 8**2 * 40
    y = 160
    y_lo = stats.chi2.ppf(0.025, 2 * y) / 2
    y_hi = stats.chi2.ppf(0.975, 2 * y + 2) / 2
    k = out.loc["2101"]
    assert k.harm_index == pytest.approx(t / 6000 * 1e5)
    assert k.ci_low == pytest.approx((t + math.sqrt(v / y) * (y_lo - y)) / 6000 * 1e5)
    assert k.ci_high == pytest.approx((t + math.sqrt(v / y) * (y_hi - y)) / 6000 * 1e5)
    riket = (1.5 * 60_000 + 8 * 25_000) / 10_500_000 * 1e5
    assert k.riket_index == pytest.approx(riket)
    assert k.index_vs_riket == pytest.approx(k.harm_index / riket * 100)
    assert k.cmp_riket == "higher" and k.n_indicators == 2 and k.reason == ""
    # No offences: index 0, upper limit max(w) x 3.69 per population
    z = out.loc["2104"]
    assert z.harm_index == 0 and z.ci_low == 0
    assert z.ci_high == pytest.approx(8.0 * stats.chi2.ppf(0.975, 2) / 2 / 9500 * 1e5)
    # A missing indicator: no index, a reason
    m = out.loc["2121"]
    assert math.isnan(m.harm_index) and m.reason == "data saknas för: vald_nara_kvinnor" and m.cmp_riket == "unknown"
    assert out.loc["00", "cmp_riket"] == "unknown"


def test_harm_index_on_sample(sample_store):
    from tmb_analysis.indicators import compute_results
    from tmb_analysis.store import load_store

    res = compute_results(load_store(sample_store))
    idx = pr.harm_index(res)
    assert idx["area_code"].nunique() == 312
    assert idx["harm_index"].notna().all() and (idx["ci_low"] <= idx["harm_index"]).all()
    riket = idx[idx.area_code == "00"]
    assert np.allclose(riket["index_vs_riket"], 100)
    assert not np.isinf(idx.select_dtypes("number").to_numpy(float)).any()
    # Every ranked priority of the example data has evidence, at most three per kommun and year.
    ranked = res[res.priority_rank.notna()]
    assert ((ranked[["cmp_lan", "cmp_riket", "cmp_group", "cmp_peers"]] == "higher").any(axis=1)
            | (ranked["trend"] == "increasing")).all()
    assert ranked.groupby(["area_code", "year"]).size().max() <= 3


def test_any_index_is_accepted():
    frame = pd.DataFrame([row("bostadsinbrott", cmp_lan="higher"), row("skadegorelse")], index=[17, 3])
    out = pr.add_priorities(frame, config=CFG, weights=WEIGHTS, related=RELATED)
    assert list(out.index) == [17, 3]
    assert out.loc[17, "priority_rank"] == 1 and pd.isna(out.loc[3, "priority_rank"])
    assert out.loc[17, "priority_evidence"].startswith("Bostadsinbrott 2024")
