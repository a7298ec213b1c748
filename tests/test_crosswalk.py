"""The dated kommun crosswalk, and long series read through it."""

import pandas as pd
import pytest
from fixtures import shapes

from tmb_analysis.crosswalk import crosswalk, load_crosswalk
from tmb_analysis.geography import UnknownAreaError
from tmb_analysis.sources import SERIES_ASSUMPTION, detect_format, read_source
from tmb_analysis.validation import DataValidationError


def test_known_changes():
    cw = crosswalk()
    # Knivsta 0330 from 2003, split from Uppsala 0380
    assert not cw.exists("0330", 2002) and cw.exists("0330", 2003)
    assert cw.parent_of("0330", 2002) == "0380" and cw.parent_of("0330", 2003) is None
    # Nykvarn 0140 from 1999, split from Södertälje 0181
    assert not cw.exists("0140", 1998) and cw.exists("0140", 1999)
    assert cw.parent_of("0140", 1998) == "0181"
    # Heby: Västmanlands län (code 1917) to Uppsala län (0331) in 2007
    assert cw.current_code("1917") == "0331" and cw.current_code("0331") == "0331"
    assert cw.lan_of("0331", 2006) == "19" and cw.lan_of("0331", 2007) == "03" and cw.lan_of("0331") == "03"
    assert cw.lan_of("1917", 2000) == "19"
    assert cw.code_in_year("0331", 2006) == "1917" and cw.code_in_year("0331", 2007) == "0331"
    # everything else is unchanged
    assert cw.exists("2180", 1996) and cw.lan_of("2180", 1996) == "21" and cw.current_code("2180") == "2180"


def test_old_code_after_the_change_and_unknown_codes():
    cw = crosswalk()
    with pytest.raises(UnknownAreaError, match="1917 .*replaced by 0331 on 2007-01-01"):
        cw.current_code("1917", 2010)
    with pytest.raises(UnknownAreaError):
        cw.current_code("9999")


def test_harmonise_frame():
    df = pd.DataFrame(
        {"area_code": ["1917", "0331", "0330", "0330", "2180"], "year": [2005, 2008, 2001, 2004, 2001], "v": range(5)}
    )
    out = crosswalk().harmonise(df)
    assert list(out["area_code"]) == ["0331", "0331", "0330", "0330", "2180"]
    assert list(out["exists"]) == [True, True, False, True, True]
    assert list(out["lan_then"]) == ["19", "03", "03", "03", "21"]
    with pytest.raises(UnknownAreaError, match="unknown kommun code\\(s\\) 1234"):
        crosswalk().harmonise(pd.DataFrame({"area_code": ["1234"], "year": [2000]}))


def test_bad_yaml_is_reported(tmp_path):
    p = tmp_path / "changes.yaml"
    p.write_text("changes:\n  - {code: '0330', name: Knivsta, kind: split, date: 2003-01-01}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="a split needs 'parent'"):
        load_crosswalk(p)
    p.write_text("changes:\n  - {code: '0330', name: Knivsta, kind: merger, date: 2003-01-01}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="kind must be one of"):
        load_crosswalk(p)


# ---- the 1996–2015 series through the crosswalk ---------------------------------------------


def test_series_reads_codes_not_names(tmp_path):
    path = shapes.series_1996_2015(tmp_path / "brott.csv")
    assert detect_format(path) == "bra_kommun_1996_2015"
    t = read_source(path)
    c = t.crime
    assert c["area_code"].nunique() == 290 and (c["year"].min(), c["year"].max()) == (1996, 2015)
    assert set(c["indicator"]) == {"totalt"} and c["count"].isna().all() and set(c["status"]) == {"final"}
    # per 10 000 -> per 100 000 (the documented assumption)
    base = 100 + int("2180") % 700 + (2015 - 1996) * 3
    assert c[(c["area_code"] == "2180") & (c["year"] == 2015)]["rate_per_100k"].iloc[0] == (base + base // 10) * 10
    assert t.provenance["assumption"] == SERIES_ASSUMPTION
    # Knivsta '.' before 2003, Nykvarn before 2001: no rows, never zeros
    assert c[c["area_code"] == "0330"]["year"].min() == 2003 and c[c["area_code"] == "0140"]["year"].min() == 2001
    assert any("Våldsbrott".replace("å", "?") in n for n in t.notes)


def test_series_with_heby_under_its_old_code(tmp_path):
    def old_code(line):  # Heby listed as Västmanland's 1917, with values only to 2006
        cells = line.split(";")
        cells[0] = '"1917 Heby"'
        years = list(range(2015, 1989, -1))
        for m in range(3):
            for k, y in enumerate(years):
                if y >= 2007:
                    cells[1 + m * len(years) + k] = "."
        return ";".join(cells)

    path = shapes.series_1996_2015(tmp_path / "brott.csv", replace={"0331": old_code})
    t = read_source(path)
    heby = t.crime[t.crime["area_code"] == "0331"]
    assert (heby["year"].min(), heby["year"].max()) == (1996, 2006)  # joined to today's code
    # both codes with values for the same year: a duplicated kommun
    path = shapes.series_1996_2015(tmp_path / "dup.csv", rows_extra=[old_code(_heby_line(tmp_path))])
    with pytest.raises(DataValidationError, match=r"^dup\.csv: duplicated kommun: 0331 has two values for"):
        read_source(path)


def _heby_line(tmp_path):
    text = shapes.series_1996_2015(tmp_path / "tmp.csv").read_text("utf-8")
    return next(ln for ln in text.splitlines() if ln.startswith('"0331'))


def test_series_value_before_a_kommun_existed_is_an_error(tmp_path):
    def knivsta(line):
        cells = line.split(";")
        cells[1 + 2 * 26 + (2015 - 2001)] = "500"  # Totalt 2001: Knivsta did not exist
        return ";".join(cells)

    path = shapes.series_1996_2015(tmp_path / "brott.csv", replace={"0330": knivsta})
    with pytest.raises(
        DataValidationError, match=r"line \d+: 0330 has a value for 2001 .* Knivsta 2003-01-01.*expected '\.'"
    ):
        read_source(path)


def test_series_needs_the_whole_country(tmp_path):
    path = shapes.series_1996_2015(tmp_path / "brott.csv", replace={"2180": '"9999 Gotham";' + ";".join([".."] * 78)})
    with pytest.raises(DataValidationError, match=r"unknown kommun code\(s\) 9999"):
        read_source(path)
