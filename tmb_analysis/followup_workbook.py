"""The follow-up workbook: a kommun's decided priorities and medborgarlöften, kept in Excel by its samordnare.

``tmb followup template --kommun 2180 --out uppfoljning-2180.xlsx`` writes a workbook (:func:`write_template`):

* ``Läs först``: what the workbook is for and how to fill it in (Swedish);
* ``Beslut``: one row per decided priority or medborgarlöfte under the headings :data:`HEADINGS`,
  pre-filled with this year's proposals (indicator, baseline year, expected direction) for the group to
  complete; the indicator is chosen from a list, the direction is ``minska`` or ``öka``;
* ``Indikatorer``: every indicator of the kommun with its latest value and, in the column
  ``Minsta påvisbara förändring``, the smallest change the statistics can detect by the follow-up year at
  the kommun's size and with the overdispersion the analysis estimates (:mod:`tmb_analysis.statistics.detectable`),
  so that the kommun knows beforehand whether its statistics could ever show success;
* ``tmb`` (hidden): the kommun's code and the format version, which :func:`read_workbook` checks.

``tmb import`` reads a filled workbook back (:func:`read_workbook`): rows whose ``Beslut`` is empty are
proposals nobody decided and are skipped; every other row must be complete. Problems raise
:class:`~tmb_analysis.validation.DataValidationError` naming the file, the sheet, the row and the field.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path

import pandas as pd

from .catalogue import catalogue
from .statistics.detectable import detectable_change_rate, detectable_change_share
from .validation import DataValidationError

__all__ = [
    "HEADINGS",
    "FORMAT",
    "write_template",
    "read_workbook",
    "is_followup_workbook",
    "detectable_changes",
    "import_workbooks",
]

HEADINGS = ("Beslut", "Beslutsdatum", "Indikator", "Basår", "Förväntad riktning", "Nästa uppföljning")
DIRECTIONS = ("minska", "öka")
FORMAT = "tmb-uppfoljning/1"
META_SHEET = "tmb"
Z95 = 1.959963984540054


def _f(value) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out if math.isfinite(out) else float("nan")


def detectable_changes(rows: pd.DataFrame) -> pd.DataFrame:
    """Per indicator row of one kommun and year: the smallest detectable change by the follow-up year, in
    the direction that would count as success (a fall where higher is worse), as ``mdc`` (relative for
    rates, percentage points for shares), with its Swedish text ``mdc_text``."""
    from . import formatting as F

    mdc, text = [], []
    for r in rows.itertuples(index=False):
        worse = getattr(r, "worse", "higher")
        direction = "minska" if worse != "lower" else "öka"
        if r.source_kind == "crime":
            phi = _f(getattr(r, "funnel_phi", float("nan")))
            d = detectable_change_rate(_f(r.count), phi if math.isfinite(phi) else 1.0, direction)
            mdc.append(d)
            text.append(
                "kan inte påvisas: för få anmälda brott"
                if not math.isfinite(d)
                else f"{F.fmt_signed_pct(100 * d, 0)} eller mer"
            )
        else:
            se = (_f(r.ci_high) - _f(r.ci_low)) / (2 * Z95)
            d = detectable_change_share(se)
            d = -d if direction == "minska" else d
            mdc.append(d)
            text.append(
                "kan inte beräknas: konfidensintervall saknas"
                if not math.isfinite(d)
                else f"{F.fmt_signed_pct(d, 1, unit='percentage_points')} eller mer"
            )
    return pd.DataFrame({"indicator": rows["indicator"].to_numpy(), "mdc": mdc, "mdc_text": text})


def write_template(results: pd.DataFrame, kommun_code: str, path: str | Path, report_year: int | None = None) -> Path:
    """Write the follow-up workbook of a kommun (see the module docstring); returns its path."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    from .geography import registry
    from .periods import round_mask

    area = registry().kommun(str(kommun_code))
    own = results[results["area_code"].astype(str) == area.code]
    if own.empty:
        raise ValueError(f"the store holds no data for {area.name} ({area.code})")
    current = own[round_mask(own, report_year)]
    cat = catalogue()
    order = {ind: i for i, ind in enumerate(cat.ids)}
    current = current.assign(_o=current["indicator"].map(order)).sort_values("_o")
    mdc = detectable_changes(current).set_index("indicator")

    wb = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE6F0")
    wrap = Alignment(wrap_text=True, vertical="top")

    intro = wb.active
    intro.title = "Läs först"
    years = ", ".join(
        f"{k} {int(y)}"
        for k, y in (
            ("anmälda brott", current.loc[current["source_kind"] == "crime", "year"].max()),
            ("NTU", current.loc[current["source_kind"] == "survey", "year"].max()),
        )
        if pd.notna(y)
    )
    lines = [
        f"Uppföljning av beslutade prioriteringar och medborgarlöften – {area.display_name}",
        "",
        "Fyll i bladet Beslut: en rad per beslutad prioritering eller medborgarlöfte.",
        "Raderna är ifyllda med årets förslag ur lägesbilden. Förslagen är ett underlag för samtalet, inte beslutet:",
        "skriv vad som beslutades i kolumnen Beslut, eller låt den vara tom (raden räknas då inte).",
        "Indikator väljs ur listan. Basår är året som utvecklingen mäts från. Förväntad riktning är minska eller öka.",
        "Beslutsdatum och Nästa uppföljning är datum (ÅÅÅÅ-MM-DD).",
        "",
        "Bladet Indikatorer visar varje indikators senaste värde och den minsta förändring mellan basåret och ett "
        "uppföljningsår som statistiken kan visa (med 80 % sannolikhet, på 95 %-nivån, med den variation mellan år "
        "som kommunens tal har).",
        "Är den förändringen större än den ni kan vänta er behöver ni ett lokalt mått vid sidan av statistiken.",
        "",
        "Lämna tillbaka filen till den som bygger rapporterna: tmb import uppfoljning-XXXX.xlsx",
        f"Data: {years}. Källa: Brå.",
    ]
    for i, line in enumerate(lines, 1):
        intro.cell(row=i, column=1, value=line)
    intro["A1"].font = Font(bold=True, size=14)
    intro.column_dimensions["A"].width = 110

    ind = wb.create_sheet("Indikatorer")
    cols = (
        "Indikator",
        "Id",
        "Källa",
        "Senaste år",
        "Värde",
        "Enhet",
        "Förslag i år",
        "Minsta påvisbara förändring (uppföljningsår mot basår)",
    )
    ind.append(list(cols))
    for r in current.itertuples(index=False):
        rank = getattr(r, "priority_rank", None)
        ind.append(
            [
                r.indicator_label,
                r.indicator,
                "anmälda brott" if r.source_kind == "crime" else "NTU",
                int(r.year),
                None if pd.isna(r.value) else round(float(r.value), 1),
                "per 100 000 invånare" if r.unit == "per_100k" else "procent",
                None if rank is None or pd.isna(rank) else int(rank),
                mdc.loc[r.indicator, "mdc_text"],
            ]
        )
    for c in ind[1]:
        c.font, c.fill = bold, head_fill
    for col, width in zip("ABCDEFGH", (48, 26, 14, 11, 10, 20, 12, 42)):
        ind.column_dimensions[col].width = width
    ind.freeze_panes = "A2"
    n_ind = ind.max_row

    dec = wb.create_sheet("Beslut", 1)
    dec.append(list(HEADINGS))
    for c in dec[1]:
        c.font, c.fill = bold, head_fill
    ranked = (
        current[current["priority_rank"].notna()].sort_values("priority_rank")
        if "priority_rank" in current
        else current.iloc[0:0]
    )
    for r in ranked.itertuples(index=False):
        dec.append(
            [
                None,
                None,
                r.indicator_label,
                int(r.year),
                "öka" if getattr(r, "worse", "higher") == "lower" else "minska",
                None,
            ]
        )
    for col, width in zip("ABCDEF", (50, 14, 48, 8, 18, 18)):
        dec.column_dimensions[col].width = width
    for row in dec.iter_rows(min_row=2, max_row=200):
        row[0].alignment = wrap
        for c in (row[1], row[5]):
            c.number_format = "yyyy-mm-dd"
    rules = [
        (
            DataValidation(type="list", formula1=f"=Indikatorer!$A$2:$A${n_ind}", allow_blank=True),
            "C2:C200",
            "Välj indikatorn ur listan (bladet Indikatorer).",
        ),
        (DataValidation(type="list", formula1='"minska,öka"', allow_blank=True), "E2:E200", "Skriv minska eller öka."),
        (
            DataValidation(type="whole", operator="between", formula1="2000", formula2="2100", allow_blank=True),
            "D2:D200",
            "Basåret är ett årtal, t.ex. 2024.",
        ),
        (
            DataValidation(type="date", operator="greaterThan", formula1="36526", allow_blank=True),
            "B2:B200 F2:F200",
            "Ett datum, ÅÅÅÅ-MM-DD.",
        ),
    ]
    for rule, ranges, message in rules:
        rule.error, rule.errorTitle, rule.showErrorMessage = message, "Fel värde", True
        for cells in ranges.split():
            rule.add(cells)
        dec.add_data_validation(rule)
    dec.freeze_panes = "A2"

    meta = wb.create_sheet(META_SHEET)
    for key, value in (
        ("format", FORMAT),
        ("kommun", area.code),
        ("namn", area.display_name),
        ("skapad_av", "tmb followup template"),
    ):
        meta.append([key, value])
    meta.sheet_state = "hidden"
    wb.active = 1
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path


def is_followup_workbook(path: str | Path) -> bool:
    """Does the file look like a follow-up workbook (an xlsx with the hidden ``tmb`` sheet of this format)?"""
    try:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
    except Exception:  # noqa: BLE001 - not a workbook at all
        return False
    try:
        if META_SHEET not in wb.sheetnames:
            return False
        return any(row[:2] == ("format", FORMAT) for row in wb[META_SHEET].iter_rows(values_only=True))
    finally:
        wb.close()


def _date(value, where: str) -> str:
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ValueError(f"{where}: {value!r} is not a date (expected ÅÅÅÅ-MM-DD)")


def read_workbook(path: str | Path, years_with_data=None) -> pd.DataFrame:
    """The decisions of a filled follow-up workbook, validated.

    Returns one row per decided item: ``area_code``, ``decision``, ``decided_on`` (ISO date),
    ``indicator`` (catalogue id), ``baseline_year``, ``direction`` (``minska``/``öka``),
    ``next_followup`` (ISO date), ``sheet_row``; ``attrs['kommun']`` is the workbook's kommun, also without
    rows. ``years_with_data(area_code, indicator)`` (optional)
    gives the years the store holds for the kommun and indicator, to refuse a baseline without data.
    """
    from openpyxl import load_workbook

    from .geography import UnknownAreaError, registry

    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001
        raise DataValidationError(
            f"{path.name}: not an Excel workbook that can be read ({type(exc).__name__})", str(path)
        ) from None
    try:
        meta = (
            {str(r[0]): r[1] for r in wb[META_SHEET].iter_rows(values_only=True) if r and r[0] is not None}
            if META_SHEET in wb.sheetnames
            else {}
        )
        if meta.get("format") != FORMAT:
            raise DataValidationError(
                f"{path.name}: not a follow-up workbook of tmb (no hidden sheet '{META_SHEET}' "
                f"with format {FORMAT}); start from `tmb followup template`",
                str(path),
            )
        try:
            code = registry().kommun(str(meta.get("kommun"))).code
        except UnknownAreaError:
            raise DataValidationError(
                f"{path.name}: sheet '{META_SHEET}': kommun {meta.get('kommun')!r} is not a kommun code", str(path)
            ) from None
        if "Beslut" not in wb.sheetnames:
            raise DataValidationError(f"{path.name}: the sheet 'Beslut' is missing", str(path))
        rows = list(wb["Beslut"].iter_rows(values_only=True))
    finally:
        wb.close()
    header = tuple(str(c).strip() if c is not None else "" for c in (rows[0] if rows else ()))[: len(HEADINGS)]
    if header != HEADINGS:
        raise DataValidationError(
            f"{path.name}: sheet 'Beslut', row 1: the headings must be {', '.join(HEADINGS)}; "
            f"found {', '.join(h for h in header if h) or 'none'}",
            str(path),
        )
    cat = catalogue()
    by_label = {cat.get(i).label.casefold(): i for i in cat.ids}
    out = []
    for n, row in enumerate(rows[1:], 2):
        cells = list(row[: len(HEADINGS)]) + [None] * (len(HEADINGS) - len(row[: len(HEADINGS)]))
        decision = cells[0]
        if decision is None or (isinstance(decision, str) and not decision.strip()):
            continue  # an undecided proposal, or an empty row

        def where(field: str, n: int = n) -> str:
            return f"{path.name}: sheet 'Beslut', row {n}, field {field}"

        try:
            decided_on = _date(cells[1], where("Beslutsdatum"))
            label = cells[2]
            ind = by_label.get(str(label).strip().casefold()) if label is not None else None
            if ind is None and isinstance(label, str) and label.strip() in cat:
                ind = label.strip()
            if ind is None:
                raise ValueError(
                    f"{where('Indikator')}: {label!r} is not an indicator (choose one from the list "
                    "on the sheet Indikatorer)"
                )
            year = cells[3]
            if (
                isinstance(year, bool)
                or not isinstance(year, (int, float))
                or isinstance(year, float)
                and not year.is_integer()
            ):
                raise ValueError(f"{where('Basår')}: {year!r} is not a year (a number such as 2024, not text)")
            year = int(year)
            if years_with_data is not None and year not in set(years_with_data(code, ind)):
                have = sorted(set(years_with_data(code, ind)))
                span = f"{have[0]}–{have[-1]}" if have else "none"
                raise ValueError(
                    f"{where('Basår')}: the store has no {cat.get(ind).label.lower()} for {year} "
                    f"(years with data: {span})"
                )
            direction = str(cells[4]).strip().lower() if cells[4] is not None else ""
            if direction not in DIRECTIONS:
                raise ValueError(f"{where('Förväntad riktning')}: {cells[4]!r} must be minska or öka")
            following = _date(cells[5], where("Nästa uppföljning"))
        except ValueError as exc:
            raise DataValidationError(str(exc), str(path)) from None
        out.append(
            {
                "area_code": code,
                "decision": str(decision).strip()[:500],
                "decided_on": decided_on,
                "indicator": ind,
                "baseline_year": year,
                "direction": direction,
                "next_followup": following,
                "sheet_row": n,
            }
        )
    cols = [
        "area_code",
        "decision",
        "decided_on",
        "indicator",
        "baseline_year",
        "direction",
        "next_followup",
        "sheet_row",
    ]
    frame = pd.DataFrame(out, columns=cols)
    frame["baseline_year"] = frame["baseline_year"].astype("int64")
    frame["sheet_row"] = frame["sheet_row"].astype("int64")
    frame.attrs["kommun"] = code
    return frame


def import_workbooks(paths: list[str | Path], store_dir: str | Path) -> list[str]:
    """``tmb import`` of filled follow-up workbooks: validate every workbook first, then store each
    kommun's decisions with their provenance (``<store>/followup/<kod>.json``, written atomically).

    A baseline year must be a year the store holds for the kommun and the indicator. A workbook of a
    kommun replaces that kommun's earlier decisions as a whole (the workbook is the samordnare's one
    list). Two workbooks of the same kommun in one import are refused. Returns one line per workbook.
    """
    import hashlib
    import json
    import os

    from .followup import decisions_file
    from .results import load_results

    store_dir = Path(store_dir)
    results = load_results(store_dir)[0]
    years = results.groupby(["area_code", "indicator"])["year"].agg(lambda s: sorted(set(int(y) for y in s)))

    def years_with_data(code: str, indicator: str) -> list[int]:
        return years.get((code, indicator), [])

    read = []
    for path in map(Path, paths):
        frame = read_workbook(path, years_with_data)
        read.append((path, frame, frame.attrs["kommun"]))
    seen: dict[str, Path] = {}
    for path, _, code in read:
        if code in seen:
            raise DataValidationError(
                f"{path.name}: a second workbook for kommun {code} in the same import "
                f"(also {seen[code].name}); import one",
                str(path),
            )
        seen[code] = path
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    lines = []
    for path, frame, code in read:
        target = decisions_file(store_dir, code)
        target.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "kommun": code,
            "file": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "imported_at": now,
            "decisions": frame.drop(columns=["area_code"]).to_dict(orient="records"),
        }
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2, default=int) + "\n", encoding="utf-8")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        lines.append(f"{path.name}: {len(frame)} decision(s) of kommun {code} stored in {target}")
    return lines
