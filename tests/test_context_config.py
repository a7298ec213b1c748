"""The context catalogue (config/context_indicators.yaml, issue 16) and its links to the crime
and NTU indicators (config/related_context.yaml)."""

import json
import re
from pathlib import Path

import pytest

from tmb_analysis.catalogue import catalogue
from tmb_analysis.config import read_config

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "kolada_context"
#: The themes issue 16 asks the catalogue to cover, at least one indicator each.
ISSUE_THEMES = {"skola", "ekonomisk utsatthet", "arbete", "boende och närmiljö", "socialtjänstens insatser för unga"}


def context_entries():
    data, _ = read_config("context_indicators")
    return data["context"]


def test_context_catalogue_entries():
    entries = context_entries()
    assert 10 <= len(entries) <= 15
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids))
    assert not set(ids) & {ind.id for ind in catalogue()}, "a context id must not reuse a crime or NTU id"
    kpis = [e["kolada_kpi"] for e in entries]
    assert len(kpis) == len(set(kpis))
    for e in entries:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", e["id"]), e["id"]
        assert re.fullmatch(r"[NU]\d{5}", e["kolada_kpi"]), e["kolada_kpi"]
        assert e["theme"] in ISSUE_THEMES, e["id"]
        assert e["risk_direction"] in ("higher", "lower"), e["id"]
        assert e["unit"] in ("percent", "per_1000"), e["id"]
        assert e["label"].strip() and e["producer"].strip()
        assert "\n" not in e["definition"], e["id"]
        assert "nämnare" in e["definition"] or "per 1 000" in e["definition"], e["id"]  # says of whom
        assert e["has_count"] is bool(e["count_kpi"]), e["id"]
        for extra in ([e["count_kpi"]] if e["count_kpi"] else []) + (e["denominator_kpi"] or []):
            assert re.fullmatch(r"N\d{5}", extra), (e["id"], extra)
        kol = e["kolada"]
        assert kol["in_catalogue_2026"] is True, e["id"]
        assert kol["municipality_type"] in ("K", "A"), e["id"]
        assert re.fullmatch(r"20\d\d", kol["publ_period"]), e["id"]
    assert {e["theme"] for e in entries} == ISSUE_THEMES


def test_titles_match_kolada_metadata_fixture():
    """The titles typed into the YAML equal the ones in Kolada's catalogue (kpi_metadata.json is
    generated from the 2026 catalogue snapshot), for the KPIs the fixture carries."""
    meta = {m["id"]: m for m in json.loads((FIXTURES / "kpi_metadata.json").read_text("utf-8"))["values"]}
    by_kpi = {e["kolada_kpi"]: e for e in context_entries()}
    shared = sorted(set(meta) & set(by_kpi))
    assert shared == ["N02797", "N15428", "N15643", "N31816", "N33816"]
    for kpi in shared:
        e, m = by_kpi[kpi], meta[kpi]
        assert e["kolada"]["title"] == m["title"]
        assert e["kolada"]["municipality_type"] == m["municipality_type"]
        assert e["kolada"]["publ_period"] == m["publ_period"]
        assert e["kolada"]["is_divided_by_gender"] is m["is_divided_by_gender"]
        assert e["kolada"]["description_key"] in m["description"]
    hvb = by_kpi["N33816"]
    assert meta[hvb["count_kpi"]]["title"].startswith("Antal barn och unga") and hvb["denominator_kpi"] == ["N01948"]


def test_related_context_links():
    data, _ = read_config("related_context")
    context_ids = {e["id"] for e in context_entries()}
    cat = catalogue()
    assert set(data) == {"crime", "survey"}
    for kind, links in data.items():
        kind_ids = {ind.id for ind in cat.of_kind(kind)}
        for indicator, related in links.items():
            assert indicator in kind_ids, (kind, indicator)
            assert related and len(related) == len(set(related)), indicator
            assert set(related) <= context_ids, (indicator, set(related) - context_ids)
    assert "totalt" not in data["crime"]  # never ranked, so never a proposal with related factors
    # the examples the issue gives
    assert "unga_varken_arbetar_studerar" in data["crime"]["narkotika"]
    assert "langvarigt_ekonomiskt_bistand" in data["crime"]["vald_nara_kvinnor"]


@pytest.mark.parametrize("name", ["context_indicators", "related_context"])
def test_config_files_read_as_mappings(name):
    data, where = read_config(name)
    assert where == f"tmb_analysis/config/{name}.yaml" and isinstance(data, dict) and data
