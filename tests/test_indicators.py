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
