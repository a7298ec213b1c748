"""Report sections: escaping of data text, Swedish wording matched to certainty, follow-up."""

import dataclasses
import re

import pandas as pd
import pytest

from tmb_analysis import report
from tmb_analysis.followup import Followed, compare_with_baseline
from tmb_analysis.geography import Area

EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def ctx(sample_store):
    return report.context("2101", sample_store, 0, kind="kommun")


def test_data_text_is_escaped_everywhere(ctx):
    res = ctx.results.copy()
    res["area_name"] = res["area_name"].where(res["area_code"] != "2101", EVIL)
    res["indicator_label"] = EVIL + res["indicator_label"]
    evil_ctx = dataclasses.replace(ctx, results=res, area=Area("2101", EVIL, "kommun", "21"))
    sections = [
        report.kommun_title,
        report.kort_om,
        report.spine,
        report.proposal_cards,
        report.theme_blocks,
        report.trend_figures,
        report.followup,
        report.funnel_section,
        report.matrix_section,
        report.method_section,
        report.file_section,
        report.method_and_sources,
        report.downloads,
        report.matrix_figure,
        lambda c: report.trend_figure(c, "totalt"),
        lambda c: report.map_figure(c, "totalt"),
        lambda c: report.funnel_figure(c, "totalt"),
    ]
    for section in sections:
        html = section(evil_ctx).data
        assert "<script>alert" not in html, section
    assert "&lt;script&gt;" in report.kommun_title(evil_ctx).data


def test_reason_names_the_tests_that_survive_the_multiplicity_rule():
    from tmb_analysis.report_kommun import _reason

    # priority_basis names the tests that count; the table's one-at-a-time labels do not
    row = {"priority_basis": "riket;trend", "cmp_lan": "higher", "cmp_riket": "higher", "trend": "increasing"}
    assert _reason(row, {}) == "Högre än riket. Ökar snabbare än i riket."
    assert _reason({"priority_basis": "pooled", "pooled_years": "2022–2024"}, {}) == "Högre än riket i snitt 2022–2024."
    assert (
        _reason({"priority_basis": "lan;pooled", "pooled_years": "2022–2024"}, {})
        == "Högre än övriga länet, och än riket i snitt 2022–2024."
    )


def test_reason_names_the_kommungrupp():
    from tmb_analysis.report_kommun import _reason

    titles = {"group": ("Större stad", ["Falu kommun"])}
    row = {"priority_basis": "lan;group;peers"}
    assert _reason(row, titles) == "Högre än övriga länet, kommungruppen (Större stad) och liknande kommuner."
    assert _reason({"priority_basis": "group"}, {}) == "Högre än kommungruppen."


def test_reason_where_lower_is_worse():
    from tmb_analysis.report_kommun import _reason

    row = {"worse": "lower", "priority_basis": "riket;trend", "cmp_riket": "lower", "trend": "decreasing"}
    assert _reason(row, {}) == "Lägre än riket. Minskar mer än i riket."


def test_ntu_trend_is_shown_in_percentage_points(ctx):
    from tmb_analysis.tables.cells import _trend_cell

    row = {
        "indicator": "otrygghet_kvall",
        "trend": "increasing",
        "trend_pct_per_year": 1.25,
        "trend_ci_low": 0.25,
        "trend_ci_high": 2.0,
        "trend_unit": "percentage_points_per_year",
    }
    cell = str(_trend_cell(row))
    assert "+1,3\u00a0procentenheter per år" in cell and "+0,3 till +2,0\u00a0procentenheter" in cell
    crime = dict(row, indicator="bostadsinbrott", trend_unit="percent_per_year")
    assert "+1,3\u00a0% per år" in str(_trend_cell(crime))


def test_too_uncertain_estimate_shows_no_comparison(ctx):
    """An NTU row the results table marks too_uncertain (config/analysis.yaml, max_ci_width_pp) shows
    "För osäkert" and the width of its interval in place of every comparison."""
    res = ctx.results.copy()
    mine = (res.area_code == ctx.area.code) & (res.indicator == "otrygghet_kvall")
    res.loc[mine, ["ci_low", "ci_high", "too_uncertain", "cmp_lan", "cmp_riket"]] = [
        10.0,
        35.0,
        True,
        "higher",
        "higher",
    ]
    html = report.theme_blocks(dataclasses.replace(ctx, results=res)).data
    row = html[html.index('id="ind-otrygghet_kvall"') :]
    row = row[: row.index("</tr>")]
    assert "För osäkert" in row and "25 procentenheter brett" in row and "Högre" not in row


def test_followup_crime_ratio_against_hand_computation():
    """Rate ratio 120/100000 vs 100/100000 = 1.2; the score interval must contain it and exclude neither side wrongly."""
    res = pd.DataFrame(
        {
            "area_code": ["2180", "2180"],
            "indicator": ["bostadsinbrott"] * 2,
            "year": [2020, 2024],
            "value": [100.0, 120.0],
            "ci_low": [81.4, 99.5],
            "ci_high": [121.6, 143.5],
            "count": [100, 120],
            "population": [100_000, 100_000],
        }
    )
    out = compare_with_baseline(res, "2180", Followed("bostadsinbrott", 2020, "prioritering", ""), 2024)
    assert out["change"] == pytest.approx(20.0)
    assert out["change_low"] < 0 < out["change_high"]  # 100 vs 120 events: not a reliable change
    assert out["direction"] == "no_clear_change"
    big = res.assign(count=[1000, 1200], population=[1_000_000, 1_000_000])
    out = compare_with_baseline(big, "2180", Followed("bostadsinbrott", 2020, "prioritering", ""), 2024)
    assert out["direction"] == "increase" and out["change_low"] > 0


def test_followup_missing_baseline_is_unknown():
    res = pd.DataFrame(
        {
            "area_code": ["2180"],
            "indicator": ["bostadsinbrott"],
            "year": [2024],
            "value": [1.0],
            "ci_low": [0.5],
            "ci_high": [2.0],
            "count": [1],
            "population": [100_000],
        }
    )
    out = compare_with_baseline(res, "2180", Followed("bostadsinbrott", 2019, "prioritering", ""), 2024)
    assert out["direction"] == "unknown"


def test_followup_without_file_explains_how_to_start(ctx):
    html = report.followup(ctx).data  # Ockelbo has no example follow-up file
    assert "Ockelbo kommun" in html and "har ännu inte lämnat några" in html and "uppföljningsarbetsbok" in html
    assert "uppfoljning/" not in html and "<code>" not in html  # the file instructions are in the README


def test_harm_index_against_hand_computation(ctx):
    """The index is the harm-weighted sum of the index indicators' rates; riket = 100."""
    from tmb_analysis.priorities import _index_indicators, harm_weights

    res, year, w = ctx.results, ctx.crime_year, harm_weights()
    assert year == 2024  # the example data arrive like real data: crime to 2024
    inds = _index_indicators()

    def index(code):
        rows = res[(res.area_code == code) & (res.year == year) & res.indicator.isin(inds)]
        assert len(rows) == len(inds)
        return (
            sum(w.get(i, 1.0) * c for i, c in zip(rows.indicator, rows["count"].astype(float)))
            / float(rows.population.iloc[0])
            * 100_000
        )

    expected = index("2101") / index("00") * 100
    html = report.harm_index_summary(ctx).data
    assert f"Skadeviktat brottsindex {year}: {round(expected)}</strong>" in html
    lan_ctx = report.context("21", ctx.store_dir, 0, kind="lan")
    table = report.kommun_priorities(lan_ctx).data
    assert table.count("<tr><th scope='row'>") == 10 and "riket = 100" in table


def test_each_source_at_its_own_year(sample_store):
    """The example data arrive like real data (crime to 2024, NTU 2025): Gävle's report shows both, and
    its NTU round holds utsatthet 2024, measured by NTU 2025."""
    gavle = report.context("2180", sample_store, 0, kind="kommun")
    assert (gavle.year, gavle.crime_year, gavle.survey_year) == (2025, 2024, 2025)
    assert "Gävleborgs län · anmälda brott 2024, NTU 2025" in report.kommun_title(gavle).data
    rows = report._latest(gavle)
    assert set(zip(rows.source_kind, rows.year)) == {("crime", 2024), ("survey", 2025), ("survey", 2024)}
    assert set(rows.loc[(rows.source_kind == "survey") & (rows.year == 2024), "theme"]) == {"utsatthet"}
    html = report.theme_blocks(gavle).data
    assert "Trygghetsundersökningen (NTU) 2025" in html and "avser 2024" in html
    assert "Anmälda brott 2024" in html
    earlier = report.context("2180", sample_store, 2023, kind="kommun")  # --year 2023: up to and including 2023
    assert (earlier.crime_year, earlier.survey_year) == (2023, 2023)
    with pytest.raises(report.ParameterError, match="no data up to 2000"):
        report.context("2180", sample_store, 2000, kind="kommun")


def test_theme_blocks_list_each_indicator_once(sample_store):
    gavle = report.context("2180", sample_store, 0, kind="kommun")
    html = report.theme_blocks(gavle).data
    rows = re.findall(r'<tr id="ind-([a-z_]+)"', html)
    assert rows and len(rows) == len(set(rows)) == len(report._latest(gavle).drop_duplicates("indicator"))
    # register and survey in the same block: the violence block holds crime rows and NTU rows
    block = html[html.index("id='tema-vald'") :]
    block = block[: block.index("</details>", block.index("</table>"))]
    assert '<tbody class="crime">' in block and '<tbody class="survey">' in block


def test_method_section_credits_every_publisher_used(ctx):
    """One sentence with 'Källa' once (issue 13: not 'Källa: Brå, Källa: Kolada (RKA), Källa: SCB.'), Brå's
    sources named as the tables' source notes name them."""
    html = report.method_and_sources(ctx).data
    sources = html[html.index("<h3>Källor</h3>") :]
    sources = sources[: sources.index("</p>")]
    assert (
        "Källor: Brå (anmälda brott och Nationella trygghetsundersökningen, NTU), Kolada (RKA) (kommungrupper och "
        "nyckeltal) och SCB (befolkning)." in sources
    )
    assert sources.count("Källa") == 0 and sources.count("Källor") == 2  # the heading and the sentence


def test_funnel_lists_the_kommuner_outside_the_limits(ctx):
    """The county funnel's sentence names exactly the kommuner outside the 99,8 % limits, worked out
    here from the model's limits on the square-root scale (the FunnelPlotR CQC form with the
    within-kommun phi and the between-kommun tau2 of the results table):
    (sqrt(riket) +- z(0,999) sqrt(phi 1e5 / (4 n) + tau2 + phi 1e5 / (4 N_riket)))^2."""
    import numpy as np
    from scipy.stats import norm

    lan_ctx = report.context("21", ctx.store_dir, 0, kind="lan")
    res = lan_ctx.results
    indicator = "totalt"
    year = int(res.loc[res.source_kind == "crime", "year"].max())
    sel = res[(res.indicator == indicator) & (res.year == year)]
    riket = sel[sel.area_code == "00"].iloc[0]
    rate, n_riket = float(riket["count"]) / float(riket.population) * 1e5, float(riket.population)
    above, below = [], []
    for r in sel[(sel.area_level == "kommun") & (sel.lan_code == "21")].itertuples():
        phi, tau2 = float(r.funnel_phi), float(r.model_tau2)
        sd = np.sqrt(phi * 1e5 / (4 * float(r.population)) + tau2 + phi * 1e5 / (4 * n_riket))
        z = (np.sqrt(float(r.count) / float(r.population) * 1e5) - np.sqrt(rate)) / sd
        (above if z > norm.ppf(0.999) else below if z < -norm.ppf(0.999) else []).append(r.area_name)
    lan_ctx = dataclasses.replace(lan_ctx, year=year)
    html = report.funnel_figure(lan_ctx, indicator).data
    sentence = html[html.index("<p class='note'>") :]
    assert above  # not a vacuous check: Ljusdal lies above in the example data
    for name in above + below:
        assert name in sentence
    others = set(sel[(sel.area_level == "kommun") & (sel.lan_code == "21")].area_name) - set(above + below)
    assert not any(f" {n}," in sentence or f" {n}." in sentence for n in others)
    assert "samma modell som tabellernas jämförelser" in html
    # the data table names every kommun of the county with its place against the limits
    table = html[
        html.index("kommunerna i trattdiagrammet") : html.index("</table>", html.index("kommunerna i trattdiagrammet"))
    ]
    drawn = sel[(sel.area_level == "kommun") & (sel.lan_code == "21") & sel["count"].notna() & (sel.population > 0)]
    assert len(drawn) >= 8
    for r in drawn.itertuples():
        where = "över" if r.area_name in above else "under" if r.area_name in below else "inom"
        assert f"<th scope='row'>{r.area_name}</th>" in table
        assert table.split(f"<th scope='row'>{r.area_name}</th>")[1].split("</tr>")[0].endswith(f"<td>{where}</td>")


def test_a_round_of_two_years_shows_all_its_proposals(sample_store):
    """Crime 2024 and NTU 2025 are ranked together: the page shows the round's proposals whatever
    the year of each row. (A kommun of Gävleborg with a proposal in the example data.)"""
    base = report.context("2101", sample_store, 0, kind="kommun")
    with_proposal = base.results[
        (base.results.lan_code == "21") & (base.results.area_level == "kommun") & base.results.priority_rank.notna()
    ]
    assert len(with_proposal), "the example data should give some kommun of Gävleborg a proposal"
    ctx = report.context(str(with_proposal.area_code.iloc[0]), sample_store, 0, kind="kommun")
    res = ctx.results.copy()
    ranked = res[(res.area_code == ctx.area.code) & res.priority_rank.notna()]
    first = ranked.sort_values("priority_rank").iloc[0]
    res.loc[first.name, "year"] = int(first.year) - 1  # as if the first proposal's source were a year behind
    other = dataclasses.replace(ctx, results=res)
    html = report.proposal_cards(other).data
    assert "id='forslag-1'" in html and f"data-indicator='{first.indicator}'" in html
    assert report.first_priority(other) == first.indicator
    from tmb_analysis.priorities import priorities_for

    assert priorities_for(res, ctx.area.code)["indicator"].iloc[0] == first.indicator


def test_followup_counts_year_to_year_noise_and_gives_an_honest_verdict():
    """With the analysis' overdispersion phi = 4, 1 000 -> 1 200 cases is no longer a sure rise (by hand:
    log 1.2 = 0.1823, se = sqrt(4 (1/1000 + 1/1200)) = 0.0856, z = 2.13 > 1.96: still sure; phi = 9:
    se = 0.1285, z = 1.42: not sure). The smallest detectable fall is the power calculation's."""
    from tmb_analysis.statistics.detectable import detectable_change_rate

    base = pd.DataFrame(
        {
            "area_code": ["2180", "2180"],
            "indicator": ["bostadsinbrott"] * 2,
            "year": [2020, 2024],
            "value": [100.0, 120.0],
            "ci_low": [94.0, 113.0],
            "ci_high": [106.0, 127.0],
            "count": [1000, 1200],
            "population": [1_000_000, 1_000_000],
        }
    )
    item = Followed("bostadsinbrott", 2020, "prioritering", "")
    four = compare_with_baseline(base.assign(funnel_phi=4.0), "2180", item, 2024)
    assert four["direction"] == "increase" and "fel håll" in four["verdict"]
    nine = compare_with_baseline(base.assign(funnel_phi=9.0), "2180", item, 2024)
    assert nine["direction"] == "no_clear_change" and nine["change_low"] < 0
    assert nine["mdc"] == pytest.approx(detectable_change_rate(1000, 9.0, "minska"))
    assert "statistiken kan visa en förändring på −" in nine["verdict"]
    early = compare_with_baseline(base, "2180", Followed("bostadsinbrott", 2024, "prioritering", ""), 2024)
    assert early["direction"] == "unknown" and early["verdict"].startswith("För tidigt att säga")
    few = base.assign(count=[3, 2], population=[6000, 6000])
    small = compare_with_baseline(few, "2180", item, 2024)
    assert "för få anmälda brott" in small["verdict"]


@pytest.fixture(scope="module")
def lan_ctx(sample_store):
    return report.context("21", sample_store, kind="lan")


def _planted(lan_ctx):
    """The example round with two kommuner's 'bostadsinbrott' made eligible and the län's own 'narkotika'
    ranked first, so both county sections have something to say."""
    from tmb_analysis.periods import year_mask

    res = lan_ctx.results.copy()
    rnd = year_mask(res, lan_ctx.source_years)
    hit = rnd & res["area_code"].isin(["2180", "2181"]) & (res["indicator"] == "bostadsinbrott")
    res.loc[hit, "priority_eligible"] = True
    res.loc[hit, "priority_score"] = 9.0
    own = rnd & (res["area_code"] == "21") & (res["indicator"] == "narkotika")
    res.loc[own, ["priority_rank", "priority_confidence", "priority_stability"]] = [1, "måttlig", 0.7]
    return dataclasses.replace(lan_ctx, results=res)


def test_county_shared_challenges_are_the_hearings(lan_ctx):
    """The county page names the challenges the hearing's county sheet names, in the same order (one rule:
    priorities.shared_challenges over the round's kommun rows, itself checked by hand in test_hearing)."""
    from tmb_analysis.priorities import shared_challenges

    planted = _planted(lan_ctx)
    html = report.shared_problems(planted).data
    expected = shared_challenges(report._lan_round(planted), "21")
    assert "Bostadsinbrott" in list(expected["indicator_label"])
    positions = [html.index(f"<strong>{label}</strong>") for label in expected["indicator_label"]]
    assert positions == sorted(positions)
    assert "stöd i statistiken i 2 av 10 kommuner: Gävle, Sandviken" in html


def test_county_proposals_follow_the_kommun_rules(lan_ctx):
    html = report.lan_proposals(_planted(lan_ctx)).data
    assert "<ol><li><strong>Narkotikabrott</strong> – måttligt stöd." in html
    assert "70 av 100 omräkningar" in html
    # the example län has no proposal of its own: it says so and names what to watch, not as proposals
    unplanted = report.lan_proposals(lan_ctx).data
    assert "Inget förslag för länet som helhet" in unplanted and "Att bevaka (inte förslag)" in unplanted


@pytest.mark.parametrize("first", ["tmb_analysis.report_kommun", "tmb_analysis.report_themes", "tmb_analysis.report"])
def test_the_report_modules_import_in_either_order(first):
    """report_kommun builds on the report package and the package serves its sections: no import cycle,
    whichever a notebook or a script imports first (a fresh interpreter each)."""
    import subprocess
    import sys

    code = (
        f"import {first}\nfrom tmb_analysis.report import kort_om, theme_blocks\n"
        "print(kort_om.__module__, theme_blocks.__module__)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["tmb_analysis.report_kommun", "tmb_analysis.report_themes"]
