"""Report sections: escaping of data text, Swedish wording matched to certainty, follow-up."""

import dataclasses

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
    sections = [report.kommun_title, report.summary, report.indicator_table, report.priorities, report.trygghet,
                report.register_and_survey, report.followup, report.method_and_sources, report.downloads,
                report.matrix_figure, lambda c: report.trend_figure(c, "totalt"), lambda c: report.map_figure(c, "totalt"),
                lambda c: report.funnel_figure(c, "totalt")]
    for section in sections:
        html = section(evil_ctx).data
        assert "<script>alert" not in html, section
    assert "&lt;script&gt;" in report.kommun_title(evil_ctx).data


def test_reason_sentence_matches_certainty():
    assert report._reason_sentence({"cmp_lan": "higher"}) == "Statistiskt säkerställt högre än länet."
    both = report._reason_sentence({"cmp_riket": "higher", "trend": "increasing"})
    assert both == "Statistiskt säkerställt högre än riket och en säkerställd ökning de senaste åren."
    assert "osäkert" in report._reason_sentence({"cmp_lan": "similar"})


def test_followup_crime_ratio_against_hand_computation():
    """Rate ratio 120/100000 vs 100/100000 = 1.2; the score interval must contain it and exclude neither side wrongly."""
    res = pd.DataFrame({
        "area_code": ["2180", "2180"], "indicator": ["bostadsinbrott"] * 2, "year": [2020, 2024],
        "value": [100.0, 120.0], "ci_low": [81.4, 99.5], "ci_high": [121.6, 143.5],
        "count": [100, 120], "population": [100_000, 100_000],
    })
    out = compare_with_baseline(res, "2180", Followed("bostadsinbrott", 2020, "prioritering", ""), 2024)
    assert out["change"] == pytest.approx(20.0)
    assert out["change_low"] < 0 < out["change_high"]  # 100 vs 120 events: not a reliable change
    assert out["direction"] == "no_clear_change"
    big = res.assign(count=[1000, 1200], population=[1_000_000, 1_000_000])
    out = compare_with_baseline(big, "2180", Followed("bostadsinbrott", 2020, "prioritering", ""), 2024)
    assert out["direction"] == "increase" and out["change_low"] > 0


def test_followup_missing_baseline_is_unknown():
    res = pd.DataFrame({"area_code": ["2180"], "indicator": ["bostadsinbrott"], "year": [2024], "value": [1.0],
                        "ci_low": [0.5], "ci_high": [2.0], "count": [1], "population": [100_000]})
    out = compare_with_baseline(res, "2180", Followed("bostadsinbrott", 2019, "prioritering", ""), 2024)
    assert out["direction"] == "unknown"


def test_followup_without_file_explains_how_to_start(ctx):
    html = report.followup(ctx).data  # Ockelbo has no example follow-up file
    assert "uppfoljning/2101.yaml" in html
