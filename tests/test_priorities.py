"""Harm weights, the priority score and the harm-weighted index, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tmb_analysis import priorities as pr
from tmb_analysis.catalogue import catalogue
from tmb_analysis.priorities.texts import _fmt

CFG = {
    "max_rank": 3,
    "levels": ["kommun", "lan"],
    "rank_source_kinds": ["crime", "survey"],
    "exclude": ["totalt"],
    "evidence": {"fdr": 0.05, "stark_fdr": 0.001},
    "stability": {"redraws": 200, "seed": 1, "chunk": 50},
    "harm_power": 0.5,
    "weights": {
        "level": {"lan": 1.0, "riket": 1.0, "group": 0.75, "peers": 0.75},
        "trend": 1.0,
        "funnel": 0.5,
        "magnitude": 0.5,
        "magnitude_cap": 2.0,
        "concern": 1.0,
    },
    "confidence": {"stark_stability": 0.8, "maattlig_stability": 0.5},
}
WEIGHTS = {
    "bostadsinbrott": 4.0,
    "vald_nara_kvinnor": 8.0,
    "skadegorelse": 1.5,
    "totalt": 1.0,
    "stold_totalt": 2.0,
    "trafikbrott": 1.0,
    "narkotika": 2.5,
    "oro_bostadsinbrott": 2.0,
    "otrygghet_kvall": 3.0,
}
RELATED = {"bostadsinbrott": ["oro_bostadsinbrott"]}
Z = {
    "lan": "_z_lan",
    "riket": "_z_riket",
    "group": "_z_group",
    "peers": "_z_peers",
    "pooled": "_z_pooled",
    "trend": "_z_trend",
}


def row(indicator="bostadsinbrott", area="2101", level="kommun", year=2024, z=None, **kw):
    """A results row with the model's standardised differences ``z`` ({'riket': 4.0, ...}; the other
    tests missing) and the columns the evidence text reads."""
    kind = catalogue().get(indicator).source_kind
    base = dict(
        area_code=area,
        area_level=level,
        indicator=indicator,
        indicator_label=catalogue().get(indicator).label,
        source_kind=kind,
        year=year,
        value=500.0,
        ci_low=450.0,
        ci_high=550.0,
        count=100,
        population=20_000,
        n_respondents=pd.NA,
        status="final",
        unit="per_100k" if kind == "crime" else "percent",
        worse="higher",
        cmp_lan="similar",
        cmp_riket="similar",
        cmp_group="similar",
        cmp_peers="similar",
        lan_value=480.0,
        lan_rest_value=470.0,
        riket_value=400.0,
        group_value=470.0,
        peers_value=490.0,
        eb_value=500.0,
        riket_limit_low=300.0,
        riket_limit_high=520.0,
        pooled_value=490.0,
        pooled_years="2022–2024",
        trend="no_clear_trend",
        trend_pct_per_year=1.0,
        trend_ci_low=-2.0,
        trend_ci_high=4.0,
        trend_unit="percent_per_year" if kind == "crime" else "percentage_points_per_year",
        trend_first_year=2020,
        funnel_riket="within",
    )
    for key, col in Z.items():
        base[col] = (z or {}).get(key, np.nan)
    t = (z or {}).get("trend")  # the table's own trend, on the side of the test (as the model gives them)
    if t is not None and abs(t) > 1.96:
        base["trend"] = "increasing" if t > 0 else "decreasing"
    base.update(kw)
    return base


def run(rows, config=CFG, weights=WEIGHTS, related=RELATED, **kw):
    return pr.add_priorities(pd.DataFrame(rows), config=config, weights=weights, related=related, **kw)


def one_sided(z):
    return stats.norm.sf(z)


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
    assert cfg["evidence"]["fdr"] == 0.05 and cfg["evidence"]["stark_fdr"] == 0.001
    assert cfg["stability"]["redraws"] >= 200 and cfg["harm_power"] == 0.5
    a = pr.analysis_config()
    assert a["trend"]["last_n_years"] == 5 and a["survey_uncertainty"]["max_ci_width_pp"] == 20
    assert "min_respondents" not in a["survey_uncertainty"]  # the width rule only
    themes = {i.theme for i in catalogue()}
    model = a["model"]
    assert {i.theme for i in catalogue().of_kind("crime")} <= set(model["default_phi"]) & set(model["default_cv"])
    assert {i.theme for i in catalogue().of_kind("survey")} <= set(model["default_tau_pp"]) and themes
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
# Evidence: the model's tests and their multiplicity
# --------------------------------------------------------------------------- #
def test_score_by_hand():
    r = row(z={"lan": 4.0, "riket": 4.0, "trend": 4.0}, eb_value=1600.0, value=1600.0, trend_ci_low=2.0)
    out = run([r]).iloc[0]
    # three tests, each p = 3.2e-5: all survive Benjamini-Hochberg (q = p x 3 / k).
    # level 1 + 1, trend 1, funnel 0.5 (z 4 > 3.09, outside the 99,8 % limits), magnitude
    # 0.5 x min(2, log2(1600/400) = 2) = 1; harm weight 4 counts as sqrt(4) = 2.
    assert out.priority_score == pytest.approx(2.0 * (1 + 1 + 1 + 0.5 + 1))
    assert out.priority_points == 4 and out.priority_rank == 1 and out.priority_basis == "lan;riket;trend"
    assert out.priority_q == pytest.approx(one_sided(4.0))
    assert out.harm_weight == 4.0 and out.priority_stability == 1.0 and out.priority_confidence == "stark"


def test_a_single_weak_flag_no_longer_wins_by_its_harm_weight_alone():
    """The worked example of the score (priorities.yaml, harm_power 0.5).

    Våld i nära relationer (harm 8) is above riket only (z 3.0), its EB value 1.3 x riket:
        sqrt(8) x (1 + 0.5 log2 1.3)           = 2.828 x 1.189 = 3.36
    Stöld (harm 2) is above the rest of the län and riket and rising, EB 1.5 x riket:
        sqrt(2) x (1 + 1 + 1 + 0.5 log2 1.5)   = 1.414 x 3.292 = 4.66
    so the property indicator ranks first. With the harm weight counted in full (harm_power 1, the
    rule before issue 10) the single flag would have won: 8 x 1.189 = 9.51 against 2 x 3.292 = 6.58.
    """
    rows = [
        row("vald_nara_kvinnor", z={"riket": 3.0}, eb_value=520.0),
        row("stold_totalt", z={"lan": 3.0, "riket": 3.0, "trend": 3.0}, eb_value=600.0),
    ]
    out = run(rows).set_index("indicator")
    assert out.loc["vald_nara_kvinnor", "priority_score"] == pytest.approx(8**0.5 * (1 + 0.5 * math.log2(1.3)))
    assert out.loc["stold_totalt", "priority_score"] == pytest.approx(2**0.5 * (3 + 0.5 * math.log2(1.5)))
    assert out.loc["stold_totalt", "priority_rank"] == 1 and out.loc["vald_nara_kvinnor", "priority_rank"] == 2
    old = run(rows, config={**CFG, "harm_power": 1.0}).set_index("indicator")
    assert old.loc["vald_nara_kvinnor", "priority_rank"] == 1


def test_multiplicity_decides_eligibility():
    # one test at z 2.5 (p 0.0062): enough alone, but not among 30 tests of the same kommun
    alone = run([row(z={"riket": 2.5})]).iloc[0]
    assert alone.priority_eligible and alone.priority_q == pytest.approx(one_sided(2.5))
    others = [
        row(ind, z={"riket": 0.0, "lan": 0.0})
        for ind in ("skadegorelse", "narkotika", "trafikbrott", "stold_totalt", "vald_nara_kvinnor")
    ]
    crowd = [row(z={"riket": 2.5, "lan": 0.1, "trend": 0.0})] + others * 1
    out = run(crowd)
    m = 3 + 2 * len(others)
    assert out.priority_q.iloc[0] == pytest.approx(min(1.0, one_sided(2.5) * m), rel=1e-9)  # Benjamini-Hochberg, k = 1
    assert out.priority_q.iloc[0] > 0.05 and not out.priority_eligible.iloc[0]
    assert out.priority_rank.isna().all()


def test_a_test_counts_only_when_the_table_calls_it_a_difference():
    # Benjamini-Hochberg at 5 % would keep every p = 0.03 when all of them are that small, but a
    # one-sided p above 0.025 is 'similar' in the table (95 %): it never counts.
    z = stats.norm.isf(0.03)
    out = run([row(ind, z={"riket": z, "lan": z}) for ind in ("bostadsinbrott", "skadegorelse")])
    assert (out.priority_q <= 0.05).all() and not out.priority_eligible.any()


def test_no_evidence_is_never_ranked():
    rows = [
        row("vald_nara_kvinnor", z={"riket": 1.5, "lan": 1.9}, eb_value=4000.0),  # heavy, far above, not certain
        row("oro_bostadsinbrott", value=60.0, ci_low=50.0, ci_high=70.0, z={"lan": 4.0}),
        row("bostadsinbrott", z={"lan": -4.0, "riket": -4.0, "trend": -4.0}),  # better on every count
    ]
    out = run(rows)
    assert out["priority_rank"].isna().iloc[[0, 2]].all()
    assert not out["priority_eligible"].iloc[0] and out["priority_score"].iloc[0] > 0
    assert out["priority_rank"].iloc[1] == 1  # the survey indicator has evidence


def test_fewer_than_three_is_valid_and_order_by_score():
    rows = [
        row("skadegorelse", z={"riket": 4.0}),  # sqrt(1.5) x (1 + 0.5 funnel)
        row("vald_nara_kvinnor", z={"trend": 4.0}),  # sqrt(8) x 1
        row("trafikbrott", z={"riket": 1.0}),  # no evidence
    ]
    out = run(rows).set_index("indicator")
    assert out.loc["vald_nara_kvinnor", "priority_rank"] == 1
    assert out.loc["skadegorelse", "priority_rank"] == 2
    assert pd.isna(out.loc["trafikbrott", "priority_rank"])
    assert out["priority_rank"].notna().sum() == 2


def test_top_three_only_ties_by_harm_then_catalogue_order():
    rows = [
        row(ind, z={"lan": 3.0}, eb_value=400.0)
        for ind in ("skadegorelse", "narkotika", "trafikbrott", "bostadsinbrott")
    ]
    cfg = {**CFG, "weights": {**CFG["weights"], "magnitude": 0.0}}
    weights = {**WEIGHTS, "skadegorelse": 2.5}  # ties with narkotika
    out = run(rows, config=cfg, weights=weights).set_index("indicator")
    assert out.loc["bostadsinbrott", "priority_rank"] == 1
    assert out.loc["skadegorelse", "priority_rank"] == 2  # same score and harm as narkotika, earlier in the catalogue
    assert out.loc["narkotika", "priority_rank"] == 3
    assert pd.isna(out.loc["trafikbrott", "priority_rank"])


def test_excluded_and_riket_rows_are_not_ranked():
    rows = [
        row("totalt", z={"lan": 5.0}),
        row("bostadsinbrott", area="00", level="riket", z={"lan": 5.0}),
        row("bostadsinbrott", area="21", level="lan", z={"riket": 5.0}),
    ]
    out = run(rows)
    assert pd.isna(out["priority_rank"].iloc[0]) and pd.isna(out["priority_rank"].iloc[1])
    assert pd.isna(out["priority_score"].iloc[1])  # riket is not scored at all
    assert out["priority_rank"].iloc[2] == 1


def test_ranks_per_area_and_year_or_per_round():
    rows = [row("bostadsinbrott", z={"lan": 5.0}, year=y, area=a) for y in (2023, 2024) for a in ("2101", "2104")]
    out = run(rows)
    assert (out["priority_rank"] == 1).all()
    # with a round (crime 2024 and NTU 2025 together) only the round's rows are ranked, as one list
    rows = [
        row("bostadsinbrott", z={"lan": 5.0}, year=2024),
        row("skadegorelse", z={"lan": 5.0}, year=2023),
        row("otrygghet_kvall", z={"lan": 5.0}, year=2025, value=30.0, ci_low=27.0, ci_high=33.0),
    ]
    out = run(rows, round_mask=np.array([True, False, True]))
    assert list(out["priority_rank"].astype("Float64")) == [1, pd.NA, 2] or (
        out["priority_rank"].iloc[0] == 1
        and pd.isna(out["priority_rank"].iloc[1])
        and out["priority_rank"].iloc[2] == 2
    )
    assert pd.isna(out["priority_stability"].iloc[1]) and pd.isna(out["priority_score"].iloc[1])


def test_lower_is_worse_direction():
    r = row(
        "bostadsinbrott",
        worse="lower",
        z={"lan": -4.0, "trend": -4.0},
        trend_ci_high=-1.0,
        eb_value=100.0,
        trend_pct_per_year=-1.0,
        trend_ci_low=-2.0,
    )
    out = run([r]).iloc[0]
    # level 1, trend 1, magnitude 0.5 x log2(400/100) = 1 (no funnel point: riket's z is missing)
    assert out.priority_score == pytest.approx(2.0 * 3) and out.priority_rank == 1
    assert (
        "Lägre än övriga länet" in out.priority_evidence and "Minskar med 1,0 procent per år" in out.priority_evidence
    )


def test_magnitude_compares_with_the_county_when_the_prior_is_the_county():
    # one county in the store: the EB value is shrunk towards the county, so it is compared with the county
    to_riket = run([row(z={"lan": 3.0}, eb_value=800.0)]).iloc[0]
    to_lan = run([row(z={"lan": 3.0}, eb_value=800.0, eb_prior="lan", lan_value=800.0)]).iloc[0]
    assert to_riket.priority_score == pytest.approx(2.0 * (1 + 0.5 * 1))  # log2(800/400) = 1
    assert to_lan.priority_score == pytest.approx(2.0 * 1)  # log2(800/800) = 0
    to_lan2 = run([row(z={"lan": 3.0}, eb_value=1600.0, eb_prior="lan", lan_value=800.0)]).iloc[0]
    assert "Storleken jämförs med länet" in to_lan2.priority_evidence


# --------------------------------------------------------------------------- #
# Stability, confidence, concern and the evidence text
# --------------------------------------------------------------------------- #
def test_stability_of_one_test_is_the_normal_probability_of_staying_beyond_the_line():
    """An NTU share with a single test (m = 1): a redraw keeps it exactly when z + e >= 1.96, e standard
    normal, so the share of redraws is Phi(z - 1.96) within binomial error."""
    cfg = {**CFG, "stability": {"redraws": 4000, "seed": 7, "chunk": 1000}}
    for z in (2.2, 2.8):
        r = row("otrygghet_kvall", value=30.0, ci_low=27.0, ci_high=33.0, count=np.nan, z={"riket": z})
        out = run([r], config=cfg).iloc[0]
        expected = stats.norm.cdf(z - 1.959964)
        assert abs(out.priority_stability - expected) < 3 * math.sqrt(expected * (1 - expected) / 4000)


def test_stability_of_a_count_uses_the_negative_binomial():
    """A crime count y with overdispersion phi: z moves by 2 (sqrt(y*) - sqrt(y)) / sqrt(phi), y* negative
    binomial with mean y and variance phi y (worked out here by simulation with scipy)."""
    cfg = {**CFG, "stability": {"redraws": 4000, "seed": 3, "chunk": 1000}}
    y, phi, z = 12, 3.0, 2.6
    out = run([row(count=y, funnel_phi=phi, z={"riket": z})], config=cfg).iloc[0]
    draws = stats.nbinom(y / (phi - 1), 1 / phi).rvs(size=200_000, random_state=np.random.default_rng(0))
    expected = np.mean(z + 2 * (np.sqrt(draws) - np.sqrt(y)) / np.sqrt(phi) >= 1.959964)
    assert abs(out.priority_stability - expected) < 3 * math.sqrt(expected * (1 - expected) / 4000) + 0.002


@pytest.mark.parametrize(
    "z,maattlig_stability,confidence",
    [
        (8.0, 0.5, "stark"),  # q = p tiny and stability 1: stark
        (3.2, 0.0, "måttlig"),  # q = 6.9e-4 x 2 > 0.001: never stark, however stable
        (3.2, 1.01, "svag"),  # less stable than the rule asks (no share reaches 1,01)
    ],
)
def test_confidence_rule(z, maattlig_stability, confidence):
    cfg = {**CFG, "confidence": {"stark_stability": 0.8, "maattlig_stability": maattlig_stability}}
    r = row("otrygghet_kvall", value=30.0, ci_low=27.0, ci_high=33.0, count=np.nan, z={"riket": z, "lan": 0.0})
    out = run([r], config=cfg).iloc[0]
    assert out.priority_confidence == confidence
    assert out.priority_q == pytest.approx(min(1.0, one_sided(z) * 2))


def test_concern_from_related_survey_indicator_of_the_same_round():
    crime = row("bostadsinbrott", z={"lan": 3.0}, eb_value=400.0)
    worried = row(
        "oro_bostadsinbrott",
        value=30.0,
        ci_low=26.0,
        ci_high=34.0,
        cmp_riket="higher",
        lan_value=20.0,
        riket_value=22.0,
        eb_value=30.0,
    )
    out = run([crime, worried]).set_index("indicator")
    assert out.loc["bostadsinbrott", "priority_score"] == pytest.approx(2.0 * (1 + 1))
    assert (
        "Relaterad oro i NTU: Oro för att utsättas för bostadsinbrott."
        in out.loc["bostadsinbrott", "priority_evidence"]
    )
    calm = run([crime, {**worried, "cmp_riket": "similar"}]).set_index("indicator")
    assert calm.loc["bostadsinbrott", "priority_score"] == pytest.approx(2.0 * 1)
    other_year = run([crime, {**worried, "year": 2025}]).set_index("indicator")
    assert other_year.loc["bostadsinbrott", "priority_score"] == pytest.approx(2.0 * 1)
    # in a round, crime 2024 and NTU 2025 are the same period
    rounded = run([crime, {**worried, "year": 2025}], round_mask=np.array([True, True])).set_index("indicator")
    assert rounded.loc["bostadsinbrott", "priority_score"] == pytest.approx(2.0 * (1 + 1))


def test_evidence_text():
    r = row(
        "vald_nara_kvinnor",
        value=612.4,
        ci_low=520.0,
        ci_high=715.0,
        count=150,
        z={"lan": 3.5, "riket": 3.4, "trend": 2.8},
        lan_rest_value=410.0,
        riket_value=398.0,
        riket_limit_low=300.0,
        riket_limit_high=520.0,
        trend="increasing",
        trend_pct_per_year=8.06,
        trend_ci_low=2.0,
        trend_ci_high=14.49,
        eb_value=590.0,
        status="preliminary",
    )
    out = run([r]).iloc[0]
    text = out.priority_evidence
    assert text.startswith(
        "Våld i nära relationer mot kvinnor 2024: 612 per 100\u00a0000 invånare (95\u00a0% KI 520–715)."
    )
    assert "Högre än övriga länet (410) och riket (398; gränserna för en kommun av denna storlek 300–520)." in text
    assert "Ökar med 8,1 procent per år (95\u00a0% KI +2,0 till +14,5, 2020–2024)." in text
    assert "Statistiskt säkerställt även när områdets alla 3 jämförelser prövas samtidigt" in text
    assert "Ligger över 99,8\u00a0%-gränsen" in text  # z 3.4 > 3.09
    assert f"Stannar bland de tre främsta i {round(100 * out.priority_stability)} av 100 omräkningar" in text
    assert "Skadevikt 8,0;" in text and f"Underlagets styrka: {out.priority_confidence}." in text
    assert text.endswith("Årets siffror är preliminära.")
    assert "nan" not in text.lower() and "inf" not in text.lower()
    pooled = run([row(z={"pooled": 4.0}, pooled_value=640.0)]).iloc[0].priority_evidence
    assert "2022–2024 sammantaget: 640 per 100\u00a0000 invånare, högre än riket." in pooled


def test_formatting_helper():
    rates = np.array([12345.678, -0.04, np.nan, np.inf, 7.31, -1234.4])
    out = _fmt(rates, unit=np.array(["per_100k"] * 6))
    # as in the tables: rates per 100 000 as whole numbers, no "−0"
    assert list(out) == ["12\u00a0346", "0", "–", "–", "7", "\u22121\u00a0234"]
    # half away from zero, as formatting.fmt_number, not numpy's half-to-even: 0,25 -> 0,3; 2,675 -> 2,68
    assert list(_fmt(np.array([0.25, 2.675]), 1)) == ["0,3", "2,7"]
    assert list(_fmt(np.array([2.675]), 2)) == ["2,68"]
    assert list(_fmt(np.array([25.0, 3.5]), unit=np.array(["percent", "percent"]))) == ["25\u00a0%", "3,5\u00a0%"]
    assert list(_fmt(np.array([2.0, -1.5, 0.0]), 1, signed=True)) == ["+2,0", "\u22121,5", "0,0"]


def test_priorities_for():
    rows = [
        row("bostadsinbrott", z={"lan": 5.0}),
        row("skadegorelse", z={"lan": 5.0}),
        row("bostadsinbrott", z={"lan": 5.0}, year=2023),
    ]
    out = run(rows)
    top = pr.priorities_for(out, "2101")
    assert list(top["indicator"]) == ["bostadsinbrott", "skadegorelse"] and (top["year"] == 2024).all()
    assert len(pr.priorities_for(out, "2101", 2023)) == 1 and pr.priorities_for(out, "9999").empty


def test_any_index_is_accepted():
    frame = pd.DataFrame([row("bostadsinbrott", z={"lan": 5.0}), row("skadegorelse")], index=[17, 3])
    out = pr.add_priorities(frame, config=CFG, weights=WEIGHTS, related=RELATED)
    assert list(out.index) == [17, 3]
    assert out.loc[17, "priority_rank"] == 1 and pd.isna(out.loc[3, "priority_rank"])
    assert out.loc[17, "priority_evidence"].startswith("Bostadsinbrott 2024")


# --------------------------------------------------------------------------- #
# The harm-weighted index
# --------------------------------------------------------------------------- #
def _index_frame():
    rows = []
    data = {
        "2101": (6000, {"skadegorelse": 120, "vald_nara_kvinnor": 40}),
        "00": (10_500_000, {"skadegorelse": 60_000, "vald_nara_kvinnor": 25_000}),
        "2104": (9500, {"skadegorelse": 0, "vald_nara_kvinnor": 0}),
        "2121": (11500, {"skadegorelse": 10}),
    }
    for code, (pop, counts) in data.items():
        for ind, c in counts.items():
            rows.append(
                dict(
                    area_code=code,
                    area_name=code,
                    area_level="riket" if code == "00" else "kommun",
                    year=2024,
                    indicator=ind,
                    source_kind="crime",
                    count=c,
                    population=pop,
                )
            )
    return pd.DataFrame(rows)


def test_harm_index_by_hand():
    weights = {"skadegorelse": 1.5, "vald_nara_kvinnor": 8.0}
    out = pr.harm_index(_index_frame(), weights=weights, indicators=["skadegorelse", "vald_nara_kvinnor"]).set_index(
        "area_code"
    )
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
    from tmb_analysis.results import compute_results
    from tmb_analysis.store import load_store

    res = compute_results(load_store(sample_store))
    idx = pr.harm_index(res)
    assert idx["area_code"].nunique() == 312
    assert idx["harm_index"].notna().all() and (idx["ci_low"] <= idx["harm_index"]).all()
    riket = idx[idx.area_code == "00"]
    assert np.allclose(riket["index_vs_riket"], 100)
    assert not np.isinf(idx.select_dtypes("number").to_numpy(float)).any()
    # Every ranked priority of the example data has evidence, at most three per kommun.
    ranked = res[res.priority_rank.notna()]
    assert (ranked["priority_basis"].str.len() > 0).all() and (ranked["priority_q"] <= 0.05).all()
    assert ranked.groupby("area_code").size().max() <= 3


def test_a_trend_counts_only_where_the_table_shows_it_rising():
    """The trend test is the area's trend against riket's: it can rise faster than riket's while the table
    (the area's own trend) says 'ingen tydlig trend' - then it is no evidence, so that no proposal says
    'ökar' beside a table that does not."""
    rising = run([row(z={"trend": 4.0})]).iloc[0]
    assert rising.priority_eligible and rising.priority_basis == "trend"
    flat = run([row(z={"trend": 4.0}, trend="no_clear_trend")]).iloc[0]
    assert not flat.priority_eligible and pd.isna(flat.priority_rank)
