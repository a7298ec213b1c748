"""BRÅ's per-kommun CSVs: yearly totals (``bra_kommun_csv``) and the 1996–2015 series (``bra_kommun_1996_2015``)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..crosswalk import crosswalk
from ..geography import UnknownAreaError, registry
from ._common import (
    _MAX_LIST,
    N_KOMMUNER,
    PUBLISHER_BRA,
    SourceTables,
    _decode,
    _fail,
    _finish,
    _is_city_district,
    _listing,
    _loc_text,
    _lookup_area,
    _norm_text,
    _parse_spaced,
    _read_bytes,
    _resolve_year,
)


def _require_all_kommuner(path: Path, kommuner: list[str]) -> None:
    """Fail unless ``kommuner`` (the kommun codes a national file lists, each once) are all 290."""
    if len(kommuner) != N_KOMMUNER:
        found = set(kommuner)
        missing = [f"{a.name} ({a.code})" for a in registry().kommuner() if a.code not in found]
        raise _fail(
            path,
            f"a national file must list all {N_KOMMUNER} kommuner; found {len(kommuner)}"
            + (f": missing {_listing(missing)}" if missing else ""),
        )


# ---- BRÅ yearly per-kommun CSV --------------------------------------------------------

_KOMMUN_CSV_HEADER = ("kommun", "antal", "per 100 000 inv")


def _is_bra_kommun_line(line: str) -> bool:
    """A line of BRÅ's yearly per-kommun CSV without its header: a name and two numbers."""
    cells = [c.strip().strip('"') for c in line.split(";")]
    while cells and cells[-1] == "":
        cells.pop()
    if len(cells) != 3 or not cells[0] or _parse_spaced(cells[0]) is not None:
        return False
    return all(_parse_spaced(c) is not None for c in cells[1:])


def read_bra_kommun_csv(path: str | Path, year: int | None = None) -> SourceTables:
    """Read BRÅ's yearly per-kommun totals (``Kommun;Antal;Per 100 000 inv.``) as indicator ``totalt``.

    The file is national: it must name each of the 290 kommuner exactly once (a file with 289 or
    291 is an error naming what is missing or repeated). ``Hela landet`` is read as area ``00``;
    city districts (``Spånga-Tensta``, ``Göteborg kommun, Angered stadsdel``) are skipped and listed
    in the notes; any other unknown name is an error. ``..``/``.``/``-``/empty are missing values.
    The year comes from the file name, else from ``year``. Status ``final`` (BRÅ's annual statistics).
    """
    path = Path(path)
    data = _read_bytes(path)
    text = _decode(path, data)
    the_year = _resolve_year(path, year)
    lines = text.splitlines()
    nonempty = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    if not nonempty:
        raise _fail(path, "the file is empty")
    first_no, first = nonempty[0]
    if ";" not in first:
        for sep, name in ((",", "commas (,)"), ("\t", "tabs")):
            if sep in first:
                raise _fail(
                    path,
                    f"line {first_no}: the columns are separated by {name}; expected semicolons (;): "
                    "Kommun;Antal;Per 100 000 inv.",
                )
        raise _fail(
            path,
            f"line {first_no}: one field only; expected three fields separated by ';' (Kommun;Antal;Per 100 000 inv.)",
        )
    body = nonempty
    head = [_norm_text(c).strip('"') for c in next(csv.reader([first], delimiter=";"))]
    while head and head[-1] == "":
        head.pop()
    if not _is_bra_kommun_line(first):
        if len(head) != 3 or tuple(head[:2]) != _KOMMUN_CSV_HEADER[:2] or not head[2].startswith("per 100 000"):
            raise _fail(
                path,
                f"line {first_no}: the header is {';'.join(head)!r}; expected the columns "
                "Kommun;Antal;Per 100 000 inv. (or no header, with data from the first line)",
            )
        body = nonempty[1:]
    records, districts, unknown, bad = [], [], {}, []
    for no, ln in body:
        cells = [c.strip() for c in next(csv.reader([ln], delimiter=";"))]
        while len(cells) > 3 and cells[-1] == "":
            cells.pop()
        if len(cells) != 3:
            last = no == nonempty[-1][0]
            why = "the file looks truncated" if last and len(cells) < 3 else "expected Kommun;Antal;Per 100 000 inv."
            raise _fail(path, f"line {no}: {len(cells)} field(s), expected 3 — {why}")
        name, count_t, rate_t = cells
        code = _lookup_area(name)
        if code is None:
            if _is_city_district(name):
                districts.append(name)
            else:
                unknown.setdefault(name, []).append(no)
            continue
        count, rate = _parse_spaced(count_t), _parse_spaced(rate_t)
        for label, raw, val in (("Antal", count_t, count), ("Per 100 000 inv.", rate_t, rate)):
            if val is None:
                bad.append(f"line {no}: {label} {raw!r} is not a number (expected e.g. '9 100' or '..')")
            elif np.isfinite(val) and val < 0:
                bad.append(f"line {no}: {label} {raw!r} is negative; expected a count or rate of 0 or more")
        if count is not None and np.isfinite(count) and count % 1:
            bad.append(f"line {no}: Antal {count_t!r} is not a whole number")
        records.append((no, name, code, count, rate))
    if unknown:
        listed = ", ".join(f"{n!r} ({_loc_text(ls)})" for n, ls in list(unknown.items())[:_MAX_LIST])
        raise _fail(
            path,
            f"{len(unknown)} unknown name(s) in column Kommun (expected a kommun, 'Hela landet' or a "
            f"city district): {listed}{' …' if len(unknown) > _MAX_LIST else ''}",
        )
    if bad:
        raise _fail(path, bad[0] + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    seen: dict[str, list] = {}
    for no, name, code, *_ in records:
        seen.setdefault(code, []).append((no, name))
    dups = {c: v for c, v in seen.items() if len(v) > 1}
    kommuner = [c for c in seen if len(c) == 4]
    if dups:
        rows_k = sum(len(v) for c, v in seen.items() if len(c) == 4)
        ex = "; ".join(
            " and ".join(f"{n!r} (line {no})" for no, n in v) + f" are both {registry().name(c)} ({c})"
            for c, v in list(dups.items())[:3]
        )
        raise _fail(
            path,
            f"duplicated kommun: {rows_k} kommun rows for {len(kommuner)} kommuner; {ex}; "
            f"expected each of the {N_KOMMUNER} kommuner once",
        )
    _require_all_kommuner(path, kommuner)
    frame = pd.DataFrame(
        {
            "area_code": [r[2] for r in records],
            "year": the_year,
            "indicator": "totalt",
            "count": [r[3] for r in records],
            "rate_per_100k": [r[4] for r in records],
            "status": "final",
            "source": f"Brå: Anmälda brott i kommunerna {the_year}",
        }
    )
    frame = frame[frame["count"].notna() | frame["rate_per_100k"].notna()]
    notes = []
    if districts:
        notes.append(f"{len(districts)} city district row(s) skipped (not kommuner): {_listing(districts)}")
    return _finish(
        path,
        data,
        PUBLISHER_BRA,
        "bra_kommun_csv",
        f"anmälda brott {the_year}",
        crime=frame,
        notes=notes,
        status="final",
        not_imported=[f"city district {d}" for d in districts] or None,
    )


# ---- reported crime per kommun 1996–2015 ------------------------------------------------

SERIES_ASSUMPTION = (
    "the 1996–2015 per-kommun series states no unit; its values match reported crimes per 10 000 inhabitants "
    "(PROVENANCE §1), so 'Totalt' is stored as rate_per_100k = value × 10, without counts"
)


def read_bra_kommun_1996_2015(path: str | Path) -> SourceTables:
    """Read the per-kommun series 1996–2015 (``"Region";"Våldsbrott 2015";…``; PROVENANCE §1).

    * Regions are ``"<code> <name>"``; only the four-digit code is used (the names in the real copy
      are damaged), mapped through :mod:`tmb_analysis.crosswalk` (an old code such as Heby's 1917
      becomes 0331). A national file must cover all 290 kommuner.
    * ``..`` = not available and ``.`` = not applicable (the kommun did not exist yet): no row.
      A value for a year before the kommun existed (Knivsta before 2003) is an error.
    * **Assumption** (:data:`SERIES_ASSUMPTION`): ``Totalt`` per 10 000 → ``totalt`` per 100 000 (× 10).
      ``Våldsbrott`` and ``Övriga brott`` have no catalogue indicator and are listed as not imported.
    """
    path = Path(path)
    data = _read_bytes(path)
    text = _decode(path, data)
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    numbered = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r)]
    if not numbered:
        raise _fail(path, "the file is empty")
    hno, header = numbered[0]
    if _norm_text(header[0]) != "region":
        raise _fail(path, f"line {hno}: the first column is {header[0]!r}; expected 'Region'")
    spec, measures = {}, {}
    for j, label in enumerate(header[1:], start=1):
        m = re.fullmatch(r"\s*(.*\S)\s+((?:19|20)\d\d)\s*", label)
        if not m:
            raise _fail(
                path, f"line {hno}, column {j + 1}: {label!r}; expected '<measure> <year>' such as 'Totalt 2015'"
            )
        measure = m.group(1).replace("\ufffd", "?")
        measures.setdefault(measure, 0)
        measures[measure] += 1
        if _norm_text(measure) == "totalt":
            spec[j] = int(m.group(2))
    if not spec:
        raise _fail(path, f"line {hno}: no 'Totalt YYYY' columns; found measures {', '.join(measures)}")
    cw = crosswalk()
    width = len(header)
    out, bad, unknown, seen = [], [], {}, {}
    for no, r in numbered[1:]:
        if len(r) != width:
            raise _fail(
                path,
                f"line {no}: {len(r)} field(s), expected {width} — "
                f"{'the file looks truncated' if no == numbered[-1][0] else 'a field is missing'}",
            )
        m = re.match(r"^\s*(\d{4})\b", r[0])
        if not m:
            raise _fail(
                path, f"line {no}: Region {r[0]!r}; expected a four-digit kommun code and a name, e.g. '2180 Gävle'"
            )
        old = m.group(1)
        try:
            code = cw.current_code(old)
        except UnknownAreaError:
            unknown.setdefault(old, []).append(no)
            continue
        seen.setdefault(code, []).append((no, old))
        for j, year in spec.items():
            raw = r[j].strip()
            if raw in ("..", ".", ""):
                continue
            v = _parse_spaced(raw)
            if v is None or v < 0:
                bad.append(f"line {no}: 'Totalt {year}' is {raw!r}; expected a number of 0 or more, '..' or '.'")
                continue
            if not cw.exists(code, year):
                bad.append(
                    f"line {no}: {code} has a value for {year} ({raw}) but was formed later "
                    f"(kommun_changes.yaml: {', '.join(f'{c.name} {c.date}' for c in cw.changes_for(code))}); "
                    "expected '.'"
                )
                continue
            if old != code and year >= next((c.year for c in cw.changes_for(code) if c.old_code == old), 9999):
                bad.append(f"line {no}: old code {old} has a value for {year}, after it was replaced by {code}")
                continue
            out.append((no, code, year, v * 10))
    if unknown:
        listed = ", ".join(f"{c} ({_loc_text(ls)})" for c, ls in unknown.items())
        raise _fail(
            path, f"unknown kommun code(s) {listed}: neither a current SCB code nor an old code in kommun_changes.yaml"
        )
    if bad:
        raise _fail(path, bad[0] + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    frame = pd.DataFrame(out, columns=["line", "area_code", "year", "rate_per_100k"])
    dup = frame[frame.duplicated(["area_code", "year"], keep=False)]
    if len(dup):
        code = dup["area_code"].iloc[0]
        raise _fail(
            path,
            f"duplicated kommun: {code} has two values for {dup['year'].iloc[0]} "
            f"({_loc_text(sorted(set(dup[dup['area_code'] == code]['line'])))}); "
            "expected one row per kommun (old and new codes of the same kommun must not overlap)",
        )
    _require_all_kommuner(path, list(seen))
    frame = frame.assign(
        indicator="totalt", count=pd.NA, status="final", source="Brå (1996–2015, per 10 000 inv. × 10 – antagande)"
    )
    other = [m for m in measures if _norm_text(m) != "totalt"]
    notes = [f"assumption: {SERIES_ASSUMPTION}"]
    if other:
        notes.append(f"measures not imported (no catalogue indicator): {', '.join(other)}")
    years = sorted(set(frame["year"]))
    return _finish(
        path,
        data,
        PUBLISHER_BRA,
        "bra_kommun_1996_2015",
        f"anmälda brott {years[0]}–{years[-1]}",
        crime=frame,
        notes=notes,
        status="final",
        assumption=SERIES_ASSUMPTION,
        not_imported=[f"measure {m}" for m in other] or None,
    )
