"""BRÅ's Excel-derived tables such as P1M, as CSV or workbook (``bra_table``, ``bra_table_xlsx``)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..bra_workbook import sheet_rows
from ..geography import RIKET_CODE
from ._common import (
    _YEAR_IN_NAME,
    PUBLISHER_BRA,
    SourceTables,
    _crime_type_key,
    _decode,
    _fail,
    _finish,
    _listing,
    _loc_text,
    _norm_text,
    _open_workbook,
    _parse_spaced,
    _read_bytes,
    sol_names,
)

# ---- BRÅ Excel-derived tables (P1M and alike) -----------------------------------------

_MONTH_NAMES = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)


def _table_kind(texts: str) -> str:
    """'month', 'rolling' (last 12 months), 'accumulated' (January to a month) or 'annual'."""
    t = texts.casefold()
    if "motsvarande månad" in t or re.search(r"antal brott, (" + "|".join(_MONTH_NAMES) + r")\s+\d{4}", t):
        return "month"
    if "senaste 12 månaderna" in t:
        return "rolling"
    if "ackumulerat" in t or re.search(r"\bjan(uari)?\s*[-–]\s*\w+", t):
        return "accumulated"
    return "annual"


def _month_range(text: str) -> tuple[str, str] | None:
    m = re.search(r"\b(jan(?:uari)?)\s*[-–]\s*([a-zåäö]+)", text.casefold())
    return (m.group(1), m.group(2)) if m else None


def _last_year(text: str) -> int | None:
    ys = _YEAR_IN_NAME.findall(text or "")
    return int(ys[-1]) if ys else None


def _bra_table_parse(
    path: Path, title: str, header: list, body: list[tuple[object, list]], context: str, other_titles: list[str]
) -> tuple[pd.DataFrame, list[str], int, bool]:
    """Rows of one P1M-like table -> (crime rows, crime types not imported, year, preliminary)."""
    labels = [_norm_text(h) if h is not None else "" for h in header]
    count_i = next((i for i, h in enumerate(labels) if h.startswith("antal brott") and "100 000" not in h), None)
    rate_i = next((i for i, h in enumerate(labels) if "100 000" in h), None)
    if count_i is None:
        raise _fail(
            path, f"{context}: no column 'Antal brott …' in the header; found {', '.join(str(h) for h in header if h)}"
        )
    count_label = str(header[count_i])
    rate_label = str(header[rate_i]) if rate_i is not None else ""
    all_text = " ".join([title or "", *other_titles])
    rng = _month_range(f"{count_label} {title or ''}")
    if rng and not rng[1].startswith("dec"):
        raise _fail(
            path,
            f"{context}: the table covers {rng[0]}–{rng[1]}, not a whole year; expected jan–dec "
            "(the store holds whole years)",
        )
    if rng is None and not re.search(r"\bdecember\s+\d{4}|\bjan(uari)?\s*[-–]\s*dec", all_text.casefold()):
        raise _fail(
            path,
            f"{context}: cannot tell whether the table covers the whole year (no 'jan-dec' in its header or title); "
            "expected BRÅ's accumulated table for January–December",
        )
    year = _last_year(count_label) or _last_year(rate_label) or _last_year(title or "")
    if year is None:
        raise _fail(path, f"{context}: no year in the title or header; expected e.g. 'ackumulerat under 2024'")
    status_text = all_text.casefold()
    prel = "preliminär" in status_text or "slutlig" not in status_text
    area_text = _norm_text(all_text)
    if "i hela landet" not in area_text:
        raise _fail(
            path,
            f"{context}: only national tables ('i hela landet') can be imported: the store has no police "
            "regions, and BRÅ's län and kommun figures come in other files",
        )
    mapping = sol_names()
    rows, not_imported, bad = [], [], []
    width = len([h for h in header if h is not None and str(h).strip()])
    for loc, cells in body:
        cells = list(cells)
        while len(cells) > width and (cells[-1] is None or str(cells[-1]).strip() == ""):
            cells.pop()
        if not any(c is not None and str(c).strip() for c in cells):
            continue
        if len(cells) < width and isinstance(loc, int):
            raise _fail(
                path,
                f"line {loc}: {len(cells)} field(s), expected {width} — the file looks truncated or a field is missing",
            )
        lagrum, brottstyp = (str(cells[0] or "").strip(), str(cells[1] or "").strip()) if len(cells) > 1 else ("", "")
        ind = mapping.get(_crime_type_key(brottstyp))
        if ind is None:
            not_imported.append(f"{lagrum} / {brottstyp}" if lagrum != brottstyp else brottstyp)
            continue
        raw_c = cells[count_i] if count_i < len(cells) else None
        raw_r = cells[rate_i] if rate_i is not None and rate_i < len(cells) else None
        count, rate = _parse_spaced(raw_c, dash_is_zero=True), _parse_spaced(raw_r, dash_is_zero=True)
        where = f"line {loc}" if isinstance(loc, int) else str(loc)
        for label, raw, val in ((count_label, raw_c, count), (rate_label, raw_r, rate)):
            if val is None:
                bad.append(
                    f"{where}: {label!r} is {raw!r}; expected a number such as '1 478 879 ', '- ' (zero) or '. '"
                )
            elif np.isfinite(val) and val < 0:
                bad.append(f"{where}: {label!r} is {raw!r}; expected 0 or more")
        if count is not None and np.isfinite(count) and count % 1:
            bad.append(f"{where}: {count_label!r} is {raw_c!r}; expected a whole number")
        rows.append((loc, ind, count, rate, brottstyp))
    if bad:
        raise _fail(path, bad[0] + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    frame = pd.DataFrame(rows, columns=["loc", "indicator", "count", "rate_per_100k", "brottstyp"])
    if len(frame):
        dup = frame[frame.duplicated("indicator", keep=False)]
        if len(dup) and dup.drop_duplicates(["indicator", "count", "rate_per_100k"]).duplicated("indicator").any():
            locs = dup[dup["indicator"] == dup["indicator"].iloc[0]]["loc"].tolist()
            raise _fail(
                path,
                f"{context}: two rows map to indicator {dup['indicator'].iloc[0]!r} with different values "
                f"({_loc_text(locs)})",
            )
        frame = frame.drop_duplicates("indicator")
    return frame, not_imported, year, prel


def read_bra_table(path: str | Path) -> SourceTables:
    """Read a BRÅ Excel-derived table such as P1M (CSV or workbook; see the module docstring).

    National figures (area ``00``) for the whole year; only crime types with a ``sol_names`` match
    are imported (``SAMTLIGA BROTT`` → ``totalt`` …), the others are listed in the provenance
    (``not_imported``) and counted in the notes. ``- `` is zero and ``. `` not applicable (missing),
    as BRÅ's legend says. The status is ``preliminary`` unless the title says ``slutlig`` statistics.
    """
    path = Path(path)
    data = _read_bytes(path)
    published = None
    if data[:4] == b"PK\x03\x04":
        wb = _open_workbook(path, data)
        try:
            sheets = [(ws.title, sheet_rows(ws)) for ws in wb.worksheets]
        finally:
            wb.close()
        tables, titles, info = [], [], []
        for name, rows in sheets:
            hi = next(
                (
                    i
                    for i, r in enumerate(rows[:6])
                    if len(r) >= 2 and _norm_text(r[0] or "") == "lagrum" and _norm_text(r[1] or "") == "brottstyp"
                ),
                None,
            )
            title = " ".join(str(c) for c in (rows[0] if rows else []) if c is not None) if hi not in (None, 0) else ""
            if hi is None:
                info.append((name, rows))
                if rows and rows[0] and rows[0][0]:
                    titles.append(str(rows[0][0]))
                continue
            titles.append(title)
            tables.append(
                (name, title, rows[hi], [(f"sheet {name!r} row {i + 1}", r) for i, r in enumerate(rows) if i > hi], hi)
            )
        for _name, rows in info:
            for r in rows:
                for c in r:
                    m = re.search(r"Första publicering:\s*(\d{4}-\d{2}-\d{2})", str(c or ""))
                    if m:
                        published = m.group(1)
        yearly = [
            t
            for t in tables
            if _table_kind(f"{t[1]} {' '.join(str(h) for h in t[2] if h)}") in ("accumulated", "annual")
        ]
        skipped = [t[0] for t in tables if t not in yearly] + [n for n, _ in info]
        if len(yearly) != 1:
            what = "no sheet" if not yearly else f"{len(yearly)} sheets ({', '.join(t[0] for t in yearly)})"
            raise _fail(
                path,
                f"{what} with yearly figures (accumulated January–December); expected one such table; "
                f"sheets: {', '.join(n for n, _ in sheets)}",
            )
        name, title, header, body, _ = yearly[0]
        others = [t for t in titles if t != title]
        frame, not_imp, year, prel = _bra_table_parse(path, title, header, body, f"sheet {name!r}", others)
        notes = [f"sheets not read (monthly, rolling or notes): {_listing(skipped)}"] if skipped else []
        fmt = "bra_table_xlsx"
    else:
        text = _decode(path, data)
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))
        numbered = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r)]
        hpos = next(
            (
                k
                for k, (_, r) in enumerate(numbered[:6])
                if len(r) >= 2 and _norm_text(r[0]) == "lagrum" and _norm_text(r[1]) == "brottstyp"
            ),
            None,
        )
        if hpos is None:
            first = numbered[0][1] if numbered else []
            if len(first) <= 1 and first and "," in first[0]:
                raise _fail(
                    path, "the columns are not separated by ';'; expected a title line, then Lagrum;Brottstyp;Antal …"
                )
            raise _fail(path, "no header 'Lagrum;Brottstyp;…' in the first lines; expected BRÅ's table layout")
        title = " ".join(c for c in numbered[0][1] if c.strip()) if hpos > 0 else ""
        header = numbered[hpos][1]
        while header and not header[-1].strip():
            header = header[:-1]
        kind = _table_kind(f"{title} {' '.join(header)}")
        if kind in ("month", "rolling"):
            raise _fail(
                path,
                f"the table holds {'monthly' if kind == 'month' else 'last-12-months'} figures; expected "
                "the accumulated January–December table (the store holds whole years)",
            )
        frame, not_imp, year, prel = _bra_table_parse(path, title, header, numbered[hpos + 1 :], "the table", [])
        notes = []
        fmt = "bra_table"
    if frame.empty:
        raise _fail(
            path,
            f"none of the {len(not_imp)} crime types maps to a catalogue indicator (through sol_names); "
            "nothing to import",
        )
    frame = frame.assign(
        area_code=RIKET_CODE,
        year=year,
        status="preliminary" if prel else "final",
        source=f"Brå: anmälda brott, hela landet {year}{' (preliminär statistik)' if prel else ''}",
    )
    notes.append(
        f"{len(frame)} crime type(s) imported ({', '.join(frame['indicator'])}); {len(not_imp)} not imported "
        f"(no catalogue indicator), listed in the provenance record"
    )
    return _finish(
        path,
        data,
        PUBLISHER_BRA,
        fmt,
        f"anmälda brott {year} ({'preliminär' if prel else 'slutlig'} statistik)",
        crime=frame,
        notes=notes,
        published=published,
        not_imported=not_imp or None,
    )
