"""The run-wide memo (report/memo.py) never hands work computed from one content to a frame of another."""

import dataclasses

import pandas as pd
import pytest

from tmb_analysis import report
from tmb_analysis.report.memo import _shared


@pytest.fixture
def table():
    t = pd.DataFrame(
        {
            "area_code": pd.array(["2180", "2181", "2182"], dtype="string"),
            "value": [1.0, 2.0, 4.0],
            "count": pd.array([1, 2, None], dtype="Int64"),
        }
    )
    t.attrs["tmb_key"] = "results-memo-test"  # as load_results marks its table
    return t


def summed(calls: list):
    """A computation that depends on the content: the sum of 'value' and the codes, counted per call."""

    def compute(t):
        calls.append(1)
        return float(t["value"].sum()), tuple(t["area_code"])

    return compute


def test_a_changed_copy_keeps_the_key_and_still_gets_its_own_work(table):
    calls = []
    compute = summed(calls)
    name = ("sum", "test-copy")
    assert _shared(table, name, lambda: compute(table))[0] == 7.0
    copy = table.copy()  # pandas copies attrs: the copy carries the run's key
    copy.loc[0, "value"] = 10.0
    assert copy.attrs["tmb_key"] == table.attrs["tmb_key"]
    assert _shared(copy, name, lambda: compute(copy))[0] == 16.0  # not the original's 7
    assert _shared(table, name, lambda: compute(table))[0] == 7.0  # nor the original the copy's 16
    assert len(calls) == 2  # the original's work was kept, not recomputed
    renamed = table.copy()
    renamed.loc[1, "area_code"] = "2101"  # a text column changed
    assert _shared(renamed, name, lambda: compute(renamed))[1] == ("2180", "2101", "2182")


def test_the_table_changed_in_place_after_memoising_is_computed_afresh(table):
    calls = []
    compute = summed(calls)
    name = ("sum", "test-in-place")
    assert _shared(table, name, lambda: compute(table))[0] == 7.0
    table.loc[2, "value"] = 0.5
    assert _shared(table, name, lambda: compute(table))[0] == 3.5
    table["value"] = table["value"] * 2
    assert _shared(table, name, lambda: compute(table))[0] == 7.0
    assert len(calls) == 3


def test_every_report_of_a_kernel_shares_the_work(table):
    """A build kernel hands each report a shallow copy of its table (results.ResultsMemo): one computation
    for all of them, and the same table read again (an unchanged deep copy) is checked and served too."""
    calls = []
    compute = summed(calls)
    name = ("sum", "test-shared")
    for _ in range(3):
        mine = table.copy(deep=False)
        assert _shared(mine, name, lambda t=mine: compute(t))[0] == 7.0
    again = table.copy()
    assert _shared(again, name, lambda: compute(again))[0] == 7.0
    assert len(calls) == 1
    mine.loc[0, "value"] = 3.0  # one report changes its own copy: only it is computed afresh
    assert _shared(mine, name, lambda: compute(mine))[0] == 9.0
    assert _shared(table, name, lambda: compute(table))[0] == 7.0
    assert len(calls) == 2


def test_a_frame_without_the_key_is_always_computed(table):
    calls = []
    compute = summed(calls)
    table.attrs.pop("tmb_key")
    for _ in range(2):
        _shared(table, ("sum", "test-no-key"), lambda: compute(table))
    assert len(calls) == 2


def test_the_county_funnel_never_shows_a_changed_copys_names(sample_store):
    """The bug this memo had: a changed copy of the results table (a kommun renamed) kept the run's key, and
    the county funnel's table of the original then showed the copy's name (or the copy the original's)."""
    lan = report.context("21", sample_store, 0, kind="lan")
    before = report.funnel_figure(lan, "totalt").data
    assert "Ockelbo" in before
    res = lan.results.copy()  # the key is NOT dropped
    res["area_name"] = res["area_name"].where(res["area_code"] != "2101", "Påhittad kommun")
    changed = dataclasses.replace(lan, results=res)
    assert "Påhittad kommun" in report.funnel_figure(changed, "totalt").data
    assert report.funnel_figure(lan, "totalt").data == before
