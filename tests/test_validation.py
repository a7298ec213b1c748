"""Bad input gives one clear error that names the file, the field, an example and what was expected."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from fixtures import shapes

from tmb_analysis.sources import read_source
from tmb_analysis.validation import (
    COLUMNS,
    DataValidationError,
    empty_table,
    schema,
    to_canonical,
    validate,
)


def _error(path) -> str:
    with pytest.raises(DataValidationError) as exc:
        read_source(path)
    assert isinstance(exc.value, ValueError)
    msg = str(exc.value)
    assert msg.startswith(f"{path.name}: "), msg  # the first line names the file
    return msg


def _replace(lines, old, new, where=lambda ln: True, count=1):
    out, done = [], 0
    for ln in lines:
        if done < count and old in ln and where(ln):
            ln = ln.replace(old, new)
            done += 1
        out.append(ln)
    assert done == count
    return out


# ---- through the readers (BRÅ long form) -------------------------------------------------


def test_negative_count(write_bra, bra_lines):
    lines = _replace(bra_lines, ",9000.0,", ",-5.0,")
    msg = _error(write_bra(lines, name="negativ.csv"))
    first = msg.splitlines()[0]
    assert "count" in first and "-5" in first and "0 or more" in first and "2180" in first


def test_share_above_100(write_bra, bra_lines):
    lines = _replace(bra_lines, ",24.0,", ",124.0,")
    lines = _replace(lines, ",28.0,", ",130.0,")
    msg = _error(write_bra(lines, name="andel.csv"))
    assert "share_pct" in msg and "124" in msg and "between 0 and 100" in msg


def test_ci_must_contain_share(write_bra, bra_lines):
    lines = _replace(bra_lines, ",21.0,", ",25.0,")  # lower limit above the share 24
    msg = _error(write_bra(lines, name="ki.csv"))
    assert "ci_low_pct <= share_pct <= ci_high_pct" in msg and "ci_low_pct=25.0" in msg


def test_duplicate_rows(write_bra, bra_lines):
    lines = bra_lines + [bra_lines[0]]
    msg = _error(write_bra(lines, name="dubbel.csv"))
    assert "duplicated" in msg and "Gävle 2023" in msg and "lines 2, 50" in msg


def test_duplicate_after_name_mapping(write_bra, bra_lines):
    # 'Gävle kommun' is the same area as 'Gävle': two values for one cell
    lines = bra_lines + [bra_lines[0].replace("Gävle,", "Gävle kommun,", 1).replace("9000.0", "9001.0")]
    msg = _error(write_bra(lines, name="alias.csv"))
    assert "duplicated" in msg


def test_unknown_area_names_all_listed(write_bra, bra_lines):
    lines = _replace(bra_lines, "Gävle,", "Gotham,", count=3)
    lines = _replace(lines, "Hela landet,", "Atlantis,", count=1)
    msg = _error(write_bra(lines, name="okand.csv"))
    first = msg.splitlines()[0]
    assert "2 unknown area name(s)" in first
    assert "'Gotham' (lines 2, 3, 4)" in first and "'Atlantis' (line 34)" in first


def test_unknown_indicator(write_bra, bra_lines):
    lines = _replace(bra_lines, "Totalt antal anmälda brott", "Totalt antal påhittade brott")
    msg = _error(write_bra(lines, name="indikator.csv"))
    assert "unknown indicator name" in msg and "'Totalt antal påhittade brott' (line 2)" in msg


def test_missing_column(write_bra, bra_lines):
    lines = [ln.rsplit(",", 1)[0] for ln in bra_lines]
    msg = _error(write_bra(lines, name="kolumn.csv", header="geografi,enhet,ar,variabel,varde"))
    assert "missing column(s) kalla" in msg and "geografi, enhet, ar, variabel, varde, kalla" in msg


def test_renamed_column(write_bra, bra_lines):
    msg = _error(write_bra(bra_lines, name="namn.csv", header="geografi,enhet,ar,variabel,value,kalla"))
    assert "missing column(s) varde" in msg and "found geografi, enhet, ar, variabel, value, kalla" in msg


def test_truncated_mid_line(write_bra, bra_lines):
    path = write_bra(bra_lines, name="avbruten.csv")
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b",")])  # the last line loses its 'kalla' field
    msg = _error(path)
    assert "line 49: 5 field(s), expected 6" in msg and "truncated" in msg
    path.write_bytes(data[: len(data) - 30])  # cut inside the 'kalla' text of the last line
    msg = _error(path)
    assert "line 49" in msg and "truncated" in msg


def test_truncated_at_line_end(write_bra, bra_lines):
    msg = _error(write_bra(bra_lines[:-1], name="kort.csv"))  # the upper CI limit is missing
    assert "incomplete" in msg and "truncated" in msg and "ci_high_pct" in msg


def test_wrong_encoding(write_bra, bra_lines):
    path = write_bra(bra_lines, name="latin1.csv", encoding="cp1252")  # as Excel on Windows saves it
    msg = _error(path)
    first = msg.splitlines()[0]
    assert "not valid UTF-8" in first and "line 2" in first and "ISO-8859-1" in first
    assert "byte position 40" in first  # the 'ä' of 'Gävle' on line 2


def test_wrong_delimiter(write_bra, bra_lines):
    lines = [ln.replace(",", ";") for ln in bra_lines]
    msg = _error(write_bra(lines, name="semikolon.csv", header="geografi;enhet;ar;variabel;varde;kalla"))
    assert "semicolons" in msg and "geografi, enhet, ar, variabel, varde, kalla" in msg


def test_non_numeric_value(write_bra, bra_lines):
    lines = _replace(bra_lines, ",24.0,", ',"24,5",')
    msg = _error(write_bra(lines, name="text.csv"))
    assert "must be numeric" in msg and "decimal mark" in msg and "'24,5' (line 7)" in msg


def test_bad_year(write_bra, bra_lines):
    lines = _replace(bra_lines, ",2023,", ",år 2023,")
    msg = _error(write_bra(lines, name="ar.csv"))
    assert "four-digit year" in msg and "'år 2023' (line 2)" in msg


# ---- validate() on canonical frames --------------------------------------------------------


def _crime(**overrides):
    row = {
        "area_code": "2180",
        "year": 2023,
        "indicator": "totalt",
        "count": 9000,
        "rate_per_100k": 8869.0,
        "status": "final",
        "source": "Brå",
    }
    row.update(overrides)
    return to_canonical("crime", pd.DataFrame([row]))


def test_valid_tables_pass_unchanged():
    df = _crime()
    assert validate("crime", df, "x.csv") is not None
    for name in COLUMNS:
        assert list(empty_table(name).columns) == COLUMNS[name]
        validate(name, empty_table(name), "empty")
    assert schema("survey").unique == ["area_code", "year", "indicator"]


@pytest.mark.parametrize(
    ("overrides", "expect"),
    [
        ({"area_code": "9999"}, "known SCB area code"),
        ({"indicator": "otrygghet_kvall"}, "crime indicator id"),
        ({"year": 1850}, "between 1990 and 2100"),
        ({"status": "prel"}, "'final' or 'preliminary'"),
        ({"rate_per_100k": -1.0}, "rate of 0 or more"),
    ],
)
def test_validate_crime_rules(overrides, expect):
    with pytest.raises(DataValidationError) as exc:
        validate("crime", _crime(**overrides), "fil.csv")
    first = str(exc.value).splitlines()[0]
    assert first.startswith("fil.csv: invalid crime data:") and expect in first
    col = next(iter(overrides))
    assert f"column {col!r}" in first and f"{col}={overrides[col]}" in first


def test_validate_reports_duplicates_and_missing_columns():
    dup = pd.concat([_crime(), _crime()], ignore_index=True)
    with pytest.raises(DataValidationError, match=r"fil.csv: invalid crime data: 2 rows repeat a key"):
        validate("crime", dup, "fil.csv")
    with pytest.raises(
        DataValidationError,
        match=r"missing column\(s\) population; expected columns: area_code, year, population, source",
    ):
        validate("population", pd.DataFrame({"area_code": ["2180"], "year": [2023], "source": ["SCB"]}), "pop.json")


def test_validate_population_and_dtypes():
    pop = to_canonical(
        "population", pd.DataFrame({"area_code": ["2180"], "year": [2023], "population": [0], "source": ["SCB"]})
    )
    with pytest.raises(DataValidationError, match="population above 0"):
        validate("population", pop, "pop.json")
    bad = _crime().astype({"count": "float64"})
    with pytest.raises(DataValidationError, match=r"column 'count' has type float64, expected Int64"):
        validate("crime", bad, "fil.csv")
    with pytest.raises(DataValidationError, match=r"fil.csv: .*'count' must hold whole numbers.*2\.5"):
        to_canonical("crime", pd.DataFrame({"count": [1, 2.5]}), "fil.csv")


# ---- the groups table, the optional source column, the fast path ----------------------------


def _groups(**overrides):
    row = {
        "group_id": "G92790",
        "group_title": "Större stad (ovägt medel)",
        "group_kind": "skr_kommungrupp",
        "area_code": "2180",
        "subject_code": None,
        "source": "Kolada (RKA)",
    }
    row.update(overrides)
    return to_canonical("groups", pd.DataFrame([row]))


def test_groups_schema():
    validate("groups", _groups(), "g.json")
    validate("groups", _groups(group_kind="liknande_kommuner", subject_code="2180"), "g.json")
    for overrides, expect in (
        ({"group_kind": "vänner"}, "one of skr_kommungrupp"),
        ({"subject_code": "21"}, "kommun code"),
        ({"area_code": "9999"}, "known SCB area code"),
        ({"group_id": ""}, "non-empty group id"),
    ):
        with pytest.raises(DataValidationError, match=expect) as exc:
            validate("groups", _groups(**overrides), "g.json")
        assert str(exc.value).startswith("g.json: invalid groups data:")
    with pytest.raises(DataValidationError, match="repeat a key"):
        validate("groups", pd.concat([_groups(), _groups()], ignore_index=True), "g.json")


def test_source_sha256_is_optional_but_checked():
    df = _crime()
    assert "source_sha256" in df.columns and df["source_sha256"].isna().all()
    validate("crime", df.drop(columns="source_sha256"), "x.csv")  # absent: fine
    with pytest.raises(DataValidationError, match="sha256 in hex"):
        validate("crime", df.assign(source_sha256="abc"), "x.csv")


@pytest.mark.parametrize(
    "name, frame",
    [
        ("crime", lambda: _crime()),
        ("crime", lambda: _crime(count=-1)),
        ("crime", lambda: _crime(area_code="9999")),
        ("crime", lambda: _crime(status="prel")),
        ("crime", lambda: pd.concat([_crime(), _crime()], ignore_index=True)),
        ("crime", lambda: _crime().astype({"count": "float64"})),
        ("groups", lambda: _groups()),
        ("groups", lambda: _groups(subject_code="00")),
    ],
)
def test_fast_path_agrees_with_the_schema(name, frame):
    from pandera.errors import SchemaErrors

    from tmb_analysis.validation import _fast_valid

    df = frame()
    try:
        schema(name).validate(df, lazy=True)
        ok = True
    except SchemaErrors:
        ok = False
    assert _fast_valid(name, df) is ok  # never 'valid' when pandera says no; the shortcut taken for valid tables


# ---- the bad-input list of the issue: one clear message, non-zero exit, store unchanged ------

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _kommun_csv(tmp, **kw):
    return shapes.bra_kommun_csv_2023(tmp / "Anmälda brott i kommunerna 2023.csv", **kw)


def _kolada(tmp, value):
    path = tmp / "kolada.json"
    path.write_text(
        json.dumps(
            {
                "values": [
                    {
                        "kpi": "N07609",
                        "municipality": "2180",
                        "period": 2024,
                        "values": [{"gender": "T", "count": 1, "status": "", "value": value}],
                    }
                ],
                "next_url": None,
            }
        ),
        encoding="utf-8",
    )
    return path


def _truncated(tmp):
    path = _kommun_csv(tmp)
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b";")])  # the last line loses its rate
    return path


def _renamed(tmp):
    path = _kommun_csv(tmp)
    path.write_bytes(path.read_bytes().replace(b"Kommun;Antal;", b"Kommun;Count;"))
    return path


def _missing_column(tmp):
    path = tmp / "Databasfil.txt"
    path.write_bytes((FIXTURES / "Databasfil.txt").read_bytes().replace(b";Brott;", b";Typ;", 1))
    return path


BAD_INPUT = {
    "wrong encoding": (
        lambda t: _kommun_csv(t, encoding="cp1252"),
        r"not valid UTF-8: byte 0x.. at .*\(line \d+, column \d+\).*ISO-8859-1",
    ),
    "wrong delimiter": (
        lambda t: _kommun_csv(t, sep=","),
        r"line 1: the columns are separated by commas \(,\); expected semicolons",
    ),
    "truncated file": (_truncated, r"line 291: 2 field\(s\), expected 3 — the file looks truncated"),
    "truncated json": (
        lambda t: (
            (t / "cut.json").write_text('{"values": [{"kpi": "N07540", "munic', encoding="utf-8") and t / "cut.json"
        ),
        r"not valid JSON.*truncated",
    ),
    "missing column": (_missing_column, r"line 1: missing column\(s\) Brott; expected Region;Brott;År;Period;Antal"),
    "renamed column": (
        _renamed,
        r"line 1: the header is 'kommun;count;per 100 000 inv'; expected the columns Kommun;Antal",
    ),
    "duplicated kommun": (
        lambda t: _kommun_csv(t, extra=("Gävle kommun;1;1",)),
        r"duplicated kommun: 291 kommun rows for 290 kommuner; 'Gävle' \(line \d+\) and 'Gävle kommun' \(line 292\)",
    ),
    "289 kommuner": (
        lambda t: _kommun_csv(t, drop=("2180",)),
        r"must list all 290 kommuner; found 289: missing Gävle \(2180\)",
    ),
    "291 kommuner": (lambda t: _kommun_csv(t, extra=("Sandvikens kommun;5;5",)), r"291 kommun rows for 290 kommuner"),
    "negative count": (
        lambda t: _kommun_csv(t, drop=("2180",), extra=("Gävle;-12;8 000",)),
        r"line 291: Antal '-12' is negative; expected a count or rate of 0 or more",
    ),
    "share outside 0-100": (
        lambda t: _kolada(t, 130.0),
        r"invalid survey data: column 'share_pct'.*between 0 and 100.*area_code=2180",
    ),
    "unknown name": (
        lambda t: _kommun_csv(t, drop=("2180",), extra=("Gotham;1;1",)),
        r"1 unknown name\(s\) in column Kommun .*'Gotham' \(line 291\)",
    ),
    "empty API response": (
        lambda t: (
            (t / "empty.json").write_text('{"values": [], "next_url": null}', encoding="utf-8") and t / "empty.json"
        ),
        r"empty API response: 'values' is empty",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input(case, sample_store, tmp_path, capsys):
    """Each bad input: one message naming the file and the line or field and what was expected; exit 2; the store
    byte-identical (all or nothing, also with a good file in the same import)."""
    import shutil

    from tmb_analysis.cli import main
    from tmb_analysis.store import import_paths

    make, pattern = BAD_INPUT[case]
    src = tmp_path / "in"
    src.mkdir()
    bad = make(src)
    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    before = {p.name: p.read_bytes() for p in store.iterdir()}
    with pytest.raises(DataValidationError) as exc:
        import_paths([bad], store)
    first = str(exc.value).splitlines()[0]
    assert first.startswith(f"{bad.name}: ") and re.search(pattern, first), first
    good = tmp_path / "good.json"
    good.write_bytes((FIXTURES / "scb_folkmangd_v1.json").read_bytes())
    code = main(["import", str(good), str(bad), "--store", str(store)])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 2 and len(err) == 1 and bad.name in err[0], err
    assert {p.name: p.read_bytes() for p in store.iterdir()} == before


def test_markers_mean_missing_not_zero(tmp_path):
    from tmb_analysis.sources import read_source

    t = read_source(
        _kommun_csv(tmp_path, drop=("2101", "2104", "2121"), extra=("Ockelbo;..;..", "Hofors;-;.", "Ovanåker;7;"))
    )
    assert not t.crime.loc[t.crime["area_code"].isin(["2101", "2104"])].size
    assert pd.isna(t.crime.loc[t.crime["area_code"] == "2121", "rate_per_100k"]).all()
    assert not (t.crime[["count", "rate_per_100k"]] == 0).any().any()
    k = read_source(_kolada(tmp_path, "-"))
    assert k.survey.empty is True or k.survey["share_pct"].notna().all()
