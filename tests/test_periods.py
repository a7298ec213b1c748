"""The report's round: per area and source, the latest year up to the report year (worked by hand)."""

import numpy as np
import pandas as pd

from tmb_analysis.periods import default_report_year, round_mask, source_years


def _table():
    rows = []
    for year in (2022, 2023, 2024):  # crime to 2024
        rows.append(("2080", "crime", year, 10.0))
    for year in (2023, 2024, 2025):  # NTU a year ahead
        rows.append(("2080", "survey", year, 20.0))
    rows.append(("2081", "survey", 2025, 30.0))  # a kommun with NTU only
    rows.append(("2081", "crime", 2025, None))  # a row without a value never makes a round
    return pd.DataFrame(rows, columns=["area_code", "source_kind", "year", "value"])


def test_default_round_takes_each_source_at_its_latest_year():
    t = _table()
    assert default_report_year(t) == 2025
    picked = t[round_mask(t)]
    assert sorted(zip(picked.area_code, picked.source_kind, picked.year)) == [
        ("2080", "crime", 2024),
        ("2080", "survey", 2025),
        ("2081", "survey", 2025),
    ]
    assert source_years(t, "2080") == {"crime": 2024, "survey": 2025}
    assert source_years(t, "2081") == {"crime": None, "survey": 2025}


def test_report_year_means_up_to_and_including():
    t = _table()
    picked = t[round_mask(t, 2024)]
    assert sorted(zip(picked.area_code, picked.source_kind, picked.year)) == [
        ("2080", "crime", 2024),
        ("2080", "survey", 2024),
    ]
    assert source_years(t, "2080", 2023) == {"crime": 2023, "survey": 2023}
    assert not round_mask(t, 2000).any()
    assert round_mask(t.iloc[0:0]).dtype == np.bool_


def test_victimisation_belongs_to_the_round_of_the_survey_that_measured_it():
    """Self-reported victimisation of reference year 2024 was measured in NTU 2025: it is in that round."""
    from tmb_analysis.periods import vintage_text, year_mask

    t = pd.DataFrame(
        [
            ("2080", "crime", "totalt", 2024, 8000.0, "final"),
            ("2080", "survey", "otrygghet_kvall", 2025, 20.0, "final"),
            ("2080", "survey", "utsatt_misshandel", 2024, 2.0, "final"),
            ("2080", "survey", "utsatt_misshandel", 2023, 2.1, "final"),
            ("2080", "survey", "otrygghet_kvall", 2024, 21.0, "final"),
        ],
        columns=["area_code", "source_kind", "indicator", "year", "value", "status"],
    )
    assert source_years(t, "2080") == {"crime": 2024, "survey": 2025}
    picked = t[round_mask(t)]
    assert sorted(zip(picked.indicator, picked.year)) == [
        ("otrygghet_kvall", 2025),
        ("totalt", 2024),
        ("utsatt_misshandel", 2024),
    ]
    assert year_mask(t, {"crime": 2024, "survey": 2025}).tolist() == [True, True, True, False, False]
    assert year_mask(t, 2024).tolist() == [True, False, True, False, True]
    assert vintage_text(t) == (
        "anmälda brott 2024 (slutlig statistik); NTU 2024–2025 "
        "(utsatthet för brott avser året före undersökningen: 2023–2024)"
    )
