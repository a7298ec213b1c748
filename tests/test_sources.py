"""Readers: real BRÅ long form, SCB PxWeb v1 and json-stat2, format detection, synthetic marking."""

import hashlib
import json

import pandas as pd
import pytest

from tmb_analysis.sources import (
    FORMATS,
    SourceTables,
    detect_format,
    read_bra_long,
    read_scb_pxweb_json,
    read_source,
)
from tmb_analysis.validation import COLUMNS, DataValidationError


def _row(df, **where):
    sel = df
    for k, v in where.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, (where, len(sel))
    return sel.iloc[0]


# ---- real data: BRÅ indicators for Dalarna (numbers looked up by hand in the CSV) ------------

@pytest.mark.realdata
def test_real_dalarna_crime(real_bra_dalarna):
    assert detect_format(real_bra_dalarna) == "bra_long"
    t = read_source(real_bra_dalarna)
    assert isinstance(t, SourceTables)
    falun = _row(t.crime, area_code="2080", year=2023, indicator="totalt")
    assert falun["count"] == 5043 and falun["rate_per_100k"] == 8419
    assert falun["status"] == "final"
    riket = _row(t.crime, area_code="00", year=2023, indicator="totalt")
    assert riket["count"] == 1511882 and riket["rate_per_100k"] == 14349
    # "Våld i nära relationer, mot kvinnor" (quoted, with a comma) -> its id
    vnk = _row(t.crime, area_code="2080", year=2023, indicator="vald_nara_kvinnor")
    assert (vnk["count"], vnk["rate_per_100k"]) == (196, 327)
    # 15 kommuner + Dalarnas län + Hela landet, 15 indicators, 2017-2024
    assert set(t.crime["area_code"]) >= {"20", "00", "2080", "2023", "2039"}
    assert t.crime["area_code"].nunique() == 17
    assert t.crime["indicator"].nunique() == 15
    assert (t.crime["year"].min(), t.crime["year"].max()) == (2017, 2024)
    assert list(t.crime.columns) == COLUMNS["crime"]
    assert str(t.crime["count"].dtype) == "Int64" and str(t.crime["rate_per_100k"].dtype) == "Float64"


@pytest.mark.realdata
def test_real_dalarna_survey(real_bra_dalarna):
    t = read_bra_long(real_bra_dalarna)
    o = _row(t.survey, area_code="2080", year=2023, indicator="otrygghet_kvall")
    assert (o["share_pct"], o["ci_low_pct"], o["ci_high_pct"], o["n_respondents"]) == (21, 17, 25, 447)
    # the long variabel text of 'oro för bostadsinbrott' maps to its id
    b = _row(t.survey, area_code="2080", year=2023, indicator="oro_bostadsinbrott")
    assert (b["share_pct"], b["ci_low_pct"], b["ci_high_pct"]) == (15, 12, 19)
    m = _row(t.survey, area_code="2080", year=2023, indicator="utsatt_misshandel")
    assert (m["share_pct"], m["ci_low_pct"], m["ci_high_pct"]) == (1.6, 0.7, 2.9)
    assert _row(t.survey, area_code="00", year=2023, indicator="otrygghet_kvall")["n_respondents"] == 63683
    assert t.survey["indicator"].nunique() == 20
    # no respondent row exists for 2016 (utsatthet only): n is missing, not invented
    assert t.survey.loc[t.survey["year"] == 2016, "n_respondents"].isna().all()
    assert t.survey.loc[t.survey["year"] > 2016, "n_respondents"].notna().all()
    p = t.provenance
    assert p["publisher"] == "Brå" and p["format"] == "bra_long" and p["synthetic"] is False
    assert p["sha256"] == hashlib.sha256(real_bra_dalarna.read_bytes()).hexdigest()
    assert p["file"] == real_bra_dalarna.name
    assert t.population.empty and list(t.population.columns) == COLUMNS["population"]


# ---- small BRÅ files --------------------------------------------------------------------

def test_bra_long_small(write_bra, bra_lines):
    t = read_bra_long(write_bra(bra_lines))
    assert len(t.crime) == 3 * 2 * 2 and len(t.survey) == 3 * 2
    g = _row(t.crime, area_code="2180", year=2024, indicator="totalt")
    assert (g["count"], g["rate_per_100k"]) == (9100, 8967)
    s = _row(t.survey, area_code="21", year=2024, indicator="otrygghet_kvall")
    assert (s["share_pct"], s["ci_low_pct"], s["ci_high_pct"], s["n_respondents"]) == (22.0, 20.6, 23.5, 3100)
    assert set(t.crime["source"]) == {"Brå: Indikatorer för kommuners lägesbild"}


def test_bra_long_accepts_bom_crlf_and_name_forms(tmp_path, bra_lines):
    lines = [ln.replace("Gävle,", "Gävle kommun,", 1) if ln.startswith("Gävle,") else ln for ln in bra_lines]
    text = "\r\n".join(["geografi,enhet,ar,variabel,varde,kalla", *lines]) + "\r\n"
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    t = read_source(path)
    assert "2180" in set(t.crime["area_code"])


def test_bra_long_missing_marker_means_no_value(write_bra, bra_lines):
    lines = [ln.replace(",9100.0,", ",..,") if "2024" in ln and ln.startswith("Gävle,Antal,") and "Totalt" in ln else ln for ln in bra_lines]
    t = read_bra_long(write_bra(lines))
    g = _row(t.crime, area_code="2180", year=2024, indicator="totalt")
    assert pd.isna(g["count"]) and g["rate_per_100k"] == 8967


# ---- SCB population ----------------------------------------------------------------------

def _pxweb_v1(data, columns=None):
    return {
        "columns": columns
        or [
            {"code": "Region", "text": "region", "type": "d"},
            {"code": "Tid", "text": "år", "type": "t"},
            {"code": "BE0101N1", "text": "Folkmängd", "type": "c"},
        ],
        "comments": [],
        "data": data,
        "metadata": [{"infofile": "BE0101", "updated": "2025-02-21T08:00:00", "label": "Folkmängden efter region och år", "source": "Statistiska centralbyrån"}],
    }


def test_scb_pxweb_v1(tmp_path):
    obj = _pxweb_v1(
        [
            {"key": ["00", "2024"], "values": ["10587140"]},
            {"key": ["21", "2024"], "values": ["284651"]},
            {"key": ["2180", "2024"], "values": ["103741"]},
            {"key": ["2101", "2024"], "values": [".."]},
        ]
    )
    path = tmp_path / "folkmangd.json"
    path.write_text(json.dumps(obj), encoding="utf-8")
    assert detect_format(path) == "scb_pxweb_v1"
    t = read_source(path)
    pop = t.population.set_index("area_code")["population"]
    assert pop.to_dict() == {"00": 10587140, "21": 284651, "2180": 103741}  # '..' left out
    assert t.crime.empty and t.survey.empty
    assert t.provenance["publisher"] == "SCB" and t.provenance["format"] == "scb_pxweb_v1"
    assert "2025-02-21" in t.provenance["vintage"]
    assert str(t.population["population"].dtype) == "Int64"


def test_scb_pxweb_v1_sums_both_sexes(tmp_path):
    cols = [
        {"code": "Region", "text": "region", "type": "d"},
        {"code": "Kon", "text": "kön", "type": "d"},
        {"code": "Tid", "text": "år", "type": "t"},
        {"code": "BE0101N1", "text": "Folkmängd", "type": "c"},
        {"code": "BE0101N2", "text": "Folkökning", "type": "c"},
    ]
    data = [
        {"key": ["2180", "1", "2024"], "values": ["51000", "300"]},
        {"key": ["2180", "2", "2024"], "values": ["52741", "310"]},
        {"key": ["2101", "1", "2024"], "values": ["2900", "-5"]},
        {"key": ["2101", "2", "2024"], "values": ["..", "-4"]},
    ]
    path = tmp_path / "kon.json"
    path.write_text(json.dumps(_pxweb_v1(data, cols)), encoding="utf-8")
    t = read_scb_pxweb_json(path)
    assert t.population.set_index("area_code")["population"].to_dict() == {"2180": 103741}


def test_scb_jsonstat2(tmp_path):
    obj = {
        "version": "2.0",
        "class": "dataset",
        "label": "Folkmängden per region, kön och år",
        "source": "SCB",
        "updated": "2025-02-21T08:00:00Z",
        "id": ["Region", "Kon", "ContentsCode", "Tid"],
        "size": [2, 2, 1, 2],
        "dimension": {
            "Region": {"label": "region", "category": {"index": {"00": 0, "2180": 1}, "label": {"00": "Riket", "2180": "Gävle"}}},
            "Kon": {"label": "kön", "category": {"index": {"1": 0, "2": 1}, "label": {"1": "män", "2": "kvinnor"}}},
            "ContentsCode": {"label": "tabellinnehåll", "category": {"index": {"BE0101N1": 0}, "label": {"BE0101N1": "Folkmängd"}}},
            "Tid": {"label": "år", "category": {"index": {"2023": 0, "2024": 1}, "label": {"2023": "2023", "2024": "2024"}}},
        },
        "role": {"time": ["Tid"], "metric": ["ContentsCode"], "geo": ["Region"]},
        # Region x Kon x ContentsCode x Tid, last dimension fastest
        "value": [5_270_000, 5_300_000, 5_280_000, 5_287_140, 51_000, 51_100, 52_000, None],
    }
    path = tmp_path / "befolkning.json"  # extension says nothing about the dialect
    path.write_text(json.dumps(obj), encoding="utf-8")
    assert detect_format(path) == "scb_jsonstat2"
    t = read_source(path)
    pop = t.population.set_index(["area_code", "year"])["population"].to_dict()
    assert pop == {("00", 2023): 10_550_000, ("00", 2024): 10_587_140, ("2180", 2023): 103_000}
    assert t.provenance["format"] == "scb_jsonstat2"


def test_scb_monthly_time_is_rejected(tmp_path):
    path = tmp_path / "month.json"
    path.write_text(json.dumps(_pxweb_v1([{"key": ["2180", "2024M11"], "values": ["103741"]}])), encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"month\.json: .*2024M11"):
        read_source(path)


def test_truncated_json_names_file(tmp_path):
    obj = _pxweb_v1([{"key": ["2180", str(y)], "values": ["100000"]} for y in range(2016, 2026)])
    text = json.dumps(obj)
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"^cut\.json: not valid JSON.*truncated"):
        read_source(path)


# ---- detection and dispatch -------------------------------------------------------------

def test_detect_by_content_not_extension(tmp_path, bra_lines):
    path = tmp_path / "indikatorer.txt"
    path.write_text("\n".join(["geografi,enhet,ar,variabel,varde,kalla", *bra_lines]) + "\n", encoding="utf-8")
    assert detect_format(path) == "bra_long"
    assert len(read_source(path).crime) == 12


def test_unrecognised_file(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    assert detect_format(path) == "unknown"
    with pytest.raises(DataValidationError) as exc:
        read_source(path)
    msg = str(exc.value)
    assert msg.startswith("notes.csv: unrecognised file format")
    for fmt in FORMATS:
        assert fmt in msg


def test_recognised_but_unsupported(tmp_path):
    path = tmp_path / "Anmälda brott kommunerna 2024.csv"
    path.write_bytes("\ufeffKommun;Antal;Per 100 000 inv.\r\nGävle;9 100;8 967\r\n".encode("utf-8"))
    assert detect_format(path) == "bra_kommun_csv"
    with pytest.raises(DataValidationError, match="no reader"):
        read_source(path)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataValidationError, match=r"^empty\.csv: the file is empty"):
        read_source(empty)
    with pytest.raises(FileNotFoundError):
        read_source(tmp_path / "nope.csv")


# ---- synthetic marking --------------------------------------------------------------------

def test_synthetic_marking_by_manifest(tmp_path, write_bra, bra_lines):
    path = write_bra(bra_lines, name="a.csv")
    other = write_bra(bra_lines[:8], name="b.csv")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "exempeldata.json").write_text(
        json.dumps({"note": "Exempeldata – inte verklig statistik", "files": [{"name": "a.csv", "sha256": digest}]}),
        encoding="utf-8",
    )
    assert read_source(path).provenance["synthetic"] is True
    assert read_source(other).provenance["synthetic"] is False
    assert detect_format(tmp_path / "exempeldata.json") == "tmb_sample_manifest"
    with pytest.raises(DataValidationError, match="not a data file"):
        read_source(tmp_path / "exempeldata.json")
