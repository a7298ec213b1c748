"""SCB population: PxWeb JSON v1 and json-stat2 (``scb_pxweb_v1``, ``scb_jsonstat2``) and CSV (``scb_csv``)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..geography import RIKET_CODE, registry
from ..validation import DataValidationError, to_canonical
from ._common import (
    _MAX_LIST,
    PUBLISHER_SCB,
    SourceTables,
    _decode,
    _fail,
    _finish,
    _json,
    _loc_text,
    _lookup_area,
    _norm_header,
    _norm_text,
    _parse_spaced,
    _read_bytes,
    _resolve_year,
    supported_text,
)

# ---- SCB PxWeb JSON (v1 and json-stat2) ------------------------------------------------

_POPULATION_CONTENTS = ("BE0101N1", "BE0101A9", "000000LV", "000000LY", "0000001A")
_TOTAL_CODES = {"1+2", "tot", "totalt", "t", "total", "tot1", "totalt ålder", "samtliga"}


def _pxweb_v1_frame(path: Path, obj: dict) -> tuple[pd.DataFrame, dict[str, dict[str, str]], str | None]:
    columns = obj.get("columns")
    data = obj.get("data")
    if not isinstance(columns, list) or not isinstance(data, list):
        raise _fail(path, "SCB PxWeb v1 JSON needs a 'columns' list and a 'data' list")
    dims = [c for c in columns if str(c.get("type", "d")).lower() != "c"]
    contents = [c for c in columns if str(c.get("type", "d")).lower() == "c"]
    if not contents:  # no typed content column: the last column holds the values
        dims, contents = columns[:-1], columns[-1:]
    dim_codes = [str(c.get("code")) for c in dims]
    content_codes = [str(c.get("code")) for c in contents]
    records = []
    for pos, item in enumerate(data):
        key, values = item.get("key"), item.get("values")
        if (
            not isinstance(key, list)
            or not isinstance(values, list)
            or len(key) != len(dims)
            or len(values) != len(contents)
        ):
            raise _fail(
                path,
                f"data[{pos}] has key {key!r} and values {values!r}; expected {len(dims)} key(s) "
                f"({', '.join(dim_codes)}) and {len(contents)} value(s) ({', '.join(content_codes)})",
            )
        for code, v in zip(content_codes, values):
            records.append([*map(str, key), code, v])
    frame = pd.DataFrame(records, columns=[*dim_codes, "ContentsCode", "value"])
    labels = {"ContentsCode": {str(c.get("code")): str(c.get("text", "")) for c in contents}}
    meta = obj.get("metadata") or [{}]
    updated = meta[0].get("updated") if isinstance(meta, list) and meta and isinstance(meta[0], dict) else None
    if any(c.casefold() == "contentscode" for c in dim_codes):  # content given as a dimension
        frame = frame.drop(columns="ContentsCode")
    return frame, labels, updated


def _jsonstat2_frame(path: Path, obj: dict) -> tuple[pd.DataFrame, dict[str, dict[str, str]], str | None]:
    ids, size, dims, values = obj.get("id"), obj.get("size"), obj.get("dimension"), obj.get("value")
    if not isinstance(ids, list) or not isinstance(size, list) or not isinstance(dims, dict) or len(ids) != len(size):
        raise _fail(path, "json-stat2 needs 'id', 'size' (same length) and 'dimension'")
    cats: list[list[str]] = []
    labels: dict[str, dict[str, str]] = {}
    for d, n in zip(ids, size):
        cat = (dims.get(d) or {}).get("category") or {}
        index = cat.get("index")
        if isinstance(index, dict):
            order = sorted(index, key=lambda k: index[k])
        elif isinstance(index, list):
            order = list(index)
        else:
            order = list((cat.get("label") or {}).keys())
        if len(order) != n:
            raise _fail(path, f"dimension {d!r} has {len(order)} categories but size says {n}")
        cats.append([str(c) for c in order])
        labels[d] = {str(k): str(v) for k, v in (cat.get("label") or {}).items()}
    total = int(np.prod(size)) if size else 0
    if isinstance(values, dict):
        flat = [None] * total
        for k, v in values.items():
            flat[int(k)] = v
    elif isinstance(values, list):
        if len(values) != total:
            raise _fail(
                path, f"'value' has {len(values)} entries, expected {total} (the product of 'size') — truncated?"
            )
        flat = list(values)
    else:
        raise _fail(path, "json-stat2 needs a 'value' list")
    status = obj.get("status")
    if isinstance(status, dict):
        for k, s in status.items():
            if s in ("..", ".", "-") and int(k) < total:
                flat[int(k)] = None
    elif isinstance(status, list):
        for i, s in enumerate(status[:total]):
            if s in ("..", ".", "-"):
                flat[i] = None
    grid = pd.MultiIndex.from_product(cats, names=[str(i) for i in ids]).to_frame(index=False)
    grid["value"] = flat
    return grid, labels, obj.get("updated")


def _dim(frame: pd.DataFrame, *names: str) -> str | None:
    for col in frame.columns:
        if col.casefold() in {n.casefold() for n in names}:
            return col
    return None


def read_scb_pxweb_json(path: str | Path) -> SourceTables:
    """Read SCB population from a PxWeb API v1 JSON response or a json-stat2 dataset.

    Region codes ``00`` (riket), two-digit län and four-digit kommun codes; the time dimension
    must be yearly (``2024``). ``..`` (or null) means missing: that area-year is left out.
    Dimensions other than region and time must have one value, except ``Kon`` (both sexes
    without a total are summed; a total ``1+2`` is used as is), ``Alder`` (its total is used) and
    ``ContentsCode`` (the population measure, e.g. ``BE0101N1`` Folkmängd, is chosen).
    """
    path = Path(path)
    data = _read_bytes(path)
    obj = _json(path, data)
    if not isinstance(obj, dict):
        raise _fail(path, f"expected a JSON object; supported formats: {supported_text()}")
    if obj.get("class") == "dataset" or (str(obj.get("version")) == "2.0" and "dimension" in obj):
        fmt = "scb_jsonstat2"
    elif "columns" in obj and "data" in obj:
        fmt = "scb_pxweb_v1"
    else:
        fmt = "unknown"
    if fmt == "scb_jsonstat2":
        frame, labels, updated = _jsonstat2_frame(path, obj)
    elif fmt == "scb_pxweb_v1":
        frame, labels, updated = _pxweb_v1_frame(path, obj)
    else:
        raise _fail(path, f"not SCB PxWeb JSON; supported formats: {supported_text()}")

    region = _dim(frame, "Region", "region")
    time = _dim(frame, "Tid", "tid", "år", "year")
    if region is None or time is None:
        raise _fail(
            path,
            f"expected dimensions 'Region' and 'Tid'; found {', '.join(c for c in frame.columns if c != 'value')}",
        )
    # values: '..' and friends are missing
    raw = frame["value"]
    s = raw.astype("object").where(raw.notna(), None)
    s = s.map(lambda v: None if v is None or (isinstance(v, str) and v.strip() in ("..", ".", "-", "")) else v)
    num = pd.to_numeric(s, errors="coerce")
    bad = s.notna() & num.isna()
    if bad.any():
        r = frame[bad].iloc[0]
        raise _fail(path, f"value {r['value']!r} for Region {r[region]}, Tid {r[time]} is not a number")
    frame = frame.assign(value=num)

    # contents: choose the population measure
    contents = _dim(frame, "ContentsCode")
    if contents is not None:
        codes = list(dict.fromkeys(frame[contents]))
        if len(codes) > 1:
            lab = labels.get(contents, labels.get("ContentsCode", {}))
            chosen = [c for c in codes if c in _POPULATION_CONTENTS or "folkmängd" in lab.get(c, "").casefold()]
            if len(chosen) != 1:
                raise _fail(
                    path,
                    f"several contents {', '.join(codes)}; expected one population measure (e.g. BE0101N1 Folkmängd)",
                )
            frame = frame[frame[contents] == chosen[0]]
        frame = frame.drop(columns=contents)
    # sex: use the total or sum both sexes
    kon = _dim(frame, "Kon", "kön")
    if kon is not None:
        values = set(frame[kon])
        totals = [v for v in values if v.casefold() in _TOTAL_CODES]
        if len(values) > 1:
            if totals:
                frame = frame[frame[kon] == totals[0]]
            elif values == {"1", "2"}:
                both = frame.groupby([c for c in frame.columns if c not in (kon, "value")], dropna=False)["value"]
                frame = both.agg(lambda v: v.sum() if v.notna().all() and len(v) == 2 else np.nan).reset_index()
            else:
                raise _fail(
                    path, f"dimension {kon!r} has values {sorted(values)}; expected 1 and 2 (summed) or a total"
                )
        frame = frame.drop(columns=[kon], errors="ignore")
    alder = _dim(frame, "Alder", "ålder")
    if alder is not None:
        values = set(frame[alder])
        if len(values) > 1:
            totals = [v for v in values if v.casefold() in _TOTAL_CODES]
            if not totals:
                raise _fail(
                    path,
                    f"dimension {alder!r} has {len(values)} values and no total ('tot'); expected the total population",
                )
            frame = frame[frame[alder] == totals[0]]
        frame = frame.drop(columns=[alder])
    for other in [c for c in frame.columns if c not in (region, time, "value")]:
        values = set(frame[other])
        if len(values) > 1:
            raise _fail(path, f"dimension {other!r} has several values ({', '.join(sorted(values)[:5])}); expected one")
        frame = frame.drop(columns=[other])

    years = frame[time].astype("str").str.strip()
    bad_year = ~years.str.fullmatch(r"\d{4}")
    if bad_year.any():
        raise _fail(
            path,
            f"'{time}' must be a year such as 2024; found {years[bad_year].iloc[0]!r} (only yearly population is read)",
        )
    out = pd.DataFrame(
        {
            "area_code": frame[region].astype("str").str.strip().to_numpy(),
            "year": years.astype("int64").to_numpy(),
            "population": frame["value"].to_numpy(),
        }
    )
    out = out[out["population"].notna()]
    label = obj.get("label") if isinstance(obj.get("label"), str) else None
    if (
        label is None
        and isinstance(obj.get("metadata"), list)
        and obj["metadata"]
        and isinstance(obj["metadata"][0], dict)
    ):
        label = obj["metadata"][0].get("label")
    out["source"] = f"SCB: {label or 'Folkmängd'}"
    pop = to_canonical("population", out, path.name)
    tid = f"{pop['year'].min()}–{pop['year'].max()}" if len(pop) else None
    vintage = (
        " ".join(v for v in (f"folkmängd {tid}" if tid else None, f"(uppdaterad {updated})" if updated else None) if v)
        or None
    )
    published = str(updated)[:10] if updated and re.match(r"^\d{4}-\d{2}-\d{2}", str(updated)) else None
    return _finish(path, data, PUBLISHER_SCB, fmt, vintage, population=pop, published=published)


# ---- SCB population as CSV ------------------------------------------------------------

_REGION_COLS = (
    "kommun_kod",
    "kommunkod",
    "region_kod",
    "regionkod",
    "lan_kod",
    "länskod",
    "kod",
    "region",
    "kommun",
    "område",
    "omrade",
    "area_code",
)
_NAME_COLS = ("kommun_namn", "kommunnamn", "region_namn", "regionnamn", "namn", "lan_namn", "länsnamn")
_POP_WORDS = ("population", "folkmängd", "befolkning", "invånare")
_YEAR_COLS = ("år", "ar", "year", "tid")
_YEAR_LABEL = re.compile(r"^(?:.*\s)?((?:19|20)\d\d)$")
_TOTAL_VALUES = {
    "totalt",
    "totalt ålder",
    "tot",
    "1+2",
    "män och kvinnor",
    "samtliga",
    "totalt kön",
    "alla åldrar",
    "totalt, samtliga åldrar",
    "samtliga civilstånd",
    "totalt civilstånd",
    "t",
    "total",
}


def _scb_csv_header(header: list[str]) -> bool:
    h = [c.strip('"') for c in header]
    region = any(c in _REGION_COLS for c in h)
    pop = any(any(w in c for w in _POP_WORDS) for c in h)
    years = any(_YEAR_LABEL.match(c) for c in h)
    return region and (pop or years)


def read_scb_csv(path: str | Path, year: int | None = None) -> SourceTables:
    """Read SCB population from a CSV (see the module docstring).

    Two layouts: a region column (``kommun_kod``, ``region`` with ``"2180 Gävle"``, …) with a
    population column (``population``, ``Folkmängd``, …) and optionally a year column; or a region
    column with one column per year (SCB's PxWeb CSV: ``"region","2023","2024"``). Other columns
    (ålder, kön, …) must be at their total. A name column, when present, must agree with the code.
    Without a year in the content the year comes from the file name, else from ``year``. UTF-8
    (with or without BOM) or Windows-1252 (SCB's "ANSI" downloads). ``..`` means missing.
    """
    path = Path(path)
    data = _read_bytes(path)
    try:
        text, encoding = _decode(path, data), "UTF-8"
    except DataValidationError:
        try:
            text, encoding = data.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "ISO-8859-1"
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    sep = max((",", ";", "\t"), key=first.count)
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    numbered = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r)]
    hno, hrow = numbered[0]
    header = [_norm_header(c) for c in hrow]
    region_i = next((header.index(c) for c in _REGION_COLS if c in header), None)
    if region_i is None:
        raise _fail(
            path,
            f"line {hno}: no region column; expected one of {', '.join(_REGION_COLS[:4])} or 'region'; "
            f"found {', '.join(hrow)}",
        )
    name_i = next((header.index(c) for c in _NAME_COLS if c in header), None)
    pop_i = next(
        (i for i, c in enumerate(header) if any(w in c for w in _POP_WORDS) and not _YEAR_LABEL.match(c)), None
    )
    year_i = next((header.index(c) for c in _YEAR_COLS if c in header), None)
    year_cols = {
        i: int(_YEAR_LABEL.match(c).group(1)) for i, c in enumerate(header) if _YEAR_LABEL.match(c) and i != region_i
    }
    if pop_i is None and not year_cols:
        raise _fail(
            path,
            f"line {hno}: no population column; expected e.g. 'population' or 'Folkmängd', or one column per year; "
            f"found {', '.join(hrow)}",
        )
    used = {region_i, name_i, pop_i, year_i, *year_cols}
    dims = [i for i in range(len(header)) if i not in used]
    fixed_year = None
    if year_i is None and not year_cols:
        fixed_year = _resolve_year(path, year)
    width = len(hrow)
    for no, r in numbered[1:]:
        if len(r) != width:
            raise _fail(
                path,
                f"line {no}: {len(r)} field(s), expected {width} ({sep.join(hrow)}) — "
                + (
                    "the file looks truncated"
                    if no == numbered[-1][0]
                    else "a field is missing or a separator is out of place"
                ),
            )
    varying = [i for i in dims if len({_norm_text(r[i]) for _, r in numbered[1:]}) > 1]
    for i in varying:
        if not any(_norm_text(r[i]) in _TOTAL_VALUES for _, r in numbered[1:]):
            raise _fail(
                path,
                f"column {hrow[i]!r} has several values and no total (e.g. 'totalt'); expected the total population",
            )
    recs, unknown, bad, mismatch = [], {}, [], []
    for no, r in numbered[1:]:
        if any(_norm_text(r[i]) not in _TOTAL_VALUES for i in varying):
            continue  # a breakdown (by age, sex …): only the totals are read
        raw_region = r[region_i].strip()
        m = re.match(r"^(\d{2}|\d{4})(?:\s+(.*))?$", raw_region)
        code = None
        if m and registry().is_code(m.group(1)):
            code = m.group(1)
        elif m and m.group(1) == "0000":
            code = RIKET_CODE
        elif not m:
            code = _lookup_area(raw_region)
        if code is None:
            unknown.setdefault(raw_region, []).append(no)
            continue
        if name_i is not None and r[name_i].strip():
            named = _lookup_area(r[name_i])
            if named is not None and named != code:
                mismatch.append(f"line {no}: code {code} is {registry().name(code)} but the name says {r[name_i]!r}")
        values = (
            [(year_cols[i], r[i]) for i in sorted(year_cols)]
            if year_cols
            else [(fixed_year if year_i is None else r[year_i].strip(), r[pop_i])]
        )
        for y, raw in values:
            if not re.fullmatch(r"(19|20)\d\d", str(y)):
                bad.append(f"line {no}: year {y!r}; expected a year such as 2024 (yearly population only)")
                continue
            v = _parse_spaced(raw)
            if v is None:
                bad.append(
                    f"line {no}: population {raw!r} for {code} {y} is not a number (expected e.g. 103741 or '..')"
                )
            elif np.isfinite(v) and (v <= 0 or v % 1):
                bad.append(f"line {no}: population {raw!r} for {code} {y}; expected a whole number above 0")
            elif np.isfinite(v):
                recs.append((no, code, int(y), v))
    if unknown:
        listed = ", ".join(f"{n!r} ({_loc_text(ls)})" for n, ls in list(unknown.items())[:_MAX_LIST])
        raise _fail(
            path,
            f"{len(unknown)} unknown region(s) (expected an SCB code such as 2180 or '2180 Gävle', or a name): "
            f"{listed}",
        )
    for problems in (mismatch, bad):
        if problems:
            raise _fail(path, problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    frame = pd.DataFrame(recs, columns=["line", "area_code", "year", "population"])
    if frame.empty:
        raise _fail(path, "no population values in the file (every value is missing)")
    dup = frame[frame.duplicated(["area_code", "year"], keep=False)]
    if len(dup):
        c, y = dup.iloc[0]["area_code"], dup.iloc[0]["year"]
        lines_d = dup[(dup["area_code"] == c) & (dup["year"] == y)]["line"].tolist()
        raise _fail(path, f"duplicated area: {c} {y} appears on {_loc_text(lines_d)}; expected each area once per year")
    frame = frame.assign(source="SCB: Folkmängd")
    years = sorted(set(frame["year"]))
    return _finish(
        path,
        data,
        PUBLISHER_SCB,
        "scb_csv",
        f"folkmängd {years[0]}–{years[-1]}" if len(years) > 1 else f"folkmängd {years[0]}",
        population=frame,
        encoding=encoding,
    )
