"""The canonical store: all-or-nothing imports, idempotence, the merge rule, population, empty stores."""

import json
import shutil

import pandas as pd
import pytest

from tmb_analysis import store as store_mod
from tmb_analysis.sources import SourceTables
from tmb_analysis.store import (
    DERIVED_POPULATION_SOURCE,
    EmptyStoreError,
    expand_paths,
    import_paths,
    load_store,
)
from tmb_analysis.validation import DataValidationError, to_canonical


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _value(df, **where):
    sel = df
    for k, v in where.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1
    return sel.iloc[0]


# ---- the example store -------------------------------------------------------------------

def test_sample_store(sample_store):
    assert sorted(p.name for p in sample_store.iterdir()) == ["crime.parquet", "population.parquet", "sources.json", "survey.parquet"]
    st = load_store(sample_store)
    assert st.is_synthetic
    assert len(st.sources) == 22 and all("sha256" in s and "imported_at" in s and "rows" in s for s in st.sources)
    assert {s["publisher"] for s in st.sources} == {"Brå", "SCB"}
    assert len(st.crime) == 312 * 10 * 15
    assert st.crime["area_code"].nunique() == 312 and st.survey["area_code"].nunique() == 312
    v = st.vintage
    assert (v.crime_first, v.crime_last, v.crime_last_status, v.survey_first, v.survey_last) == (2016, 2025, "final", 2017, 2025)
    assert str(v) == "anmälda brott 2016–2025 (2025 slutliga uppgifter), NTU 2017–2025"
    assert str(st.crime["count"].dtype) == "Int64" and str(st.survey["share_pct"].dtype) == "Float64"
    assert str(st.population["population"].dtype) == "Int64" and str(st.crime["year"].dtype) == "int64"
    # SCB population is imported, so nothing is derived
    assert len(st.population) == 312 * 10
    assert not (st.population["source"] == DERIVED_POPULATION_SOURCE).any()


def test_reimport_changes_nothing(sample_store, sample_dir, tmp_path):
    store = tmp_path / "processed"
    shutil.copytree(sample_store, store)
    before = _snapshot(store)
    # two of the 22 files (re-reading all would only repeat the same check more slowly)
    again = [sample_dir / "exempeldata_bra_kommunindikatorer_21.csv", sample_dir / "exempeldata_scb_folkmangd.json"]
    report = import_paths(again, store)
    assert report.changed is False
    assert report.tables["crime"].unchanged == 12 * 10 * 15 and report.tables["crime"].added == 0
    assert report.tables["population"].unchanged == 312 * 10
    assert not report.warnings
    assert _snapshot(store) == before
    assert "nothing new" in report.summary()


def test_sample_sources_listed(sample_dir, sample_store):
    """sources.json lists every imported sample file, each marked synthetic."""
    sources = json.loads((sample_store / "sources.json").read_text("utf-8"))
    assert sorted(s["file"] for s in sources) == sorted(p.name for p in sample_dir.iterdir() if p.name != "exempeldata.json")
    assert all(s["synthetic"] for s in sources)


# ---- small stores ------------------------------------------------------------------------

def test_import_and_load(write_bra, bra_lines, tmp_path):
    store = tmp_path / "store"
    report = import_paths([write_bra(bra_lines)], store)
    assert report.changed and report.tables["crime"].added == 12 and report.tables["survey"].added == 6
    st = load_store(store)
    assert not st.is_synthetic
    assert _value(st.crime, area_code="2180", year=2024, indicator="totalt")["count"] == 9100
    # no SCB file: population derived from BRÅ's count and rate of 'totalt'
    p = _value(st.population, area_code="2180", year=2023)
    assert p["population"] == round(9000 / 8869 * 100_000) and p["source"] == DERIVED_POPULATION_SOURCE
    assert len(st.population) == 6
    sources = json.loads((store / "sources.json").read_text("utf-8"))
    assert sources[0]["rows"] == {"crime": 12, "survey": 6, "population": 0} and sources[0]["file"] == "bra.csv"


def test_scb_population_wins_over_derived(write_bra, bra_lines, tmp_path):
    scb = tmp_path / "folkmangd.json"
    scb.write_text(
        json.dumps(
            {
                "columns": [{"code": "Region", "type": "d"}, {"code": "Tid", "type": "t"}, {"code": "BE0101N1", "type": "c"}],
                "data": [{"key": ["2180", "2023"], "values": ["101500"]}],
            }
        ),
        encoding="utf-8",
    )
    store = tmp_path / "store"
    import_paths([write_bra(bra_lines), scb], store)
    st = load_store(store)
    p = _value(st.population, area_code="2180", year=2023)
    assert p["population"] == 101500 and p["source"].startswith("SCB")
    assert _value(st.population, area_code="2180", year=2024)["source"] == DERIVED_POPULATION_SOURCE


def test_failing_import_leaves_store_byte_identical(write_bra, bra_lines, tmp_path):
    store = tmp_path / "store"
    import_paths([write_bra(bra_lines, name="first.csv")], store)
    before = _snapshot(store)
    newer = [ln.replace(",9000.0,", ",9500.0,") for ln in bra_lines]
    bad = [ln.replace("Gävle,", "Gotham,") for ln in bra_lines]
    with pytest.raises(DataValidationError, match=r"^bad\.csv: .*'Gotham'"):
        import_paths([write_bra(newer, name="newer.csv"), write_bra(bad, name="bad.csv")], store)
    assert _snapshot(store) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".store.import-")]  # no temp folder left


def test_failure_while_writing_leaves_store_byte_identical(write_bra, bra_lines, tmp_path, monkeypatch):
    store = tmp_path / "store"
    import_paths([write_bra(bra_lines, name="first.csv")], store)
    before = _snapshot(store)
    calls = []
    real = store_mod._write_parquet

    def flaky(df, path):
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError("disk full")
        real(df, path)

    monkeypatch.setattr(store_mod, "_write_parquet", flaky)
    newer = [ln.replace(",9000.0,", ",9500.0,") for ln in bra_lines]
    with pytest.raises(OSError, match="disk full"):
        import_paths([write_bra(newer, name="newer.csv")], store)
    assert _snapshot(store) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".store.import-")]


def test_several_bad_files_are_all_named(write_bra, bra_lines, tmp_path):
    a = write_bra([ln.replace("Gävle,", "Gotham,") for ln in bra_lines], name="a.csv")
    b = write_bra(bra_lines[:-1], name="b.csv")
    with pytest.raises(DataValidationError) as exc:
        import_paths([a, b], tmp_path / "store")
    msg = str(exc.value)
    assert msg.startswith("2 of 2 files failed, nothing was imported; first: a.csv:") and "\n  b.csv: " in msg
    assert not (tmp_path / "store").exists()


def test_newer_replaces_older_and_reimport_is_idempotent(write_bra, bra_lines, tmp_path):
    store = tmp_path / "store"
    first = write_bra(bra_lines, name="2025.csv")
    import_paths([first], store)
    newer = write_bra([ln.replace(",9000.0,", ",9500.0,") for ln in bra_lines], name="2026.csv")
    report = import_paths([newer], store)
    assert report.tables["crime"].replaced == 1 and report.tables["crime"].unchanged == 11
    assert _value(load_store(store).crime, area_code="2180", year=2023, indicator="totalt")["count"] == 9500
    before = _snapshot(store)
    again = import_paths([newer], store)
    assert again.changed is False and _snapshot(store) == before
    assert len(json.loads((store / "sources.json").read_text("utf-8"))) == 2


def test_final_never_replaced_by_preliminary(write_bra, bra_lines, tmp_path, monkeypatch):
    store = tmp_path / "store"
    import_paths([write_bra(bra_lines, name="final.csv")], store)
    prel_path = write_bra(["x"], name="prel.csv")
    real_read = store_mod.read_source

    def fake_read(path):
        if path.name != "prel.csv":
            return real_read(path)
        rows = [
            {"area_code": "2180", "year": 2023, "indicator": "totalt", "count": 9999, "rate_per_100k": 9850.0},  # final exists
            {"area_code": "2180", "year": 2025, "indicator": "totalt", "count": 9300, "rate_per_100k": 9100.0},  # new
        ]
        crime = to_canonical("crime", pd.DataFrame(rows).assign(status="preliminary", source="Brå (preliminär)"))
        prov = {"file": "prel.csv", "sha256": "0" * 64, "publisher": "Brå", "vintage": "2025 prel.", "synthetic": False, "format": "test"}
        return SourceTables(crime=crime, provenance=prov)

    monkeypatch.setattr(store_mod, "read_source", fake_read)
    report = import_paths([prel_path], store)
    assert report.tables["crime"].kept_final == 1 and report.tables["crime"].added == 1
    assert any("preliminary figures never replace final" in w for w in report.warnings)
    st = load_store(store)
    kept = _value(st.crime, area_code="2180", year=2023, indicator="totalt")
    assert (kept["count"], kept["status"]) == (9000, "final")
    assert _value(st.crime, area_code="2180", year=2025, indicator="totalt")["status"] == "preliminary"
    assert st.vintage.crime_last_status == "preliminary"
    assert "2025 preliminära uppgifter" in str(st.vintage)
    # and a later final figure does replace a preliminary one
    monkeypatch.setattr(store_mod, "read_source", real_read)
    final_2025 = bra_lines + [
        "Gävle,Antal,2025,Totalt antal anmälda brott,9400.0,Anmälda brott",
        "Gävle,Antal per 100 000 inv,2025,Totalt antal anmälda brott,9200.0,Anmälda brott",
    ]
    import_paths([write_bra(final_2025, name="final2.csv")], store)
    row = _value(load_store(store).crime, area_code="2180", year=2025, indicator="totalt")
    assert (row["count"], row["status"]) == (9400, "final")


def test_folder_import_skips_manifest_readme_and_hidden(write_bra, bra_lines, tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    src = write_bra(bra_lines)
    shutil.copy(src, folder / "sub" / "gavleborg.csv")
    (folder / "README.md").write_text("# data\n", encoding="utf-8")
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    (folder / "exempeldata.json").write_text('{"note": "Exempeldata – inte verklig statistik", "files": []}', encoding="utf-8")
    assert [p.name for p in expand_paths([folder])] == ["gavleborg.csv"]
    report = import_paths([folder], tmp_path / "store")
    assert [f["file"] for f in report.files] == ["gavleborg.csv"]
    with pytest.raises(FileNotFoundError):
        import_paths([tmp_path / "missing"], tmp_path / "store")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataValidationError, match="no data files"):
        import_paths([empty], tmp_path / "store")


def test_empty_store_errors(tmp_path):
    for folder in (tmp_path / "does-not-exist", tmp_path):
        with pytest.raises(EmptyStoreError) as exc:
            load_store(folder)
        msg = str(exc.value)
        assert isinstance(exc.value, ValueError)
        assert str(folder) in msg and "tmb sample" in msg and "tmb import" in msg
    # a store with population only still counts as empty
    scb = tmp_path / "pop.json"
    scb.write_text(json.dumps({"columns": [{"code": "Region", "type": "d"}, {"code": "Tid", "type": "t"},
                                           {"code": "BE0101N1", "type": "c"}],
                               "data": [{"key": ["2180", "2023"], "values": ["101500"]}]}), encoding="utf-8")
    import_paths([scb], tmp_path / "store")
    with pytest.raises(EmptyStoreError):
        load_store(tmp_path / "store")


def test_small_revision_is_not_lost(write_bra, bra_lines, tmp_path):
    """A revision in the fourth decimal is a change (values are compared exactly)."""
    store = tmp_path / "store"
    import_paths([write_bra(bra_lines, name="v1.csv")], store)
    revised = [ln.replace(",26.46,", ",26.4601,") for ln in bra_lines]
    report = import_paths([write_bra(revised, name="v2.csv")], store)
    assert report.changed and report.tables["survey"].replaced == 1
    assert _value(load_store(store).survey, area_code="00", year=2023, indicator="otrygghet_kvall")["share_pct"] == 26.4601
