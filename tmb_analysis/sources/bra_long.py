"""BRÅ's lägesbild indicators in long form (``bra_long``), and the rows-to-tables step the workbook reader shares."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from ..catalogue import catalogue
from ..geography import UnknownAreaError, registry
from ..validation import COLUMNS
from ._common import (
    _MAX_LIST,
    BRA_CI_HIGH,
    BRA_CI_LOW,
    BRA_KALLA_CRIME,
    BRA_KALLA_NTU,
    BRA_LONG_COLUMNS,
    BRA_RESPONDENTS,
    BRA_SOURCE,
    BRA_UNIT_COUNT,
    BRA_UNIT_RATE,
    MISSING_MARKERS,
    PUBLISHER_BRA,
    SourceTables,
    _decode,
    _fail,
    _finish,
    _listing,
    _loc_text,
    _norm_header,
    _read_bytes,
    parse_year_or_period,
)

# ---- BRÅ long form -----------------------------------------------------------------


def _lines_text(lines) -> str:
    return _loc_text(lines)


def _values_with_lines(values: np.ndarray, lines: np.ndarray, mask: np.ndarray) -> str:
    """'name' (lines 3, 9), 'other' (line 12) … for the masked rows, in file order."""
    groups: dict[str, list] = {}
    for v, ln in zip(values[mask].tolist(), lines[mask].tolist()):
        groups.setdefault(v, []).append(ln)
    parts = [f"{v!r} ({_lines_text(ls)})" for v, ls in groups.items()]
    more = " …" if len(parts) > _MAX_LIST else ""
    return ", ".join(parts[:_MAX_LIST]) + more


def _norm_unit(text: str) -> str:
    t = " ".join(str(text).replace("\u00a0", " ").split()).casefold()
    for dash in ("\u2013", "\u2014", "\u2212"):
        t = t.replace(dash, "-")
    return t.rstrip(".").strip()


_RATE_UNITS = {
    _norm_unit(u)
    for u in ("Antal per 100 000 inv", "Antal per 100 000 invånare", "Per 100 000 inv", "Per 100 000 invånare")
}
_COUNT_UNITS = {_norm_unit(u) for u in ("Antal",)}
_CI_LOW_UNITS = {_norm_unit(BRA_CI_LOW), _norm_unit("KI (95%) undre gräns")}
_CI_HIGH_UNITS = {_norm_unit(BRA_CI_HIGH), _norm_unit("KI (95%) övre gräns")}
_PARTS = ("count", "rate_per_100k", "share_pct", "ci_low_pct", "ci_high_pct", "n_respondents")
_P = {p: i for i, p in enumerate(_PARTS)}


def _factor(values: list[str]) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return codes, [str(u) for u in uniques]


def _parse_number(text: str) -> float | None:
    """A number, NaN for a missing marker, None when not a number."""
    t = text.strip()
    if t in MISSING_MARKERS:
        return float("nan")
    try:
        v = float(t)
    except ValueError:
        return None
    return v if np.isfinite(v) else None


def _parse_long_csv(path: Path, text: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The columns of a BRÅ long-form CSV (as object arrays) and the line number of every row.

    Checks the header (separator, names) and that every non-empty line has as many fields as the
    header, so that a truncated or mis-separated file fails with its line numbers.
    """
    expected = ", ".join(BRA_LONG_COLUMNS)
    physical = text.splitlines()
    start = next((i for i, ln in enumerate(physical) if ln.strip()), None)
    if start is None:
        raise _fail(path, "the file is empty")
    header_raw = next(csv.reader([physical[start]]))
    header = [_norm_header(c) for c in header_raw]
    if len(header) == 1:
        for sep, name in ((";", "semicolons (;)"), ("\t", "tabs"), ("|", "vertical bars (|)")):
            if sep in header_raw[0]:
                raise _fail(
                    path,
                    f"the columns are separated by {name}; expected a comma-separated (,) header "
                    f"with the columns {expected}",
                )
    missing = [c for c in BRA_LONG_COLUMNS if c not in header]
    if missing:
        found = ", ".join(h for h in header if h) or "(nothing)"
        raise _fail(
            path,
            f"missing column(s) {', '.join(missing)} in the header (line {start + 1}); "
            f"expected columns {expected}; found {found}",
        )
    width = len(header)
    body = physical[start + 1 :]
    keep = [i for i, ln in enumerate(body) if ln]
    if not keep:
        raise _fail(path, f"no data rows below the header; expected rows with {expected}")
    if any(ln.count('"') % 2 for ln in body):  # a quoted field spans lines: parse with the csv module
        rows = list(csv.reader(io.StringIO("\n".join(physical[start:]), newline="")))
        widths = {i: len(r) for i, r in enumerate(rows[1:]) if r}
        keep = list(widths)
        frame_rows = [rows[1 + i] for i in keep]
    else:
        widths = {}
        for i in keep:
            ln = body[i]
            widths[i] = len(next(csv.reader([ln]))) if '"' in ln else ln.count(",") + 1
        frame_rows = None
    bad_width = [i for i in keep if widths[i] != width]
    if bad_width:
        i = bad_width[0]
        truncated = i == keep[-1] and widths[i] < width
        reason = (
            "the file looks truncated" if truncated else "is a field missing, or a separator or quote out of place?"
        )
        raise _fail(
            path,
            f"{_lines_text([start + 2 + j for j in bad_width])}: {widths[i]} field(s), expected {width} "
            f"({expected}) — {reason}",
        )
    if frame_rows is None:
        frame = pd.read_csv(
            io.StringIO("\n".join(body[i] for i in keep)),
            header=None,
            names=list(range(width)),
            dtype=object,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
        columns = {name: frame[header.index(name)].to_numpy(dtype=object) for name in BRA_LONG_COLUMNS}
    else:
        columns = {
            name: np.array([r[header.index(name)] for r in frame_rows], dtype=object) for name in BRA_LONG_COLUMNS
        }
    if not text.endswith(("\n", "\r")):
        # no final line break: accept it only if the last row ends in a complete 'kalla'
        kalla = str(columns["kalla"][-1]).strip()
        if kalla not in (BRA_KALLA_CRIME, BRA_KALLA_NTU):
            raise _fail(
                path,
                f"the file ends without a line break inside line {start + 2 + keep[-1]} (kalla {kalla!r} instead of "
                f"{BRA_KALLA_CRIME!r} or {BRA_KALLA_NTU!r}): the file looks truncated",
            )
    return columns, np.asarray(keep, dtype=np.int64) + start + 2


def read_bra_long(path: str | Path) -> SourceTables:
    """Read BRÅ's lägesbild indicators in long form (see the module docstring).

    * ``geografi`` is mapped with :meth:`Registry.lookup`; names it does not know give one error that
      lists every unmapped name with its line numbers (nothing is dropped silently).
    * Crime: ``Antal`` and ``Antal per 100 000 inv`` are joined into ``count`` and
      ``rate_per_100k``; each needs the other (a missing partner row suggests a truncated file).
    * NTU: the share, ``KI (95 %) undre/övre gräns`` are joined into ``share_pct``, ``ci_low_pct``,
      ``ci_high_pct``; ``Antal svarande i NTU.`` of the same area and NTU year becomes ``n_respondents``
      of every NTU indicator measured in that survey (victimisation of reference year Y: NTU Y+1). A
      pooled period ``2017/2018`` is stored as year 2018 with ``period`` ``2017–2018``; a yearly and a
      pooled value of the same area, indicator and year in one file are an error.
    * Indicators BRÅ publishes that the catalogue leaves out (``not_imported_names``) are listed in
      the notes and the provenance, not refused; any other unknown name is an error.
    * ``varde`` must be a number (``.`` as decimal mark); ``..`` or an empty cell means "no value"
      (an area-year-indicator with no value at all is left out). A value given twice for the same
      area, year, indicator and unit is an error.
    * ``status`` is ``final``: the indicator set publishes final statistics only.
    """
    path = Path(path)
    data = _read_bytes(path)
    text = _decode(path, data)
    col, lines = _parse_long_csv(path, text)
    return _bra_long_tables(path, data, col, lines, "bra_long")


def _bra_long_tables(
    path: Path,
    data: bytes,
    col: dict[str, np.ndarray],
    lines: np.ndarray,
    fmt: str,
    notes: list[str] | None = None,
    **extra,
) -> SourceTables:
    """The canonical tables of BRÅ's lägesbild indicators given as long-form columns
    (``geografi, enhet, ar, variabel, varde``) with the location of every row (line numbers, or
    cell references for a workbook)."""

    # years: '2024', or a pooled two-year NTU period '2017/2018' (stored as year 2018, period '2017–2018')
    y_codes, y_uniq = _factor(col["ar"])
    y_parsed = [parse_year_or_period(u) for u in y_uniq]
    y_vals = np.array([p[0] if p else -1 for p in y_parsed], dtype=np.int64)
    year = y_vals[y_codes]
    pooled = np.array([bool(p and p[1]) for p in y_parsed], dtype=bool)[y_codes]
    if (year < 0).any():
        raise _fail(
            path,
            f"column 'ar' must be a four-digit year (or a two-year NTU period such as 2017/2018); found "
            f"{_values_with_lines(np.asarray(col['ar'], dtype=object), lines, year < 0)}",
        )

    # values
    v_codes, v_uniq = _factor(col["varde"])
    parsed = [_parse_number(u) for u in v_uniq]
    bad_v = np.array([p is None for p in parsed])[v_codes]
    if bad_v.any():
        raw = np.asarray(col["varde"], dtype=object)
        hint = " (use '.' as the decimal mark)" if any("," in str(v) for v in raw[bad_v]) else ""
        raise _fail(path, f"column 'varde' must be numeric{hint}; found {_values_with_lines(raw, lines, bad_v)}")
    value = np.array([np.nan if p is None else p for p in parsed], dtype=float)[v_codes]

    # areas
    reg = registry()
    g_codes, g_uniq = _factor(col["geografi"])
    area_of: list[str | None] = []
    for name in g_uniq:
        try:
            area_of.append(reg.lookup(name.strip()).code)
        except UnknownAreaError:
            area_of.append(None)
    unknown = np.array([a is None for a in area_of])[g_codes]
    if unknown.any():
        geo = np.asarray(col["geografi"], dtype=object)
        n = len({g for g, a in zip(g_uniq, area_of) if a is None})
        raise _fail(
            path,
            f"{n} unknown area name(s) in column 'geografi' (expected a kommun, a län or 'Hela landet'): "
            f"{_values_with_lines(geo, lines, unknown)}",
        )
    a_codes, a_uniq = pd.factorize(np.array(area_of, dtype=object)[g_codes])
    a_uniq = [str(a) for a in a_uniq]

    # indicators (index into ind_ids; -1 = the respondent count, -3 = known but not imported) and kinds
    cat = catalogue()
    ind_ids: list[str] = []
    k_codes, k_uniq = _factor(col["variabel"])
    var_ind, var_kind = [], []
    for name in k_uniq:
        if cat.is_respondent_count(name):
            var_ind.append(-1)
            var_kind.append("respondents")
            continue
        if cat.is_not_imported(name):
            var_ind.append(-3)
            var_kind.append("skipped")
            continue
        try:
            ind = cat.from_bra_name(name)
        except KeyError:
            var_ind.append(-2)
            var_kind.append("unknown")
            continue
        if ind.id not in ind_ids:
            ind_ids.append(ind.id)
        var_ind.append(ind_ids.index(ind.id))
        var_kind.append(ind.source_kind)
    ind_idx = np.array(var_ind, dtype=np.int64)[k_codes]
    kind = np.array(var_kind, dtype=object)[k_codes]
    if (ind_idx == -2).any():
        variabel = np.asarray(col["variabel"], dtype=object)
        n = sum(1 for v in var_kind if v == "unknown")
        raise _fail(
            path,
            f"{n} unknown indicator name(s) in column 'variabel' (not in the indicator catalogue "
            f"tmb_analysis/config/indicators.yaml): {_values_with_lines(variabel, lines, ind_idx == -2)}",
        )
    notes = list(notes or [])
    not_imported = list(extra.pop("not_imported", None) or [])
    if (ind_idx == -3).any():
        skipped = [k for k, v in zip(k_uniq, var_kind) if v == "skipped"]
        notes.append(
            f"{len(skipped)} indicator(s) not imported (BRÅ publishes them, the catalogue has no id for them): "
            f"{_listing(skipped)}"
        )
        not_imported += [f"indicator {k}" for k in skipped]
        keep = ind_idx != -3
        col = {k: np.asarray(v, dtype=object)[keep] for k, v in col.items()}
        lines, year, pooled, ind_idx, kind = lines[keep], year[keep], pooled[keep], ind_idx[keep], kind[keep]
        value = value[keep]
        a_codes = a_codes[keep]
    if pooled.any() and (kind[pooled] == "crime").any():
        i = np.flatnonzero(pooled & (kind == "crime"))[0]
        raise _fail(
            path,
            f"{_loc_text([lines[i]])}: reported crime for the period {col['ar'][i]!r}; expected a single year "
            "(only NTU publishes pooled two-year periods)",
        )

    # units -> part
    e_codes, e_uniq = _factor(col["enhet"])
    e_norm = [_norm_unit(u) for u in e_uniq]
    crime_part = np.array(
        [_P["count"] if u in _COUNT_UNITS else _P["rate_per_100k"] if u in _RATE_UNITS else -1 for u in e_norm]
    )[e_codes]
    survey_part = np.array(
        [
            _P["ci_low_pct"] if u in _CI_LOW_UNITS else _P["ci_high_pct"] if u in _CI_HIGH_UNITS else _P["share_pct"]
            for u in e_norm
        ]
    )[e_codes]
    part = np.where(kind == "crime", crime_part, np.where(kind == "survey", survey_part, _P["n_respondents"]))
    if (part < 0).any():
        enhet = np.asarray(col["enhet"], dtype=object)
        raise _fail(
            path,
            f"unknown unit in column 'enhet' for reported crime (expected {BRA_UNIT_COUNT!r} or {BRA_UNIT_RATE!r}): "
            f"{_values_with_lines(enhet, lines, part < 0)}",
        )

    # duplicates (after mapping names to codes: 'Falun' and 'Falu kommun' are one area)
    n_ind = len(ind_ids) + 1
    cell = (((a_codes.astype(np.int64) * 6000 + year * 2 + pooled) * n_ind + (ind_idx + 1)) * len(_PARTS)) + part
    _, counts = np.unique(cell, return_counts=True)
    if (counts > 1).any():
        order = np.argsort(cell, kind="stable")
        sorted_cells = cell[order]
        repeated = np.flatnonzero(np.r_[False, sorted_cells[1:] == sorted_cells[:-1]])
        examples = []
        seen = set()
        for pos in repeated:
            c = sorted_cells[pos]
            if c in seen:
                continue
            seen.add(c)
            idx = order[sorted_cells == c]
            i0 = idx[0]
            examples.append(
                f"{col['geografi'][i0]} {year[i0]} {col['variabel'][i0]!r} {col['enhet'][i0] or '(enhet tom)'} "
                f"on {_loc_text(lines[idx])}"
            )
        raise _fail(
            path,
            f"{len(seen)} duplicated value(s) (same geografi, ar, variabel and enhet more than once): "
            + "; ".join(examples[:3])
            + (" …" if len(examples) > 3 else ""),
        )

    source = BRA_SOURCE
    group = (a_codes.astype(np.int64) * 6000 + year * 2 + pooled) * n_ind + (ind_idx + 1)
    ctx = {"geografi": col["geografi"], "variabel": col["variabel"], "lines": lines, "pooled": pooled}
    crime_t = _bra_table(
        path, "crime", kind == "crime", group, part, value, a_codes, a_uniq, year, ind_idx, ind_ids, ctx
    )
    survey_t = _bra_table(
        path, "survey", kind == "survey", group, part, value, a_codes, a_uniq, year, ind_idx, ind_ids, ctx
    )
    both = survey_t[survey_t.duplicated(["area_code", "year", "indicator"], keep=False)]
    if len(both):
        r = both.iloc[0]
        sel = (
            (np.array(a_uniq, dtype=object)[a_codes] == r["area_code"])
            & (year == r["year"])
            & (kind == "survey")
            & (np.array(ind_ids + [""], dtype=object)[np.where(ind_idx >= 0, ind_idx, len(ind_ids))] == r["indicator"])
        )
        at = {bool(p_): lines[np.flatnonzero(sel & (pooled == p_))[0]] for p_ in (True, False)}
        raise _fail(
            path,
            f"{registry().name(r['area_code'])} {r['indicator']} has both a pooled {r['year'] - 1}\u2013{r['year']} "
            f"value ({_loc_text([at[True]])}) and a yearly {r['year']} value ({_loc_text([at[False]])}); "
            "expected one of them",
        )
    crime_t["status"] = "final"
    crime_t["source"] = source
    survey_t["source"] = source
    # respondents: one n per area and NTU year, joined to every NTU indicator measured in that survey;
    # a victimisation indicator of reference year Y was measured in NTU Y + offset (catalogue)
    offsets = np.array([cat.get(i).ntu_year_offset for i in survey_t["indicator"]], dtype=np.int64)
    survey_t["_ntu_year"] = survey_t["year"].to_numpy(dtype=np.int64) + offsets
    resp = kind == "respondents"
    if resp.any() and len(survey_t):
        n_val = value[resp]
        frac = np.isfinite(n_val) & (n_val % 1 != 0)
        if frac.any():
            i = np.flatnonzero(resp)[np.flatnonzero(frac)[0]]
            raise _fail(
                path, f"'{BRA_RESPONDENTS}' must be a whole number; {_loc_text([lines[i]])} has {col['varde'][i]!r}"
            )
        n_map = pd.Series(
            n_val,
            index=pd.MultiIndex.from_arrays([np.array(a_uniq, dtype=object)[a_codes[resp]], year[resp], pooled[resp]]),
        )
        key = pd.MultiIndex.from_arrays(
            [
                survey_t["area_code"].to_numpy(dtype=object),
                survey_t["_ntu_year"].to_numpy(),
                survey_t["period"].notna().to_numpy(),
            ]
        )
        survey_t["n_respondents"] = n_map.reindex(key).to_numpy()
    else:
        survey_t["n_respondents"] = np.nan
    ntu_years = survey_t["_ntu_year"]
    cols_c = [c for c in COLUMNS["crime"] if c != "source_sha256"]
    cols_s = [c for c in COLUMNS["survey"] if c != "source_sha256"]
    crime_t = crime_t[cols_c]
    survey_t = survey_t[cols_s]

    years_c = f"anmälda brott {crime_t['year'].min()}–{crime_t['year'].max()}" if len(crime_t) else None
    years_s = f"NTU {ntu_years.min()}–{ntu_years.max()}" if len(survey_t) else None
    vintage = ", ".join(v for v in (years_c, years_s) if v) or None
    if survey_t["period"].notna().any():
        notes.append(
            f"{int(survey_t['period'].notna().sum())} NTU value(s) are pooled two-year estimates "
            f"({_listing(sorted(set(survey_t['period'].dropna())))}); they keep their period and are "
            "never mixed with yearly values"
        )
    return _finish(
        path,
        data,
        PUBLISHER_BRA,
        fmt,
        vintage,
        crime=crime_t,
        survey=survey_t,
        notes=notes,
        status="final",
        not_imported=not_imported or None,
        **extra,
    )


def _bra_table(path, name, mask, group, part, value, a_codes, a_uniq, year, ind_idx, ind_ids, ctx) -> pd.DataFrame:
    """Join the rows of one kind (crime or survey) into one row per (area, year, indicator)."""
    parts = ["count", "rate_per_100k"] if name == "crime" else ["share_pct", "ci_low_pct", "ci_high_pct"]
    what = "crime" if name == "crime" else "NTU"
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return pd.DataFrame(
            {c: [] for c in ["area_code", "year", "indicator", *parts] + (["period"] if name == "survey" else [])}
        )
    gid, _uniq = pd.factorize(group[rows])
    n = int(gid.max()) + 1
    first = np.full(n, -1, dtype=np.int64)
    first[gid[::-1]] = rows[::-1]  # the first row of every group
    out = {
        "area_code": np.array(a_uniq, dtype=object)[a_codes[first]],
        "year": year[first],
        "indicator": np.array(ind_ids, dtype=object)[ind_idx[first]],
    }
    if name == "survey":
        out["period"] = np.where(ctx["pooled"][first], [f"{y - 1}\u2013{y}" for y in year[first]], None).astype(object)
    present = {}
    for p in parts:
        arr = np.full(n, np.nan)
        has = np.zeros(n, dtype=bool)
        sel = part[rows] == _P[p]
        arr[gid[sel]] = value[rows[sel]]
        has[gid[sel]] = True
        out[p] = arr
        present[p] = has
    incomplete = ~np.logical_and.reduce([present[p] for p in parts])
    if incomplete.any():
        examples = []
        for g in np.flatnonzero(incomplete)[:3]:
            i = first[g]
            lack = ", ".join(p for p in parts if not present[p][g])
            examples.append(
                f"{ctx['geografi'][i]} {year[i]} {ctx['variabel'][i]!r} ({_loc_text([ctx['lines'][i]])}) lacks {lack}"
            )
        raise _fail(
            path,
            f"{int(incomplete.sum())} incomplete {what} value(s) — is the file truncated? "
            f"Each needs rows for {', '.join(parts)}; e.g. " + "; ".join(examples),
        )
    if name == "crime":
        cnt = out["count"]
        frac = np.isfinite(cnt) & (cnt % 1 != 0)
        if frac.any():
            g = np.flatnonzero(frac)[0]
            i = first[g]
            raise _fail(
                path,
                f"a count ('{BRA_UNIT_COUNT}') must be a whole number; {ctx['geografi'][i]} {year[i]} "
                f"{ctx['variabel'][i]!r} has {cnt[g]}",
            )
    df = pd.DataFrame(out)
    has_value = np.logical_or.reduce([np.isfinite(out[p]) for p in parts])
    return df[has_value].reset_index(drop=True)
