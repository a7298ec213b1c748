"""Bad input gives one clear error that names the file, the field, an example and what was expected."""

import pandas as pd
import pytest

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
    lines = _replace(bra_lines, ",24.0,", ",\"24,5\",")
    msg = _error(write_bra(lines, name="text.csv"))
    assert "must be numeric" in msg and "decimal mark" in msg and "'24,5' (line 7)" in msg


def test_bad_year(write_bra, bra_lines):
    lines = _replace(bra_lines, ",2023,", ",år 2023,")
    msg = _error(write_bra(lines, name="ar.csv"))
    assert "four-digit year" in msg and "'år 2023' (line 2)" in msg


# ---- validate() on canonical frames --------------------------------------------------------

def _crime(**overrides):
    row = {"area_code": "2180", "year": 2023, "indicator": "totalt", "count": 9000, "rate_per_100k": 8869.0,
           "status": "final", "source": "Brå"}
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
    with pytest.raises(DataValidationError, match=r"missing column\(s\) population; expected columns: area_code, year, population, source"):
        validate("population", pd.DataFrame({"area_code": ["2180"], "year": [2023], "source": ["SCB"]}), "pop.json")


def test_validate_population_and_dtypes():
    pop = to_canonical("population", pd.DataFrame({"area_code": ["2180"], "year": [2023], "population": [0], "source": ["SCB"]}))
    with pytest.raises(DataValidationError, match="population above 0"):
        validate("population", pop, "pop.json")
    bad = _crime().astype({"count": "float64"})
    with pytest.raises(DataValidationError, match=r"column 'count' has type float64, expected Int64"):
        validate("crime", bad, "fil.csv")
    with pytest.raises(DataValidationError, match=r"fil.csv: .*'count' must hold whole numbers.*2\.5"):
        to_canonical("crime", pd.DataFrame({"count": [1, 2.5]}), "fil.csv")
