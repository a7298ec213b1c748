"""BRÅ's statistics database export ``Databasfil.txt`` (``bra_databasfil``)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import (
    _MAX_LIST,
    PUBLISHER_BRA,
    SourceTables,
    _crime_type_key,
    _decode_latin1_or_utf8,
    _fail,
    _finish,
    _is_city_district,
    _listing,
    _loc_text,
    _lookup_area,
    _norm_text,
    _parse_spaced,
    _read_bytes,
    sol_names,
)

# ---- BRÅ statistics database export (Databasfil.txt) ------------------------------------

_MONTHS = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
_POLICE_REGION = re.compile(
    r"^(polis)?region (nord|mitt|öst|väst|syd|stockholm|bergslagen)$|^polisregion ", re.IGNORECASE
)


def _period_kind(ar: str, period: str) -> tuple[int | None, bool, str]:
    """(year, preliminary, kind) of a SOL row; kind 'year', 'month', 'quarter' or 'unknown'."""
    both = f"{ar} {period}"
    prel = "prel" in both.casefold()
    years = re.findall(r"(?<!\d)(19|20)(\d\d)(?!\d)", both)
    year = int(years[0][0] + years[0][1]) if years else None
    p = _norm_text(period)
    a = _norm_text(ar)
    if p[:3] in _MONTHS and not re.match(r"^\d", p):
        return year, prel, "month"
    if "kvartal" in p or re.match(r"^k[1-4]$", p):
        return year, prel, "quarter"
    if year is not None and all(re.fullmatch(r"((19|20)\d\d( prel)?|år|helår|)", x) for x in (a, p)):
        return year, prel, "year"
    return year, prel, "unknown"


def read_bra_databasfil(path: str | Path) -> SourceTables:
    """Read BRÅ's statistics database export (``Databasfil.txt``; see the module docstring).

    * ISO-8859-1 (a UTF-8 re-save is accepted), ``;``, a trailing ``;`` on data rows.
    * ``Region`` through the geography registry (``Gävle``, ``Gävle kommun``, ``Hela landet``); city
      districts and police regions are skipped and listed; other unknown names are an error.
    * ``Brott`` through ``sol_names``; other crime types are listed as not imported.
    * Yearly rows only (``År``/``2025`` or ``2025``/``Helår``); monthly and quarterly rows are listed.
    * ``..`` is missing (never zero); ``prel.`` in the period gives status ``preliminary``.
    """
    path = Path(path)
    data = _read_bytes(path)
    text, encoding = _decode_latin1_or_utf8(data)
    rows = list(csv.reader(io.StringIO(text.replace("&nbsp;", " ")), delimiter=";"))
    numbered = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r)]
    if not numbered:
        raise _fail(path, "the file is empty")
    hno, hrow = numbered[0]
    header = [_norm_text(c) for c in hrow]
    while header and header[-1] == "":
        header.pop()
    if len(header) == 1 and ("," in hrow[0] or "\t" in hrow[0]):
        raise _fail(
            path,
            f"line {hno}: the columns are not separated by ';'; expected Region;Brott;År;Period;Antal;/100 000 inv",
        )
    need = {"region": "Region", "brott": "Brott", "år": "År", "period": "Period", "antal": "Antal"}
    missing = [v for k, v in need.items() if k not in header]
    if missing:
        raise _fail(
            path,
            f"line {hno}: missing column(s) {', '.join(missing)}; expected Region;Brott;År;Period;Antal;/100 000 inv; "
            f"found {';'.join(hrow)}",
        )
    idx = {k: header.index(k) for k in need}
    rate_i = next((i for i, h in enumerate(header) if "100 000" in h), None)
    width = len(header)
    mapping = sol_names()
    out, unknown, skipped_areas, unmatched, subannual, bad = [], {}, set(), {}, 0, []
    for no, r in numbered[1:]:
        cells = [c.strip() for c in r]
        while len(cells) > width and cells[-1] == "":
            cells.pop()
        if len(cells) != width:
            last = no == numbered[-1][0]
            why = (
                "the file looks truncated"
                if last and len(cells) < width
                else "a field is missing or a ';' is out of place"
            )
            raise _fail(path, f"line {no}: {len(cells)} field(s), expected {width} ({';'.join(hrow[:width])}) — {why}")
        region, brott = cells[idx["region"]], cells[idx["brott"]]
        year, prel, kind = _period_kind(cells[idx["år"]], cells[idx["period"]])
        code = _lookup_area(region)
        if code is None:
            if _is_city_district(region) or _POLICE_REGION.match(_norm_text(region)):
                skipped_areas.add(region)
            else:
                unknown.setdefault(region, []).append(no)
            continue
        ind = mapping.get(_crime_type_key(brott))
        if ind is None:
            unmatched[brott] = unmatched.get(brott, 0) + 1
            continue
        if kind != "year":
            if kind == "unknown":
                raise _fail(
                    path,
                    f"line {no}: År {cells[idx['år']]!r} and Period {cells[idx['period']]!r}; expected a year "
                    "such as '2025' or '2026 prel.'",
                )
            subannual += 1
            continue
        count = _parse_spaced(cells[idx["antal"]])
        rate = _parse_spaced(cells[rate_i]) if rate_i is not None else float("nan")
        for label, raw, val in (
            ("Antal", cells[idx["antal"]], count),
            ("/100 000 inv", cells[rate_i] if rate_i is not None else "", rate),
        ):
            if val is None:
                bad.append(f"line {no}: {label} {raw!r} is not a number (expected a number or '..')")
            elif np.isfinite(val) and val < 0:
                bad.append(f"line {no}: {label} {raw!r} is negative; expected 0 or more")
        out.append((no, code, year, ind, count, rate, prel, region, brott))
    if unknown:
        listed = ", ".join(f"{n!r} ({_loc_text(ls)})" for n, ls in list(unknown.items())[:_MAX_LIST])
        raise _fail(
            path,
            f"{len(unknown)} unknown name(s) in column Region (expected a kommun, a län or 'Hela landet'): {listed}",
        )
    if bad:
        raise _fail(path, bad[0] + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    frame = pd.DataFrame(
        out, columns=["line", "area_code", "year", "indicator", "count", "rate_per_100k", "prel", "region", "brott"]
    )
    if frame.empty:
        found = _listing(sorted(unmatched)) if unmatched else "none"
        raise _fail(
            path,
            f"no rows to import: no yearly row of a crime type with a catalogue indicator; crime types found: {found}; "
            f"those with an indicator: {_listing(sorted(set(mapping)))}",
        )
    dup = frame[frame.duplicated(["area_code", "year", "indicator"], keep=False)]
    if len(dup):
        distinct = dup.drop_duplicates(["area_code", "year", "indicator", "count", "rate_per_100k"])
        if distinct.duplicated(["area_code", "year", "indicator"]).any():
            g = dup.groupby(["area_code", "year", "indicator"])["line"].apply(list).iloc[0]
            raise _fail(
                path, f"duplicated value: the same region, crime type and year with different values on {_loc_text(g)}"
            )
        frame = frame.drop_duplicates(["area_code", "year", "indicator"])
    frame = frame[frame["count"].notna() | frame["rate_per_100k"].notna()]
    frame = frame.assign(status=np.where(frame["prel"], "preliminary", "final"), source="Brå: statistikdatabasen (SOL)")
    notes = []
    if unmatched:
        notes.append(
            f"{len(unmatched)} crime type(s) not imported (no catalogue indicator): {_listing(sorted(unmatched))}"
        )
    if skipped_areas:
        notes.append(
            f"{len(skipped_areas)} area(s) skipped (city districts or police regions): "
            f"{_listing(sorted(skipped_areas))}"
        )
    if subannual:
        notes.append(f"{subannual} monthly or quarterly row(s) not imported (the store holds whole years)")
    years = sorted(set(frame["year"]))
    vintage = f"anmälda brott {years[0]}–{years[-1]}" if years else None
    not_imported = [f"crime type {b}" for b in sorted(unmatched)] + [f"area {a}" for a in sorted(skipped_areas)]
    return _finish(
        path,
        data,
        PUBLISHER_BRA,
        "bra_databasfil",
        vintage,
        crime=frame,
        notes=notes,
        encoding=encoding,
        not_imported=not_imported or None,
    )
