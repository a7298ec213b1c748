"""The canonical store: all-or-nothing imports, idempotence, the merge rule, population, empty stores."""

import json
import shutil

import pandas as pd
import pytest

from tmb_analysis.sources import SourceTables
from tmb_analysis.store import (
    DERIVED_POPULATION_SOURCE,
    EmptyStoreError,
    expand_paths,
    import_paths,
    importing,
    load_store,
    writing,
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
    assert sorted(p.name for p in sample_store.iterdir()) == [
        "context.parquet",
        "crime.parquet",
        "groups.parquet",
        "population.parquet",
        "sources.json",
        "survey.parquet",
    ]
    st = load_store(sample_store)
    assert st.is_synthetic
    assert len(st.sources) == 24 and all("sha256" in s and "imported_at" in s and "rows" in s for s in st.sources)
    assert all({"file", "publisher", "synthetic", "vintage", "status"} <= set(s) for s in st.sources)
    assert {s["publisher"] for s in st.sources} == {"Brå", "SCB", "Kolada (RKA)"}
    # every row keeps its source: the sha256 of its file, whose record names file, publisher and vintage
    for table in (st.crime, st.survey, st.groups):
        assert table["source_sha256"].notna().all()
        assert set(table["source_sha256"]) <= {s["sha256"] for s in st.sources}
    rec = st.source_of(st.groups["source_sha256"].iloc[0])
    assert rec["file"] == "exempeldata_kolada_kommungrupper.json" and rec["publisher"] == "Kolada (RKA)"
    assert len(st.groups) == 290 + 290 * 7
    assert len(st.crime) == 312 * 9 * 15  # crime 2016–2024
    assert st.crime["area_code"].nunique() == 312 and st.survey["area_code"].nunique() == 312
    v = st.vintage
    # NTU a year ahead of crime, as real data arrive; utsatthet 2016 was measured by NTU 2017
    assert (v.crime_first, v.crime_last, v.crime_last_status, v.survey_first, v.survey_last) == (
        2016,
        2024,
        "final",
        2017,
        2025,
    )
    assert str(v) == "anmälda brott 2016–2024 (2024 slutliga uppgifter), NTU 2017–2025"
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
    assert report.tables["crime"].unchanged == 12 * 9 * 15 and report.tables["crime"].added == 0
    assert report.tables["population"].unchanged == 312 * 10
    assert not report.warnings and not report.changes
    assert _snapshot(store) == before
    assert "nothing new" in report.summary()


def test_sample_sources_listed(sample_dir, sample_store):
    """sources.json lists every imported sample file, each marked synthetic."""
    sources = json.loads((sample_store / "sources.json").read_text("utf-8"))
    assert sorted(s["file"] for s in sources) == sorted(
        p.name for p in sample_dir.iterdir() if p.name != "exempeldata.json"
    )
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
    assert (
        sources[0]["rows"] == {"crime": 12, "survey": 6, "population": 0, "groups": 0, "context": 0}
        and sources[0]["file"] == "bra.csv"
    )
    assert sources[0]["status"] == "final" and sources[0]["publisher"] == "Brå"
    assert st.groups.empty and list(st.groups.columns[:6]) == [
        "group_id",
        "group_title",
        "group_kind",
        "area_code",
        "subject_code",
        "source",
    ]


def test_scb_population_wins_over_derived(write_bra, bra_lines, tmp_path):
    scb = tmp_path / "folkmangd.json"
    scb.write_text(
        json.dumps(
            {
                "columns": [
                    {"code": "Region", "type": "d"},
                    {"code": "Tid", "type": "t"},
                    {"code": "BE0101N1", "type": "c"},
                ],
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
    real = writing._write_parquet

    def flaky(df, path):
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError("disk full")
        real(df, path)

    monkeypatch.setattr(writing, "_write_parquet", flaky)
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
    real_read = importing.read_source

    def fake_read(path, year=None):
        if path.name != "prel.csv":
            return real_read(path, year=year)
        rows = [
            {
                "area_code": "2180",
                "year": 2023,
                "indicator": "totalt",
                "count": 9999,
                "rate_per_100k": 9850.0,
            },  # final exists
            {"area_code": "2180", "year": 2025, "indicator": "totalt", "count": 9300, "rate_per_100k": 9100.0},  # new
        ]
        crime = to_canonical(
            "crime", pd.DataFrame(rows).assign(status="preliminary", source="Brå (preliminär)", source_sha256="0" * 64)
        )
        prov = {
            "file": "prel.csv",
            "sha256": "0" * 64,
            "publisher": "Brå",
            "vintage": "2025 prel.",
            "synthetic": False,
            "format": "test",
        }
        return SourceTables(crime=crime, provenance=prov)

    monkeypatch.setattr(importing, "read_source", fake_read)
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
    monkeypatch.setattr(importing, "read_source", real_read)
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
    (folder / "exempeldata.json").write_text(
        '{"note": "Exempeldata – inte verklig statistik", "files": []}', encoding="utf-8"
    )
    assert [p.name for p in expand_paths([folder])] == ["gavleborg.csv"]
    report = import_paths([folder], tmp_path / "store")
    assert [f["file"] for f in report.files] == ["gavleborg.csv"]
    with pytest.raises(FileNotFoundError):
        import_paths([tmp_path / "missing"], tmp_path / "store")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataValidationError, match="no data files"):
        import_paths([empty], tmp_path / "store")
    (folder / "sub" / "gavleborg.csv.provenance.json").write_text('{"sha256": "x"}', encoding="utf-8")
    assert [p.name for p in expand_paths([folder])] == ["gavleborg.csv"]  # tmb fetch's sidecars are not data


def test_empty_store_errors(tmp_path):
    for folder in (tmp_path / "does-not-exist", tmp_path):
        with pytest.raises(EmptyStoreError) as exc:
            load_store(folder)
        msg = str(exc.value)
        assert isinstance(exc.value, ValueError)
        assert str(folder) in msg and "tmb sample" in msg and "tmb import" in msg
    # a store with population only still counts as empty
    scb = tmp_path / "pop.json"
    scb.write_text(
        json.dumps(
            {
                "columns": [
                    {"code": "Region", "type": "d"},
                    {"code": "Tid", "type": "t"},
                    {"code": "BE0101N1", "type": "c"},
                ],
                "data": [{"key": ["2180", "2023"], "values": ["101500"]}],
            }
        ),
        encoding="utf-8",
    )
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
    assert (
        _value(load_store(store).survey, area_code="00", year=2023, indicator="otrygghet_kvall")["share_pct"] == 26.4601
    )


# ---- vintages, groups, provenance ------------------------------------------------------------


def _scb(path, value, updated, year="2023"):
    path.write_text(
        json.dumps(
            {
                "columns": [
                    {"code": "Region", "type": "d"},
                    {"code": "Tid", "type": "t"},
                    {"code": "BE0101N1", "type": "c"},
                ],
                "data": [{"key": ["2180", year], "values": [str(value)]}],
                "metadata": [{"updated": updated, "label": "Folkmängd"}],
            }
        ),
        encoding="utf-8",
    )
    return path


def test_newer_vintage_replaces_older_never_the_reverse(write_bra, bra_lines, tmp_path):
    store = tmp_path / "store"
    import_paths([write_bra(bra_lines)], store)
    import_paths([_scb(tmp_path / "pop_2025.json", 101500, "2025-02-21T08:00:00")], store)
    # an older vintage (published 2024) imported later is not applied, and the report says so
    old = import_paths([_scb(tmp_path / "pop_2024.json", 101000, "2024-02-22T08:00:00")], store)
    assert _value(load_store(store).population, area_code="2180", year=2023)["population"] == 101500
    assert old.tables["population"].kept_newer == 1
    assert any("not applied: the store holds a newer vintage (pop_2025.json (2025-02-21))" in w for w in old.warnings)
    # a newer vintage replaces it, and the replacement is logged with both files
    new = import_paths([_scb(tmp_path / "pop_2026.json", 101700, "2026-02-20T08:00:00")], store)
    assert _value(load_store(store).population, area_code="2180", year=2023)["population"] == 101700
    assert new.tables["population"].replaced == 1
    assert new.changes == [
        "population: 1 row(s) from pop_2025.json (2025-02-21) replaced by pop_2026.json (2026-02-20)"
    ]
    assert "replaced: population: 1 row(s)" in new.summary()


def test_same_figures_from_another_file_change_nothing(write_bra, bra_lines, tmp_path):
    store = tmp_path / "store"
    import_paths([write_bra(bra_lines, name="a.csv")], store)
    before = _snapshot(store)
    copy = write_bra(bra_lines + [""], name="b.csv")  # other bytes, the same figures
    report = import_paths([copy], store)
    assert report.tables["crime"].replaced == 0 and report.tables["crime"].unchanged == 12
    st = load_store(store)
    a_sha = next(s["sha256"] for s in st.sources if s["file"] == "a.csv")
    assert set(st.crime["source_sha256"]) == {a_sha}  # the rows keep their first source
    assert {s["file"] for s in st.sources} == {"a.csv", "b.csv"}  # the new file is on record
    assert _snapshot(store)["crime.parquet"] == before["crime.parquet"]


def test_groups_are_replaced_as_a_whole(tmp_path):
    def groups(name, members):
        path = tmp_path / name
        path.write_text(
            json.dumps(
                {
                    "values": [
                        {
                            "id": "G92790",
                            "title": "Större stad (ovägt medel)",
                            "members": [{"id": m, "title": ""} for m in members],
                        }
                    ]
                }
            ),
            encoding="utf-8",
        )
        return path

    store = tmp_path / "store"
    import_paths([groups("g2017.json", ["2180", "2080", "2281"])], store)
    report = import_paths([groups("g2023.json", ["2180", "2281", "0380"])], store)
    g = pd.read_parquet(store / "groups.parquet")
    assert sorted(g["area_code"]) == ["0380", "2180", "2281"]  # 2080 left the group
    assert report.tables["groups"].removed == 1 and report.tables["groups"].added == 1
    assert any("dropped" in c for c in report.changes)


def test_fetch_sidecar_joins_the_provenance(write_bra, bra_lines, tmp_path):
    path = write_bra(bra_lines, name="bra.csv")
    import hashlib

    side = path.with_name("bra.csv.provenance.json")
    side.write_text(
        json.dumps(
            {
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "url": "https://bra.se/x.csv",
                "retrieved_at": "2026-03-28T09:00:00+00:00",
                "fetched_with": "tmb-analys",
            }
        ),
        encoding="utf-8",
    )
    store = tmp_path / "store"
    report = import_paths([tmp_path], store)
    assert [f["file"] for f in report.files] == ["bra.csv"]
    rec = load_store(store).sources[0]
    assert rec["url"] == "https://bra.se/x.csv" and rec["retrieved_at"] == "2026-03-28T09:00:00+00:00"
    # a sidecar that does not describe these bytes is ignored
    side.write_text(json.dumps({"sha256": "0" * 64, "url": "https://elsewhere"}), encoding="utf-8")
    from tmb_analysis.sources import read_source

    assert read_source(path).provenance["url"] is None


def test_store_without_source_column_still_loads(write_bra, bra_lines, tmp_path):
    """A store written before rows carried source_sha256 reads as before (the column is filled as missing)."""
    store = tmp_path / "store"
    import_paths([write_bra(bra_lines)], store)
    for name in ("crime", "survey"):
        df = pd.read_parquet(store / f"{name}.parquet").drop(columns="source_sha256")
        df.to_parquet(store / f"{name}.parquet", index=False)
    (store / "groups.parquet").unlink()
    st = load_store(store)
    assert st.crime["source_sha256"].isna().all() and st.groups.empty
    report = import_paths([write_bra([ln.replace(",9000.0,", ",9500.0,") for ln in bra_lines], name="v2.csv")], store)
    assert report.tables["crime"].replaced == 1


def test_year_option_reaches_the_readers(tmp_path):
    from fixtures import shapes

    path = shapes.bra_kommun_csv_2023(tmp_path / "kommuner.csv")
    store = tmp_path / "store"
    with pytest.raises(DataValidationError, match="--year"):
        import_paths([path], store)
    assert not store.exists()
    import_paths([path], store, year=2022)
    assert set(pd.read_parquet(store / "crime.parquet")["year"]) == {2022}


def test_same_figure_with_less_detail_keeps_the_detailed_row(write_bra, bra_lines, tmp_path):
    """Kolada restates Brå's figures without counts or intervals: a later Kolada import must not strip
    Gävle's count and NTU interval, but a revised figure (another value) does replace the row."""
    store = tmp_path / "store"
    import_paths([write_bra(bra_lines)], store)

    def kv(kpi, year, value):
        return {
            "kpi": kpi,
            "municipality": "2180",
            "period": year,
            "values": [{"gender": "T", "count": 1, "status": "", "value": value}],
        }

    kolada = tmp_path / "kolada.json"
    kolada.write_text(
        json.dumps(
            {
                "count": 3,
                "next_url": None,
                "values": [
                    kv("N07540", 2024, 8967.0),  # the same rate as Brå's, without the count of crimes
                    kv("N07609", 2024, 23.0),  # the same NTU share, without interval or respondents
                    kv("N07609", 2023, 25.0),  # a different share: a revision, which wins
                ],
            }
        ),
        encoding="utf-8",
    )
    report = import_paths([kolada], store)
    st = load_store(store)
    crime = _value(st.crime, area_code="2180", year=2024, indicator="totalt")
    assert crime["count"] == 9100 and crime["rate_per_100k"] == 8967
    ntu = _value(st.survey, area_code="2180", year=2024, indicator="otrygghet_kvall")
    assert (ntu["share_pct"], ntu["ci_low_pct"], ntu["ci_high_pct"], ntu["n_respondents"]) == (23.0, 20.0, 27.0, 610)
    bra_sha = next(s["sha256"] for s in st.sources if s["file"] == "bra.csv")
    assert crime["source_sha256"] == bra_sha and ntu["source_sha256"] == bra_sha  # the row is kept whole
    revised = _value(st.survey, area_code="2180", year=2023, indicator="otrygghet_kvall")
    assert revised["share_pct"] == 25.0 and pd.isna(revised["ci_low_pct"])
    assert report.tables["survey"].replaced == 1
    assert any(
        "restate stored figures without their ci_low_pct and ci_high_pct and n_respondents" in w
        for w in report.warnings
    ), report.warnings
    assert not any("newer vintage" in w for w in report.warnings), report.warnings


# ---- example data and real data never share a store ----------------------------------------


def test_real_files_into_an_example_store_are_refused(sample_store, write_bra, bra_lines, tmp_path, capsys):
    from tmb_analysis.cli import main

    store = tmp_path / "processed"
    shutil.copytree(sample_store, store)
    before = _snapshot(store)
    real = write_bra(bra_lines, name="riktig.csv")
    assert main(["import", str(real), "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "riktig.csv" in err[0] and "holds the example data" in err[0]
    assert "--store data/verklig" in err[0] and "--replace-example" in err[0]
    assert _snapshot(store) == before
    # --replace-example empties the store of the example data, then imports the real file
    assert main(["import", str(real), "--store", str(store), "--replace-example"]) == 0
    out = capsys.readouterr().out
    assert "example data were removed first" in out
    st = load_store(store)
    assert not st.is_synthetic and [s["file"] for s in st.sources] == ["riktig.csv"]
    assert set(st.crime["area_code"]) == {"2180", "21", "00"} and st.groups.empty


def test_example_data_into_a_real_store_and_both_at_once_are_refused(sample_dir, write_bra, bra_lines, tmp_path):
    from tmb_analysis.store import MixedStoreError

    store = tmp_path / "store"
    real = write_bra(bra_lines, name="riktig.csv")
    import_paths([real], store)
    example = sample_dir / "exempeldata_bra_kommunindikatorer_21.csv"
    with pytest.raises(
        MixedStoreError, match=r"^exempeldata_bra_kommunindikatorer_21\.csv: is example data .* holds real data"
    ):
        import_paths([example], store)
    with pytest.raises(MixedStoreError, match=r"^riktig\.csv: real files and example data .* in one import"):
        import_paths([real, example], tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_published_lan_count_against_its_complete_kommun_sum(tmp_path):
    """Gävleborg's ten kommuner and a län row: a sum that differs is a warning naming the rows and file;
    an equal sum, or an incomplete set of kommuner, is none."""
    from tmb_analysis.geography import registry

    ks = registry().kommuner("21")
    crime, ntu = "Anmälda brott", "Totalt antal anmälda brott"

    def write(name, lan_count, drop=()):
        lines = ["geografi,enhet,ar,variabel,varde,kalla"]
        for i, k in enumerate(ks):
            if k.code in drop:
                continue
            lines += [
                f"{k.name},Antal,2024,{ntu},{100 + i}.0,{crime}",
                f"{k.name},Antal per 100 000 inv,2024,{ntu},900.0,{crime}",
            ]
        lines += [
            f"Gävleborgs län,Antal,2024,{ntu},{lan_count}.0,{crime}",
            f"Gävleborgs län,Antal per 100 000 inv,2024,{ntu},910.0,{crime}",
        ]
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    total = sum(100 + i for i in range(10))  # 1045, worked out by hand
    assert not import_paths([write("same.csv", total)], tmp_path / "a").warnings
    report = import_paths([write("off.csv", total + 7)], tmp_path / "b")
    assert report.warnings == [
        f"crime: Gävleborgs län 2024 totalt: the published count {total + 7} differs from the sum of its 10 kommuner, "
        f"{total} (rows area_code=21 and its kommuner, indicator=totalt, year=2024; from off.csv)"
    ]
    assert not import_paths([write("part.csv", total + 7, drop=("2101",))], tmp_path / "c").warnings
