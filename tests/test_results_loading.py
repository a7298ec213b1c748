"""Loading the results table: the disk cache and its key, pruning, the in-memory memo, the front door, the index."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tmb_analysis
from tmb_analysis import results as R
from tmb_analysis.results import ResultsMemo, area_name, load_results, prune_cache, select, store_fingerprint


def test_results_cache_key_covers_the_configuration(sample_store):
    """A changed threshold in config/*.yaml must never be served results computed with the old one."""
    store = Path(sample_store).resolve()
    before = store_fingerprint(store)
    config = Path(R.__file__).parent / "config" / "analysis.yaml"
    original = config.read_bytes()
    try:
        config.write_bytes(original + b"\n# changed\n")
        assert store_fingerprint(store) != before
    finally:
        config.write_bytes(original)
    assert store_fingerprint(store) == before


def test_results_cache_key_covers_the_code_of_the_subpackages(sample_store):
    """A changed statistic in the package code must never be served results computed by the old code."""
    store = Path(sample_store).resolve()
    before = store_fingerprint(store)
    module = Path(R.__file__).parent / "statistics" / "trends.py"
    original = module.read_bytes()
    try:
        module.write_bytes(original + b"\n# changed\n")
        assert store_fingerprint(store) != before
    finally:
        module.write_bytes(original)
    assert store_fingerprint(store) == before


def test_the_cache_prunes_itself(tmp_path):
    """Only the CACHE_KEEP most recently used tables stay; the one just written is never removed; a
    temporary file a crashed writer left behind goes once it is an hour old."""
    tables = []
    for i in range(12):
        p = tmp_path / f"results-{i:016x}-0.parquet"
        p.write_bytes(b"x")
        os.utime(p, ns=(10**18 + i * 10**9, 10**18 + i * 10**9))
        tables.append(p)
    fresh_tmp = tmp_path / "results-a-0.123.tmp"
    fresh_tmp.write_bytes(b"")
    old_tmp = tmp_path / "results-b-0.456.tmp"
    old_tmp.write_bytes(b"")
    os.utime(old_tmp, (0, 0))
    spare = tables[0]  # the oldest by time, but the one being written now
    removed = prune_cache(tmp_path, keep=4, spare=spare)
    left = sorted(p.name for p in tmp_path.glob("results-*.parquet"))
    assert left == sorted([spare.name] + [t.name for t in tables[-3:]])
    assert old_tmp in removed and not old_tmp.exists() and fresh_tmp.exists()


def test_load_results_keeps_the_cache_small(sample_store, tmp_path, monkeypatch):
    monkeypatch.setenv("TMB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(R, "CACHE_KEEP", 2)
    monkeypatch.setattr(R.prune_cache, "__defaults__", (2, None))
    for i in range(4):  # four other tables, used before this one
        (tmp_path / f"results-{i:016x}-0.parquet").write_bytes(b"x")
        os.utime(tmp_path / f"results-{i:016x}-0.parquet", (i, i))
    res, _ = load_results(sample_store, 0)
    names = sorted(p.name for p in tmp_path.glob("results-*.parquet"))
    assert len(names) == 2 and f"{res.attrs['tmb_key']}.parquet" in names


def test_the_front_door_gives_the_whole_table_with_codes_as_text(sample_store):
    table = tmb_analysis.results(sample_store)
    assert isinstance(table, pd.DataFrame) and list(table.columns) == R.RESULT_COLUMNS
    assert table["area_code"].map(type).eq(str).all() and table["lan_code"].dropna().map(type).eq(str).all()
    assert {"0114", "00", "01", "2180"} <= set(table["area_code"])
    assert len(table) > 50_000 and set(table["area_level"]) == {"kommun", "lan", "riket"}


def test_the_csv_keeps_area_codes_as_text_when_read_as_the_readme_says(sample_store, tmp_path):
    """The README's read_csv call (dtype for the codes, decimal comma) gives back the codes with their zeros."""
    table = tmb_analysis.results(sample_store)
    path = tmp_path / "indicators.csv"
    R.write_results_csv(table[table["area_code"].isin(["0114", "01", "00"])], path)
    back = pd.read_csv(path, sep=";", decimal=",", encoding="utf-8-sig", dtype={"area_code": str, "lan_code": str})
    assert set(back["area_code"]) == {"0114", "01", "00"} and set(back["lan_code"].dropna()) == {"01"}


def test_the_memo_keeps_the_table_until_the_store_changes(sample_store, tmp_path):
    import shutil

    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    calls = []

    def loader(path, year=None):
        calls.append((path, year))
        return pd.DataFrame({"area_code": ["2180"], "value": [1.0]}), object()

    memo = ResultsMemo(loader)
    first, st = memo(store, 0)
    again, st2 = memo(store, None)  # None and 0 are the same round
    assert len(calls) == 1 and st2 is st and again is not first
    again.loc[0, "value"] = 99.0  # a report changing its copy changes nothing for the next one
    assert memo(store)[0].loc[0, "value"] == 1.0
    memo(store, 2024)
    assert len(calls) == 2  # another round is another table
    (store / "sources.json").write_text((store / "sources.json").read_text() + " ", encoding="utf-8")
    memo(store, 2024)
    assert len(calls) == 3  # a changed store is loaded again


def test_keep_in_memory_makes_load_results_use_the_memo(sample_store, monkeypatch):
    monkeypatch.setattr(R, "_MEMO", None)
    calls = []
    real = R._load

    def counting(path, year=None):
        calls.append(year)
        return real(path, year)

    monkeypatch.setattr(R, "_load", counting)
    R.keep_in_memory()
    try:
        R._MEMO._load = counting
        a, _ = load_results(sample_store, 0)
        b, _ = load_results(sample_store, 0)
        assert len(calls) == 1 and a.attrs["tmb_key"] == b.attrs["tmb_key"]
    finally:
        R.keep_in_memory(False)
    load_results(sample_store, 0)
    assert len(calls) == 2


@pytest.fixture(scope="module")
def table(sample_store):
    return load_results(sample_store, 0)[0]


@pytest.mark.parametrize(
    "eq",
    [
        {"area_code": "2180"},
        {"indicator": "totalt"},
        {"area_code": "0114", "indicator": "otrygghet_kvall"},
        {"area_code": "2180", "indicator": "totalt", "year": 2023},
        {"indicator": "totalt", "year": {"crime": 2024, "survey": 2025}},
        {"area_code": "21", "year": 2024, "source_kind": "crime"},
        {"area_code": "9999"},
        {"year": 2024},
    ],
)
def test_indexed_select_gives_the_rows_a_mask_gives(table, eq):
    from tmb_analysis.periods import year_mask

    assert R.table_index(table) is not None
    mask = np.ones(len(table), dtype=bool)
    for col, val in eq.items():
        mask &= (
            year_mask(table, val)
            if col == "year"
            else (table[col].astype("string") == str(val)).fillna(False).to_numpy(bool)
        )
    expected = table[mask]
    got = select(table, **eq)
    pd.testing.assert_frame_equal(got, expected)


def test_a_selection_or_a_reordered_table_is_searched_by_masks(table):
    part = table[table["year"] == 2024]
    assert part.attrs.get("tmb_key") and R.table_index(part) is None  # same key, other rows: no index
    pd.testing.assert_frame_equal(select(part, area_code="2180"), part[part["area_code"] == "2180"])
    shuffled = table.iloc[::-1]
    assert R.table_index(shuffled) is None
    pd.testing.assert_frame_equal(select(shuffled, indicator="totalt"), shuffled[shuffled["indicator"] == "totalt"])


def test_area_name_from_the_table_the_registry_or_the_code(table):
    assert area_name(table, "2180") == "Gävle" and area_name(table.iloc[0:0], "2180") == "Gävle"
    assert area_name(table.iloc[0:0], "not-a-code") == "not-a-code"


def test_a_kept_selection_is_handed_out_as_a_copy(table):
    first = select(table, indicator="totalt")
    first.loc[first.index[0], "value"] = -1.0
    first["extra"] = 1
    again = select(table, indicator="totalt")
    assert "extra" not in again and again["value"].iloc[0] != -1.0
    pd.testing.assert_frame_equal(again, table[table["indicator"] == "totalt"])


def test_a_changed_copy_never_changes_what_the_table_gives(table):
    """A copy keeps the table's key (attrs) and so its index, but never its frames: a change made to the
    copy stays in the copy (a test of escaping once poisoned every later selection of the table)."""
    before = select(table, indicator="totalt")
    changed = table.copy()
    changed["area_name"] = changed["area_name"].where(changed["area_code"] != "2101", "<b>x</b>")
    assert (select(changed, area_code="2101")["area_name"] == "<b>x</b>").all()  # asked for first, by the copy
    assert (select(table, area_code="2101")["area_name"] == "Ockelbo").all()
    pd.testing.assert_frame_equal(select(table, indicator="totalt"), before)
