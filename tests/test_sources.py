"""Readers of every real format (fixtures in tests/fixtures/), format detection, synthetic marking."""

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from fixtures import shapes

from tmb_analysis.sources import (
    FORMATS,
    KOLADA_KPIS,
    SourceTables,
    detect_format,
    group_kind,
    group_subject,
    read_bra_databasfil,
    read_bra_kommun_csv,
    read_bra_long,
    read_bra_table,
    read_bra_xlsx,
    read_kolada,
    read_kolada_groups,
    read_scb_csv,
    read_scb_pxweb_json,
    read_source,
    skr_group_code,
    sol_names,
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
    # victimisation is labelled by reference year and measured in the next NTU: Falun's 2016 row carries
    # the respondents of NTU 2017 (398 in the file), its 2017 row those of NTU 2018 (451), while
    # otrygghet 2017 carries NTU 2017's own 398
    assert _row(t.survey, area_code="2080", year=2016, indicator="utsatt_misshandel")["n_respondents"] == 398
    assert _row(t.survey, area_code="2080", year=2017, indicator="utsatt_misshandel")["n_respondents"] == 451
    assert _row(t.survey, area_code="2080", year=2017, indicator="otrygghet_kvall")["n_respondents"] == 398
    assert _row(t.survey, area_code="2080", year=2024, indicator="utsatt_cykelstold")["n_respondents"] == 465
    assert t.survey["n_respondents"].notna().all() and t.survey["period"].isna().all()
    assert p_vintage(t) == "anmälda brott 2017–2024, NTU 2017–2025"
    p = t.provenance
    assert p["publisher"] == "Brå" and p["format"] == "bra_long" and p["synthetic"] is False
    assert p["sha256"] == hashlib.sha256(real_bra_dalarna.read_bytes()).hexdigest()
    assert p["file"] == real_bra_dalarna.name
    assert t.population.empty and list(t.population.columns) == COLUMNS["population"]


def p_vintage(t):
    return t.provenance["vintage"]


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
    lines = [
        ln.replace(",9100.0,", ",..,") if "2024" in ln and ln.startswith("Gävle,Antal,") and "Totalt" in ln else ln
        for ln in bra_lines
    ]
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
        "metadata": [
            {
                "infofile": "BE0101",
                "updated": "2025-02-21T08:00:00",
                "label": "Folkmängden efter region och år",
                "source": "Statistiska centralbyrån",
            }
        ],
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
            "Region": {
                "label": "region",
                "category": {"index": {"00": 0, "2180": 1}, "label": {"00": "Riket", "2180": "Gävle"}},
            },
            "Kon": {"label": "kön", "category": {"index": {"1": 0, "2": 1}, "label": {"1": "män", "2": "kvinnor"}}},
            "ContentsCode": {
                "label": "tabellinnehåll",
                "category": {"index": {"BE0101N1": 0}, "label": {"BE0101N1": "Folkmängd"}},
            },
            "Tid": {
                "label": "år",
                "category": {"index": {"2023": 0, "2024": 1}, "label": {"2023": "2023", "2024": "2024"}},
            },
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
    path = tmp_path / "events.json"
    path.write_text(
        json.dumps(
            [
                {
                    "id": 1,
                    "datetime": "2023-06-04 7:27:47 +02:00",
                    "name": "04 juni 04:53, Stöld, Gävle",
                    "summary": "…",
                    "url": "/x",
                    "type": "Stöld",
                    "location": {"name": "Gävle", "gps": "60.67,17.14"},
                }
            ]
        ),
        encoding="utf-8",
    )
    assert detect_format(path) == "polisen_events"
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


# ==== the other real formats (fixtures in tests/fixtures/, in the documented shapes) ==========

FIXTURES = Path(__file__).resolve().parent / "fixtures"


# ---- BRÅ lägesbild workbook ---------------------------------------------------------------


@pytest.mark.parametrize("edition", ["2025-04", "2025-12", "2026-04"])
def test_bra_xlsx_editions(tmp_path, edition):
    """BRÅ's workbook in its three editions (fixtures with invented numbers, tests/fixtures/shapes.py)."""
    path = shapes.lagesbild_xlsx(tmp_path / "Falun.xlsx", edition=edition)
    assert detect_format(path) == "bra_xlsx"
    t = read_source(path)
    assert t.provenance["format"] == "bra_xlsx" and t.provenance["publisher"] == "Brå"
    assert (
        t.provenance["edition"]
        == {"2025-04": "april 2025", "2025-12": "december 2025", "2026-04": "april 2026"}[edition]
    )
    tot = _row(t.crime, area_code="2080", year=2023, indicator="totalt")
    assert (tot["count"], tot["rate_per_100k"], tot["status"]) == (5043, 8419, "final")
    vnk = _row(
        t.crime, area_code="00", year=2024, indicator="vald_nara_kvinnor"
    )  # "Våld i nära relationer, mot kvinnor"
    assert (vnk["count"], vnk["rate_per_100k"]) == (43362, 410)
    dash = _row(t.crime, area_code="2080", year=2024, indicator="vald_nara_kvinnor")  # '-' is BRÅ's zero
    assert (dash["count"], dash["rate_per_100k"]) == (0, 0)
    assert len(t.crime) == 2 * 3 * 2
    assert any("footnote row(s) skipped" in n and "'Totalt (anmälda)'!A7" in n for n in t.notes)  # 'Källa: Brå'
    assert any("Innehåll" in n for n in t.notes)  # the table of contents is skipped and listed
    assert (t.crime["source_sha256"] == t.provenance["sha256"]).all()
    s = t.survey
    if edition == "2025-04":
        # pooled two-year periods keep their period, stored under their last year; no intervals, no n
        o = _row(s, area_code="2080", year=2024, indicator="otrygghet_kvall")
        assert (
            (o["period"], o["share_pct"]) == ("2023–2024", 20)
            and pd.isna(o["ci_low_pct"])
            and pd.isna(o["n_respondents"])
        )
        card = _row(s, area_code="2080", year=2023, indicator="utsatt_kortbedrageri")  # 'kort-/kreditbedrägeri'
        assert (card["period"], card["share_pct"]) == ("2022–2023", 4.4)
        assert set(s["period"]) == {"2022–2023", "2023–2024", "2021–2022"} and len(s) == 3 * 2 * 2
        assert "indicator Oro för att utsättas för rån" in t.provenance["not_imported"]
        return
    falun = _row(s, area_code="2080", year=2023, indicator="otrygghet_kvall")
    assert (falun["share_pct"], falun["ci_low_pct"], falun["ci_high_pct"], falun["n_respondents"]) == (21, 17, 25, 447)
    # '..' = no value: Falun 2024 has no otrygghet row (its respondents exist), never a zero
    assert s[(s["area_code"] == "2080") & (s["year"] == 2024) & (s["indicator"] == "otrygghet_kvall")].empty
    # victimisation of reference year 2022 was measured in NTU 2023 (n 447), 2023 in NTU 2024 (n 120)
    m22 = _row(s, area_code="2080", year=2022, indicator="utsatt_misshandel")
    m23 = _row(s, area_code="2080", year=2023, indicator="utsatt_misshandel")
    assert (m22["share_pct"], m22["n_respondents"], m23["share_pct"], m23["n_respondents"]) == (1.8, 447, 1.6, 120)
    assert _row(s, area_code="00", year=2023, indicator="utsatt_misshandel")["n_respondents"] == 64751
    assert s["period"].isna().all()
    assert t.provenance["vintage"] == "anmälda brott 2023–2024, NTU 2023–2024"


def test_bra_xlsx_victimisation_labelled_by_ntu_year_is_shifted(tmp_path):
    """A pooled sheet whose labels run over the survey years (2022/2023 'enligt NTU 2022–2024') rather
    than the reference years (2021–2023) is read as reference years 2021/2022 …."""

    def relabel(wb):
        ws = wb["Kort_kreditbedrägeri-NTU"]
        ws["B2"], ws["C2"] = "2022/2023", "2023/2024"

    t = read_bra_xlsx(shapes.lagesbild_xlsx(tmp_path / "ntu.xlsx", edition="2025-04", mutate=relabel))
    card = t.survey[t.survey["indicator"] == "utsatt_kortbedrageri"]
    assert set(card["period"]) == {"2021–2022", "2022–2023"}


def test_bra_xlsx_title_offset_must_agree_with_the_catalogue(tmp_path):
    def same_years(wb):
        wb["Utsatt misshandel"]["A1"] = (
            "Självrapporterad utsatthet för misshandel 2022–2023, enligt NTU 2022–2023. "
            "Andel (%) utsatta i befolkningen (16–84 år)."
        )

    with pytest.raises(
        DataValidationError,
        match=r"^bad\.xlsx: sheet 'Utsatt misshandel': the title gives years 2022–2023 "
        r"'enligt NTU 2022–2023', an offset of 0 year\(s\); the catalogue expects 1",
    ):
        read_bra_xlsx(shapes.lagesbild_xlsx(tmp_path / "bad.xlsx", mutate=same_years))


def test_bra_xlsx_values_in_a_footnote_row_are_refused(tmp_path):
    def values(wb):
        wb["Totalt (anmälda)"]["B7"] = 12

    with pytest.raises(
        DataValidationError, match=r"^bad\.xlsx: 1 unknown area name.*'Källa: Brå' \(cells 'Totalt \(anmälda\)'!B7"
    ):
        read_bra_xlsx(shapes.lagesbild_xlsx(tmp_path / "bad.xlsx", mutate=values))


def test_bra_xlsx_unknown_indicator_and_area(tmp_path):
    def rename(wb):
        wb["Totalt (anmälda)"]["A1"] = "Påhittade brott (anmälda brott) i kommunen, länet och hela landet"

    with pytest.raises(
        DataValidationError, match=r"^bad\.xlsx: .*unknown indicator name.*Påhittade brott.*'Totalt \(anmälda\)'!B3"
    ):
        read_bra_xlsx(shapes.lagesbild_xlsx(tmp_path / "bad.xlsx", mutate=rename))

    def area(wb):
        wb["Totalt (anmälda)"]["A3"] = "Gotham"

    with pytest.raises(DataValidationError, match=r"unknown area name.*'Gotham' \(cells 'Totalt \(anmälda\)'!B3"):
        read_bra_xlsx(shapes.lagesbild_xlsx(tmp_path / "area.xlsx", mutate=area))

    def header(wb):
        wb["Totalt (anmälda)"]["C2"] = "Antal"

    with pytest.raises(
        DataValidationError, match=r"header cell 'Totalt \(anmälda\)'!C2 is 'Antal'; expected '<enhet> <year>'"
    ):
        read_bra_xlsx(shapes.lagesbild_xlsx(tmp_path / "header.xlsx", mutate=header))


def test_truncated_workbook(tmp_path):
    path = shapes.lagesbild_xlsx(tmp_path / "cut.xlsx")
    path.write_bytes(path.read_bytes()[:1500])
    with pytest.raises(DataValidationError, match=r"^cut\.xlsx: cannot open the workbook.*damaged or truncated"):
        read_source(path)


# ---- BRÅ yearly per-kommun CSV -------------------------------------------------------------


def test_bra_kommun_csv_2023(tmp_path):
    path = shapes.bra_kommun_csv_2023(tmp_path / "Anmälda brott i kommunerna 2023.csv")
    assert detect_format(path) == "bra_kommun_csv"
    t = read_source(path)
    assert len(t.crime) == 290 and set(t.crime["year"]) == {2023} and set(t.crime["indicator"]) == {"totalt"}
    c, r = shapes.kommun_numbers("2180")
    g = _row(t.crime, area_code="2180")
    assert (g["count"], g["rate_per_100k"], g["status"]) == (c, r, "final")  # '9 100' read with its space
    assert t.provenance["vintage"] == "anmälda brott 2023"


def test_bra_kommun_csv_2021_variant(tmp_path):
    """No header, quoted 'X kommun' and genitive names, an en dash, city districts, Hela landet."""
    path = shapes.bra_kommun_csv_2021(tmp_path / "anmalda_brott_kommuner_2021.csv")
    assert detect_format(path) == "bra_kommun_csv"
    t = read_source(path)
    assert set(t.crime["year"]) == {2021}
    assert t.crime["area_code"].nunique() == 291  # 290 kommuner and riket
    for code in ("2506", "1260", "2080", "2023"):  # Arjeplogs kommun, Bjuvs kommun, Falu kommun, Malung–Sälen
        assert _row(t.crime, area_code=code)["count"] == shapes.kommun_numbers(code)[0]
    assert _row(t.crime, area_code="00")["count"] == 1493000
    note = " ".join(t.notes)
    assert "5 city district row(s) skipped" in note and "Spånga-Tensta" in note and "Angered" in note


def test_bra_kommun_csv_year_from_option(tmp_path):
    path = shapes.bra_kommun_csv_2023(tmp_path / "kommuner.csv")
    with pytest.raises(DataValidationError, match=r"^kommuner\.csv: no year in the file name.*--year"):
        read_source(path)
    assert set(read_source(path, year=2022).crime["year"]) == {2022}
    named = shapes.bra_kommun_csv_2023(tmp_path / "Anmälda brott i kommunerna 2024.csv")
    with pytest.raises(DataValidationError, match="the file name says 2024 but --year says 2023"):
        read_bra_kommun_csv(named, year=2023)


def test_bra_kommun_csv_markers_are_missing(tmp_path):
    path = shapes.bra_kommun_csv_2023(
        tmp_path / "Anmälda brott i kommunerna 2023.csv", drop=("2101", "2104"), extra=("Ockelbo;..;..", "Hofors;812;.")
    )
    t = read_source(path)
    assert t.crime[t.crime["area_code"] == "2101"].empty  # nothing at all: no row, not a zero
    h = _row(t.crime, area_code="2104")
    assert h["count"] == 812 and pd.isna(h["rate_per_100k"])


# ---- BRÅ statistics database ------------------------------------------------------------------


def test_bra_databasfil():
    path = FIXTURES / "Databasfil.txt"
    assert detect_format(path) == "bra_databasfil"
    t = read_bra_databasfil(path)
    assert t.provenance["encoding"] == "ISO-8859-1"
    g = _row(t.crime, area_code="2180", year=2024, indicator="totalt")
    assert (g["count"], g["rate_per_100k"], g["status"]) == (9100, 8967, "final")
    assert _row(t.crime, area_code="2180", year=2025, indicator="totalt")["status"] == "preliminary"  # '2025 prel.'
    assert _row(t.crime, area_code="2180", year=2024, indicator="skadegorelse")["count"] == 1250  # '1 250'
    # '..' is missing, never zero: narkotika 2025 prel. has no row; Ockelbo's rate is missing
    assert t.crime[(t.crime["indicator"] == "narkotika") & (t.crime["year"] == 2025)].empty
    assert pd.isna(_row(t.crime, area_code="2101", year=2024, indicator="totalt")["rate_per_100k"])
    assert _row(t.crime, area_code="00", year=2024, indicator="totalt")["count"] == 1489319
    notes = " ".join(t.notes)
    assert "Bostadsinbrott" in notes and "Brott mot person" in notes  # unmatched crime types are reported
    assert "Södermalm" in notes and "Region Mitt" in notes and "monthly" in notes
    assert "crime type Bostadsinbrott" in t.provenance["not_imported"]


def test_bra_databasfil_errors(tmp_path):
    text = (FIXTURES / "Databasfil.txt").read_bytes().decode("latin-1")
    bad = tmp_path / "Databasfil.txt"
    bad.write_bytes(text.replace("Gävle;Skadegörelsebrott", "Gotham;Skadegörelsebrott").encode("latin-1"))
    with pytest.raises(
        DataValidationError, match=r"^Databasfil\.txt: 1 unknown name\(s\) in column Region.*'Gotham' \(line 3\)"
    ):
        read_source(bad)
    bad.write_bytes(text.replace("Region;Brott;År;Period;Antal;", "Region;Brott;År;Period;Antalet;").encode("latin-1"))
    with pytest.raises(
        DataValidationError, match=r"line 1: missing column\(s\) Antal; expected Region;Brott;År;Period;Antal"
    ):
        read_source(bad)
    bad.write_bytes(text.replace("9 100;8 967;", "-9 100;8 967;").encode("latin-1"))
    with pytest.raises(DataValidationError, match=r"line 2: Antal '-9 100' is negative"):
        read_source(bad)
    bad.write_bytes(text.encode("latin-1")[:-12])
    with pytest.raises(DataValidationError, match=r"line 13: 4 field\(s\), expected 6 .*truncated"):
        read_source(bad)


# ---- BRÅ Excel-derived tables (P1M) -----------------------------------------------------------


def test_bra_table_p1m_csv():
    path = FIXTURES / "P1M_2024_utdrag.csv"
    assert detect_format(path) == "bra_table"
    t = read_bra_table(path)
    assert set(t.crime["area_code"]) == {"00"} and set(t.crime["year"]) == {2024}
    assert set(t.crime["status"]) == {"preliminary"}  # 'preliminär statistik' in the title
    tot = _row(t.crime, indicator="totalt")
    assert (tot["count"], tot["rate_per_100k"]) == (1400123, 13400)  # '1400 123 ', '13 400 '
    assert set(t.crime["indicator"]) == {"totalt", "skadegorelse", "narkotika", "trafikbrott", "ran_unga"}
    ni = t.provenance["not_imported"]
    assert "För organhandel" in " ".join(ni) and len(ni) == 5  # listed, not silently dropped


def test_bra_table_rejects_part_year_and_regions(tmp_path):
    text = (FIXTURES / "P1M_2024_utdrag.csv").read_text("utf-8-sig")
    part = tmp_path / "p1m_nov.csv"
    part.write_text(text.replace("jan-dec 2024", "jan-nov 2024"), encoding="utf-8-sig")
    with pytest.raises(DataValidationError, match=r"covers jan–nov, not a whole year"):
        read_source(part)
    region = tmp_path / "p1m_mitt.csv"
    region.write_text(text.replace("i hela landet", "i Region Mitt"), encoding="utf-8-sig")
    with pytest.raises(DataValidationError, match=r"only national tables"):
        read_source(region)
    bad = tmp_path / "p1m_bad.csv"
    bad.write_text(text.replace("190 000 ;", "19O 000 ;"), encoding="utf-8-sig")
    with pytest.raises(DataValidationError, match=r"line 9: .*'19O 000 '; expected a number such as"):
        read_source(bad)


def test_sol_names_are_catalogue_ids():
    m = sol_names()
    assert m["samtliga brott"] == "totalt" and m["narkotikastrafflagen"] == "narkotika"
    assert "bostadsinbrott" not in m  # a BRÅ composition with no single SOL row: not guessed


# ---- SCB CSV ----------------------------------------------------------------------------------


def test_scb_csv_code_and_population(tmp_path):
    path = tmp_path / "population.csv"
    path.write_text("kommun_kod,kommun_namn,population\n2180,Gävle,103741\n2101,Ockelbo,5740\n", encoding="utf-8")
    assert detect_format(path) == "scb_csv"
    with pytest.raises(DataValidationError, match="--year"):
        read_source(path)
    t = read_scb_csv(path, year=2024)
    assert t.population.set_index("area_code")["population"].to_dict() == {"2180": 103741, "2101": 5740}
    path.write_text("kommun_kod,kommun_namn,population\n2180,Sandviken,103741\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"line 2: code 2180 is Gävle but the name says 'Sandviken'"):
        read_scb_csv(path, year=2024)


def test_scb_csv_pxweb_wide_latin1(tmp_path):
    """SCB's PxWeb CSV download: "region","kön","2023","2024", ANSI (Windows-1252), totals only."""
    text = (
        '"region","kön","2023","2024"\r\n"00 Riket","totalt",10551707,10587710\r\n'
        '"2180 Gävle","män",51000,51100\r\n"2180 Gävle","totalt",103528,103879\r\n"2101 Ockelbo","totalt",5800,..\r\n'
    )
    path = tmp_path / "BE0101N1.csv"
    path.write_bytes(text.encode("cp1252"))
    t = read_source(path)
    pop = t.population.set_index(["area_code", "year"])["population"].to_dict()
    assert pop == {
        ("00", 2023): 10551707,
        ("00", 2024): 10587710,
        ("2180", 2023): 103528,
        ("2180", 2024): 103879,
        ("2101", 2023): 5800,
    }
    assert t.provenance["encoding"] == "Windows-1252"


# ---- Kolada --------------------------------------------------------------------------------


def _kolada_file(tmp_path, *pages) -> Path:
    values = []
    for name in pages:
        values += json.loads((FIXTURES / name).read_text("utf-8"))["values"]
    path = tmp_path / "kolada.json"
    path.write_text(json.dumps({"count": len(values), "values": values, "next_url": None}), encoding="utf-8")
    return path


def test_kolada_values(tmp_path):
    path = _kolada_file(tmp_path, "kolada_data_page1.json", "kolada_data_page2.json")
    assert detect_format(path) == "kolada_v3"
    t = read_kolada(path)
    assert t.provenance["publisher"] == "Kolada (RKA)"
    g = _row(t.crime, area_code="2180", year=2024, indicator="totalt")
    assert g["rate_per_100k"] == 8967 and pd.isna(g["count"])  # Kolada has rates, not counts of crimes
    assert (
        _row(t.crime, area_code="21", year=2024, indicator="totalt")["rate_per_100k"] == 8571
    )  # region 0021 -> län 21
    assert _row(t.crime, area_code="00", year=2024, indicator="totalt")["rate_per_100k"] == 14090  # 0000 -> riket
    assert t.crime[t.crime["area_code"] == "2181"].empty  # status '-' = missing, no row
    s = _row(t.survey, area_code="2180", year=2024, indicator="otrygghet_kvall")
    assert (s["share_pct"], s["ci_low_pct"], s["ci_high_pct"]) == (23.0, 19.5, 26.5)  # ± Osäkerhetstal N07657
    assert t.survey[t.survey["area_code"].isin(["2181", "2101"])].empty  # '..' and '.' are missing, not zero
    notes = " ".join(t.notes)
    assert "N07403" in notes and "women (K) or men (M)" in notes


def test_kolada_paged_or_empty_or_unmapped(tmp_path):
    with pytest.raises(DataValidationError, match=r"one page of a paged response .*next_url.*tmb fetch kolada"):
        read_source(FIXTURES / "kolada_data_page1.json")
    empty = tmp_path / "empty.json"
    empty.write_text('{"count": 0, "values": [], "next_url": null}', encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"^empty\.json: empty API response"):
        read_source(empty)
    only = tmp_path / "only.json"
    only.write_text(
        json.dumps(
            {
                "values": [
                    {
                        "kpi": "N07403",
                        "municipality": "2180",
                        "period": 2024,
                        "values": [{"gender": "T", "count": 1, "status": "", "value": 1.0}],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(DataValidationError, match=r"none of the KPIs N07403 maps to a catalogue indicator"):
        read_source(only)
    area = tmp_path / "area.json"
    area.write_text(
        json.dumps({"values": [{"kpi": "N07540", "municipality": "G92790", "period": 2024, "values": []}]}),
        encoding="utf-8",
    )
    with pytest.raises(DataValidationError, match=r"unknown municipality id\(s\) 'G92790'"):
        read_source(area)


def test_kolada_kpis_map_to_catalogue():
    from tmb_analysis.catalogue import catalogue

    for kpi, (ind, part) in KOLADA_KPIS.items():
        assert ind in catalogue(), kpi
        kind = catalogue().get(ind).source_kind
        assert (part == "rate_per_100k") == (kind == "crime"), kpi
    assert KOLADA_KPIS["N07540"] == ("totalt", "rate_per_100k")


# ---- Kolada groups -------------------------------------------------------------------------


def test_kolada_groups_json():
    path = FIXTURES / "kolada_municipality_groups.json"
    assert detect_format(path) == "kolada_groups"
    t = read_kolada_groups(path)
    g = t.groups
    assert list(g.columns[:6]) == ["group_id", "group_title", "group_kind", "area_code", "subject_code", "source"]
    assert set(g.loc[g["group_id"] == "G92790", "area_code"]) == {"2180", "2080", "2281"}
    assert set(g.loc[g["group_id"] == "G92790", "group_kind"]) == {"skr_kommungrupp"}
    peers = g[g["group_id"] == "G37381"]
    assert (
        set(peers["group_kind"]) == {"liknande_kommuner"} and set(peers["subject_code"]) == {"2180"} and len(peers) == 7
    )
    other = g[g["group_id"] == "G114418"]
    assert (
        set(other["group_kind"]) == {"other"}
        and set(other["area_code"]) == {"20", "21"}
        and other["subject_code"].isna().all()
    )


def test_kolada_groups_csv_and_errors(tmp_path):
    path = tmp_path / "groups.csv"
    path.write_text(
        "group_id,group_title,member_id,member_title\n"
        "G92787,Storstäder (ovägt medel),0180,Stockholm\nG92787,Storstäder (ovägt medel),1480,Göteborg\n",
        encoding="utf-8",
    )
    assert detect_format(path) == "kolada_groups_csv"
    assert set(read_source(path).groups["area_code"]) == {"0180", "1480"}
    path.write_text(
        "group_id,group_title,member_id,member_title\nG92787,Storstäder (ovägt medel),1480,Stockholm\n",
        encoding="utf-8",
    )
    with pytest.raises(DataValidationError, match=r"line 2: member 1480 is Göteborg but its title says 'Stockholm'"):
        read_source(path)
    path.write_text("group_id,group_title,member_id,member_title\nG1,X,9999,Atlantis\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"unknown member id\(s\): '9999' \(line 2\)"):
        read_source(path)


@pytest.mark.parametrize(
    "title, code, kind, subject",
    [
        ("Storstäder (ovägt medel)", "A1", "skr_kommungrupp", None),
        ("Pendlingskommun nära mindre tätort (ovägt medel)", "C7", "skr_kommungrupp", None),
        ("Landsbygdskommun, ej nära större stad", "C8", "skr_kommungrupp", None),
        ("Liknande kommuner socioekonomi, Gävle, 2020", None, "liknande_kommuner", "2180"),
        ("Liknande kommuner, övergripande, Malung-Sälen, 2025", None, "liknande_kommuner", "2023"),
        ("Liknande kommuner räddningstjänst, Region Dalarna, 2024", None, "liknande_kommuner", None),
        ("Fyrkommunsnätverket (ovägt medel)", None, "other", None),
    ],
)
def test_group_kinds(title, code, kind, subject):
    assert skr_group_code(title) == code and group_kind(title) == kind and group_subject(title) == subject


# ---- NTU years and periods in the long form ------------------------------------------------

NTU = "Nationella trygghetsundersökningen (NTU)"
EXPOSED = "Självrapporterad utsatthet för misshandel"
EXPOSED_UNIT = "Andel (%) utsatta i befolkningen (16-84 år)."


def _ntu_rows(area, ar, var, unit, share, low, high):
    return [
        f"{area},{unit},{ar},{var},{share},{NTU}",
        f"{area},KI (95 %) undre gräns,{ar},{var},{low},{NTU}",
        f"{area},KI (95 %) övre gräns,{ar},{var},{high},{NTU}",
    ]


def test_bra_long_victimisation_takes_the_respondents_of_the_next_ntu(write_bra):
    lines = [f"Gävle,,2023,Antal svarande i NTU.,600.0,{NTU}", f"Gävle,,2024,Antal svarande i NTU.,610.0,{NTU}"]
    lines += _ntu_rows("Gävle", 2023, EXPOSED, EXPOSED_UNIT, 3.0, 1.8, 4.6)  # reference year 2023 = NTU 2024
    lines += _ntu_rows("Gävle", 2024, EXPOSED, EXPOSED_UNIT, 2.5, 1.4, 4.0)  # NTU 2025: not in the file
    t = read_bra_long(write_bra(lines))
    assert _row(t.survey, year=2023, indicator="utsatt_misshandel")["n_respondents"] == 610
    assert pd.isna(_row(t.survey, year=2024, indicator="utsatt_misshandel")["n_respondents"])
    assert t.provenance["vintage"] == "NTU 2024–2025"


def test_bra_long_pooled_periods_keep_their_period(write_bra):
    var = "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet"
    unit = "Andel (%) i befolkningen (16–84 år) som känner sig ganska/mycket otrygga."
    lines = _ntu_rows("Gävle", "2017/2018", var, unit, 24, 20, 28) + _ntu_rows(
        "Gävle", "2018–2019", var, unit, 23, 19, 27
    )
    lines += [f"Gävle,,2017/2018,Antal svarande i NTU.,1100.0,{NTU}", f"Gävle,,2018,Antal svarande i NTU.,555.0,{NTU}"]
    t = read_bra_long(write_bra(lines))
    a = _row(t.survey, year=2018, indicator="otrygghet_kvall")
    assert (a["period"], a["share_pct"], a["n_respondents"]) == ("2017–2018", 24, 1100)  # the pooled n, not 2018's
    b = _row(t.survey, year=2019, indicator="otrygghet_kvall")
    assert b["period"] == "2018–2019" and pd.isna(b["n_respondents"])
    assert any("pooled two-year" in n for n in t.notes)


@pytest.mark.parametrize(
    "ar, message",
    [
        (
            "2017/2019",
            r"column 'ar' must be a four-digit year \(or a two-year NTU period such as 2017/2018\); found '2017/2019' \(lines 2, 3, 4\)",
        ),
        ("17", r"column 'ar' .*; found '17' \(lines 2, 3, 4\)"),
    ],
)
def test_bra_long_bad_periods(write_bra, ar, message):
    var = "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet"
    with pytest.raises(DataValidationError, match=r"^bra\.csv: " + message):
        read_bra_long(write_bra(_ntu_rows("Gävle", ar, var, "Andel (%)", 24, 20, 28)))


def test_bra_long_yearly_and_pooled_value_of_one_year_conflict(write_bra):
    var = "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet"
    lines = _ntu_rows("Gävle", "2017/2018", var, "Andel (%)", 24, 20, 28) + _ntu_rows(
        "Gävle", "2018", var, "Andel (%)", 23, 19, 27
    )
    with pytest.raises(
        DataValidationError,
        match=r"^bra\.csv: Gävle .*otrygghet.* has both a pooled 2017–2018 value \(line 2\) "
        r"and a yearly 2018 value \(line 5\); expected one of them",
    ):
        read_bra_long(write_bra(lines))


def test_bra_long_crime_never_has_a_period(write_bra):
    lines = [
        "Gävle,Antal,2017/2018,Totalt antal anmälda brott,100.0,Anmälda brott",
        "Gävle,Antal per 100 000 inv,2017/2018,Totalt antal anmälda brott,99.0,Anmälda brott",
    ]
    with pytest.raises(
        DataValidationError,
        match=r"^bra\.csv: line 2: reported crime for the period '2017/2018'; expected a single year",
    ):
        read_bra_long(write_bra(lines))


def test_bra_long_skips_an_indicator_bra_dropped(write_bra, bra_lines):
    """'Oro för att utsättas för rån' (April 2025 edition) is listed as not imported, the rest is read."""
    lines = bra_lines + _ntu_rows("Gävle", 2024, "Oro för att utsättas för rån", "Andel (%)", 5, 3, 7)
    t = read_bra_long(write_bra(lines))
    assert len(t.survey) == 3 * 2 and "indicator Oro för att utsättas för rån" in t.provenance["not_imported"]
    assert any("not imported" in n and "rån" in n for n in t.notes)
