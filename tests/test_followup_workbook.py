"""The follow-up workbook: template -> filled by a samordnare -> read back, with clear errors."""

import datetime as dt
import math
import shutil

import pytest
from openpyxl import load_workbook

from tmb_analysis.followup_workbook import HEADINGS, is_followup_workbook, read_workbook, write_template
from tmb_analysis.statistics.detectable import detectable_change_rate
from tmb_analysis.validation import DataValidationError


@pytest.fixture(scope="module")
def results(sample_store):
    from tmb_analysis.report import load_results

    return load_results(sample_store)[0]


@pytest.fixture
def template(results, tmp_path):
    return write_template(results, "2180", tmp_path / "uppfoljning-2180.xlsx")


def fill(path, rows, header=HEADINGS):
    wb = load_workbook(path)
    ws = wb["Beslut"]
    for i, h in enumerate(header, 1):
        ws.cell(row=1, column=i, value=h)
    for r, values in enumerate(rows, 2):
        for c, v in enumerate(values, 1):
            ws.cell(row=r, column=c, value=v)
    wb.save(path)
    return path


def test_template_has_the_sheets_headings_and_lists(template, results):
    assert is_followup_workbook(template)
    wb = load_workbook(template)
    assert wb.sheetnames == ["Läs först", "Beslut", "Indikatorer", "tmb"] and wb["tmb"].sheet_state == "hidden"
    beslut = wb["Beslut"]
    assert tuple(c.value for c in beslut[1]) == HEADINGS
    lists = {str(v.sqref): v.formula1 for v in beslut.data_validations.dataValidation}
    assert lists["C2:C200"].startswith("=Indikatorer!$A$2") and lists["E2:E200"] == '"minska,öka"'
    ind = wb["Indikatorer"]
    labels = [r[0] for r in ind.iter_rows(min_row=2, values_only=True)]
    assert "Bostadsinbrott" in labels and len(labels) == len(set(labels))
    # this year's proposals are pre-filled, undecided (Beslut empty)
    prefilled = [r for r in beslut.iter_rows(min_row=2, values_only=True) if r[2]]
    assert prefilled and all(r[0] is None and r[2] in labels and r[4] in ("minska", "öka") for r in prefilled)


def test_detectable_change_column_matches_the_power_calculation(template, results):
    """The template's figure for an indicator is the detectable change of the kommun's latest count at the
    model's phi (checked against tmb_analysis.statistics.detectable, itself checked by simulation)."""
    from tmb_analysis.periods import round_mask

    own = results[results["area_code"] == "2180"]
    row = own[round_mask(own) & (own["indicator"] == "bostadsinbrott")].iloc[0]
    phi = row["funnel_phi"] if "funnel_phi" in row and not math.isnan(row["funnel_phi"]) else 1.0
    d = detectable_change_rate(float(row["count"]), phi)
    wb = load_workbook(template)
    text = next(r[7] for r in wb["Indikatorer"].iter_rows(min_row=2, values_only=True) if r[1] == "bostadsinbrott")
    assert text.startswith(f"−{round(-100 * d)}") and "eller mer" in text


def test_filled_workbook_reads_back(template):
    fill(
        template,
        [
            (
                "Grannsamverkan i alla bostadsområden",
                dt.datetime(2025, 3, 15),
                "Bostadsinbrott",
                2022,
                "minska",
                dt.datetime(2026, 3, 1),
            ),
            (None, None, "Narkotikabrott", 2024, "minska", None),  # a proposal nobody decided: skipped
            ("Trygghetsvandringar", "2025-04-01", "vald_offentlig_vuxna", 2022, "Minska", "2026-04-01"),
        ],
    )
    got = read_workbook(template)
    assert list(got["indicator"]) == ["bostadsinbrott", "vald_offentlig_vuxna"]
    assert list(got["decided_on"]) == ["2025-03-15", "2025-04-01"] and list(got["sheet_row"]) == [2, 4]
    assert set(got["area_code"]) == {"2180"} and list(got["direction"]) == ["minska", "minska"]


@pytest.mark.parametrize(
    "row, message",
    [
        (
            ("X", "15 mars", "Bostadsinbrott", 2022, "minska", "2026-03-01"),
            r"row 2, field Beslutsdatum: '15 mars' is not a date",
        ),
        (
            ("X", "2025-03-15", "Inbrott", 2022, "minska", "2026-03-01"),
            r"row 2, field Indikator: 'Inbrott' is not an indicator",
        ),
        (
            ("X", "2025-03-15", "Bostadsinbrott", "2022", "minska", "2026-03-01"),
            r"row 2, field Basår: '2022' is not a year .*not text",
        ),
        (
            ("X", "2025-03-15", "Bostadsinbrott", 1999, "minska", "2026-03-01"),
            r"row 2, field Basår: the store has no bostadsinbrott for 1999",
        ),
        (
            ("X", "2025-03-15", "Bostadsinbrott", 2022, "sänka", "2026-03-01"),
            r"row 2, field Förväntad riktning: 'sänka'",
        ),
        (
            ("X", "2025-03-15", "Bostadsinbrott", 2022, "minska", None),
            r"row 2, field Nästa uppföljning: None is not a date",
        ),
    ],
)
def test_bad_cells_name_sheet_row_and_field(template, results, row, message):
    fill(template, [row])

    def years(code, ind):
        sub = results[(results["area_code"] == code) & (results["indicator"] == ind)]
        return sub["year"].astype(int).tolist()

    with pytest.raises(DataValidationError, match=r"uppfoljning-2180\.xlsx: sheet 'Beslut', " + message):
        read_workbook(template, years_with_data=years)


def test_changed_headings_and_foreign_workbooks_are_refused(template, tmp_path):
    fill(template, [], header=("Beslut", "Datum"))
    with pytest.raises(DataValidationError, match=r"row 1: the headings must be Beslut, Beslutsdatum"):
        read_workbook(template)
    from openpyxl import Workbook

    other = tmp_path / "annan.xlsx"
    Workbook().save(other)
    assert not is_followup_workbook(other)
    with pytest.raises(DataValidationError, match="not a follow-up workbook of tmb"):
        read_workbook(other)
    (tmp_path / "trasig.xlsx").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DataValidationError, match="not an Excel workbook"):
        read_workbook(tmp_path / "trasig.xlsx")


def test_round_trip_template_filled_import_report(sample_store, tmp_path):
    """The samordnare's year: `tmb followup template` -> the group fills in two decisions -> `tmb import`
    -> the kommun's report shows each with its baseline, latest value, change and an honest verdict.
    A bad cell is refused by `tmb import` with one line naming sheet, row and field, and the store keeps
    the decisions it had."""
    import subprocess
    import sys

    from tmb_analysis.followup import decisions_file

    def tmb(*args):
        return subprocess.run(
            [sys.executable, "-m", "tmb_analysis.cli", *map(str, args)], capture_output=True, text=True, timeout=600
        )

    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    book = tmp_path / "uppfoljning-2180.xlsx"
    assert tmb("followup", "template", "--kommun", "2180", "--out", book, "--store", store).returncode == 0
    fill(
        book,
        [
            (
                "Grannsamverkan i alla bostadsområden",
                dt.datetime(2021, 3, 15),
                "Bostadsinbrott",
                2020,
                "minska",
                dt.datetime(2025, 3, 1),
            ),
            (
                "Medborgarlöfte: trygga kvällar i centrum",
                "2022-04-01",
                "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet",
                2022,
                "minska",
                "2026-04-01",
            ),
        ],
    )
    proc = tmb("import", book, "--store", store)
    assert proc.returncode == 0, proc.stderr
    assert "2 decision(s) of kommun 2180" in proc.stdout
    stored = decisions_file(store, "2180").read_bytes()

    bad = tmp_path / "bad" / "uppfoljning-2180.xlsx"
    bad.parent.mkdir()
    shutil.copy(book, bad)
    fill(bad, [("X", "2025-03-15", "Bostadsinbrott", "tjugotjugo", "minska", "2026-03-01")])
    proc = tmb("import", bad, "--store", store)
    assert proc.returncode == 2 and "sheet 'Beslut', row 2, field Basår" in proc.stderr
    assert len([ln for ln in proc.stderr.splitlines() if ln.strip()]) == 1
    assert decisions_file(store, "2180").read_bytes() == stored

    out = tmp_path / "site"
    proc = tmb("build", "--kommun", "2180", "--store", store, "--out", out)
    assert proc.returncode == 0, proc.stderr
    page = (out / "kommun-2180.html").read_text(encoding="utf-8")
    section = page[page.index("Uppföljning sedan basåret") :]
    section = section[: section.index("</table>")]
    assert "Grannsamverkan i alla bostadsområden" in section and "Medborgarlöfte: trygga kvällar" in section
    assert "beslut 2021-03-15" in section and "Nästa uppföljning 2025-03-01" in section
    verdicts = ("större än slumpen kan förklara", "Ingen säker förändring", "statistiken kan visa en förändring på")
    assert sum(section.count(v) for v in verdicts) >= 2
    assert "arbetsboken uppfoljning-2180.xlsx" in page
