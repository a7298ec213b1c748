"""Readers: one per real source file format, each returning the canonical tables.

Supported formats (``detect_format`` looks at the content, not only the extension):

``bra_long``
    BRÅ "Indikatorer för kommuners lägesbild" in long form, as Region Dalarna publishes it:
    UTF-8 CSV, ``,``, columns ``geografi, enhet, ar, variabel, varde, kalla``. Reported crime has
    ``enhet`` ``Antal`` and ``Antal per 100 000 inv``; an NTU indicator has a share row (``enhet`` =
    the unit text), ``KI (95 %) undre gräns`` and ``KI (95 %) övre gräns`` rows, and the respondent
    count ``Antal svarande i NTU.`` (``enhet`` empty) per area and year.
``scb_pxweb_v1``
    SCB PxWeb API v1 JSON (``columns`` + ``data: [{"key": [...], "values": [...]}]``), population.
``scb_jsonstat2``
    SCB PxWeb json-stat2 (``version 2.0``, ``class dataset``), population.

Every reader returns a :class:`SourceTables` whose tables are canonical and validated
(:mod:`tmb_analysis.validation`), plus a provenance record. Problems raise
:class:`~tmb_analysis.validation.DataValidationError` with one message naming the file.

A file is marked ``synthetic`` when a sibling ``exempeldata.json`` (written by
:mod:`tmb_analysis.sample`) lists its sha256.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .catalogue import catalogue
from .geography import UnknownAreaError, registry
from .validation import COLUMNS, DataValidationError, empty_table, to_canonical, validate

MANIFEST_NAME = "exempeldata.json"
SAMPLE_NOTE = "Exempeldata – inte verklig statistik"

#: Formats with a reader: id -> description.
FORMATS: dict[str, str] = {
    "bra_long": "BRÅ Indikatorer för kommuners lägesbild, long-form CSV "
    "(UTF-8, comma-separated, columns geografi, enhet, ar, variabel, varde, kalla)",
    "scb_pxweb_v1": "SCB PxWeb API v1 JSON with population (keys 'columns' and 'data')",
    "scb_jsonstat2": "SCB PxWeb json-stat2 with population (version 2.0, class dataset)",
}
#: Formats that are recognised but have no reader yet: id -> description.
KNOWN_UNSUPPORTED: dict[str, str] = {
    "bra_kommun_csv": "BRÅ yearly per-kommun CSV (Kommun;Antal;Per 100 000 inv.)",
    "bra_databasfil": "BRÅ statistics database export (Databasfil.txt)",
    "kolada_v3": "Kolada API v3 JSON",
    "xlsx": "Excel workbook (BRÅ per-kommun xlsx)",
    "tmb_sample_manifest": "the example-data manifest exempeldata.json (not a data file)",
}

BRA_LONG_COLUMNS = ["geografi", "enhet", "ar", "variabel", "varde", "kalla"]
BRA_KALLA_CRIME = "Anmälda brott"
BRA_KALLA_NTU = "Nationella trygghetsundersökningen (NTU)"
BRA_UNIT_COUNT = "Antal"
BRA_UNIT_RATE = "Antal per 100 000 inv"
BRA_CI_LOW = "KI (95 %) undre gräns"
BRA_CI_HIGH = "KI (95 %) övre gräns"
BRA_RESPONDENTS = "Antal svarande i NTU."
MISSING_MARKERS = {"", "..", "."}
BRA_SOURCE = "Brå: Indikatorer för kommuners lägesbild"

_MAX_LIST = 8


@dataclass
class SourceTables:
    """The canonical tables read from one source file, with its provenance.

    ``provenance`` holds: ``file`` (name), ``sha256``, ``publisher`` (``Brå`` | ``SCB``),
    ``vintage`` (str or None), ``synthetic`` (bool), ``format`` (a :data:`FORMATS` id).
    """

    crime: pd.DataFrame = field(default_factory=lambda: empty_table("crime"))
    survey: pd.DataFrame = field(default_factory=lambda: empty_table("survey"))
    population: pd.DataFrame = field(default_factory=lambda: empty_table("population"))
    provenance: dict = field(default_factory=dict)

    def rows(self) -> dict[str, int]:
        return {"crime": len(self.crime), "survey": len(self.survey), "population": len(self.population)}

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)


# ---- bytes, text, provenance ---------------------------------------------------------

def _fail(path: Path, message: str) -> DataValidationError:
    return DataValidationError(f"{Path(path).name}: {message}", origin=Path(path).name)


def _read_bytes(path: Path) -> bytes:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise _fail(path, "is a folder, expected a file")
    data = path.read_bytes()
    if not data.strip():
        raise _fail(path, "the file is empty")
    return data


def _decode(path: Path, data: bytes) -> str:
    """Strict UTF-8 (a BOM is allowed); a bad byte gives its position, line and column."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        pos = exc.start + (len(data) - len(body))
        line = data.count(b"\n", 0, pos) + 1
        col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
        bad = data[pos : pos + 1]
        hint = ""
        if bad and bad[0] >= 0x80:
            guess = bad.decode("latin-1")
            hint = f" (0x{bad.hex().upper()} is {guess!r} in ISO-8859-1/Windows-1252: the file looks like ISO-8859-1)"
        raise _fail(
            path,
            f"not valid UTF-8: byte 0x{bad.hex().upper()} at byte position {pos} (line {line}, column {col}){hint}; "
            "save the file as UTF-8",
        ) from None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest_hashes(folder: Path) -> set[str]:
    manifest = folder / MANIFEST_NAME
    if not manifest.is_file():
        return set()
    try:
        obj = json.loads(manifest.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return set()
    files = obj.get("files", []) if isinstance(obj, dict) else []
    return {str(f.get("sha256", "")).lower() for f in files if isinstance(f, dict)}


def _provenance(path: Path, data: bytes, publisher: str, fmt: str, vintage: str | None) -> dict:
    digest = sha256_of(data)
    return {
        "file": Path(path).name,
        "sha256": digest,
        "publisher": publisher,
        "vintage": vintage,
        "synthetic": digest in _manifest_hashes(Path(path).parent),
        "format": fmt,
    }


# ---- format detection ------------------------------------------------------------

def _norm_header(cell: str) -> str:
    return cell.strip().strip('"').strip("\ufeff").strip().casefold()


def _sniff(data: bytes) -> str:
    head = data[:65536]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")


def detect_format(path: str | Path) -> str:
    """The format id of a file, from its content: a :data:`FORMATS` or :data:`KNOWN_UNSUPPORTED` id,
    or ``'unknown'``."""
    path = Path(path)
    data = _read_bytes(path)
    if data[:4] == b"PK\x03\x04":
        return "xlsx" if path.suffix.lower() in (".xlsx", ".xlsm", "") else "unknown"
    text = _sniff(data)
    if text.startswith(("{", "[")):
        compact = re.sub(r"\s+", "", text[:20000])
        if path.name == MANIFEST_NAME or ('"files":' in compact and SAMPLE_NOTE in text):
            return "tmb_sample_manifest"
        if re.search(r'"class":"dataset"', compact) or ('"version":"2.0"' in compact and '"dimension":' in compact):
            return "scb_jsonstat2"
        if '"columns":' in compact and '"data":' in compact:
            return "scb_pxweb_v1"
        if '"kpi":' in compact or '"next_url"' in compact:
            return "kolada_v3"
        return "unknown"
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    low = first.casefold()
    names = set(BRA_LONG_COLUMNS)
    for sep in (",", ";", "\t", "|"):
        cells = {_norm_header(c) for c in first.split(sep)}
        if len(cells & names) >= 3:
            return "bra_long"
    if low.startswith("region;brott;"):
        return "bra_databasfil"
    if low.startswith("kommun;antal;") or low.startswith('"kommun";"antal"'):
        return "bra_kommun_csv"
    return "unknown"


def _supported_text() -> str:
    return "; ".join(f"{k} = {v}" for k, v in FORMATS.items())


def read_source(path: str | Path) -> SourceTables:
    """Read any supported source file (the format is detected from the content)."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "bra_long":
        return read_bra_long(path)
    if fmt in ("scb_pxweb_v1", "scb_jsonstat2"):
        return read_scb_pxweb_json(path)
    if fmt in KNOWN_UNSUPPORTED:
        raise _fail(
            path,
            f"recognised as {KNOWN_UNSUPPORTED[fmt]}, which has no reader; supported formats: {_supported_text()}",
        )
    raise _fail(path, f"unrecognised file format; supported formats: {_supported_text()}")


# ---- BRÅ long form -----------------------------------------------------------------

def _lines_text(lines) -> str:
    lines = [int(n) for n in lines]
    shown = ", ".join(str(n) for n in lines[:_MAX_LIST])
    return f"line{'s' if len(lines) > 1 else ''} {shown}{' …' if len(lines) > _MAX_LIST else ''}"


def _values_with_lines(values: np.ndarray, lines: np.ndarray, mask: np.ndarray) -> str:
    """'name' (lines 3, 9), 'other' (line 12) … for the masked rows, in file order."""
    groups: dict[str, list[int]] = {}
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


_RATE_UNITS = {_norm_unit(u) for u in ("Antal per 100 000 inv", "Antal per 100 000 invånare", "Per 100 000 inv", "Per 100 000 invånare")}
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
        reason = "the file looks truncated" if truncated else "is a field missing, or a separator or quote out of place?"
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
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
        columns = {name: frame[header.index(name)].to_numpy(dtype=object) for name in BRA_LONG_COLUMNS}
    else:
        columns = {name: np.array([r[header.index(name)] for r in frame_rows], dtype=object) for name in BRA_LONG_COLUMNS}
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
      ``ci_high_pct``; ``Antal svarande i NTU.`` of the same area and year becomes ``n_respondents``
      (for every NTU indicator of that area and year, as published).
    * ``varde`` must be a number (``.`` as decimal mark); ``..`` or an empty cell means "no value"
      (an area-year-indicator with no value at all is left out). A value given twice for the same
      area, year, indicator and unit is an error.
    * ``status`` is ``final``: the indicator set publishes final statistics only.
    """
    path = Path(path)
    data = _read_bytes(path)
    text = _decode(path, data)
    col, lines = _parse_long_csv(path, text)

    # years
    y_codes, y_uniq = _factor(col["ar"])
    y_vals = np.array([int(u.strip()) if re.fullmatch(r"\s*\d{4}\s*", u) else -1 for u in y_uniq], dtype=np.int64)
    year = y_vals[y_codes]
    if (year < 0).any():
        raise _fail(
            path,
            f"column 'ar' must be a four-digit year; found "
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

    # indicators (index into ind_ids; -1 = the respondent count) and kinds
    cat = catalogue()
    ind_ids: list[str] = []
    k_codes, k_uniq = _factor(col["variabel"])
    var_ind, var_kind = [], []
    for name in k_uniq:
        if cat.is_respondent_count(name):
            var_ind.append(-1)
            var_kind.append("respondents")
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

    # units -> part
    e_codes, e_uniq = _factor(col["enhet"])
    e_norm = [_norm_unit(u) for u in e_uniq]
    crime_part = np.array(
        [_P["count"] if u in _COUNT_UNITS else _P["rate_per_100k"] if u in _RATE_UNITS else -1 for u in e_norm]
    )[e_codes]
    survey_part = np.array(
        [_P["ci_low_pct"] if u in _CI_LOW_UNITS else _P["ci_high_pct"] if u in _CI_HIGH_UNITS else _P["share_pct"] for u in e_norm]
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
    cell = (((a_codes.astype(np.int64) * 3000 + year) * n_ind + (ind_idx + 1)) * len(_PARTS)) + part
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
                f"on lines {', '.join(str(int(x)) for x in lines[idx])}"
            )
        raise _fail(
            path,
            f"{len(seen)} duplicated value(s) (same geografi, ar, variabel and enhet more than once): "
            + "; ".join(examples[:3]) + (" …" if len(examples) > 3 else ""),
        )

    source = BRA_SOURCE
    group = (a_codes.astype(np.int64) * 3000 + year) * n_ind + (ind_idx + 1)
    ctx = {"geografi": col["geografi"], "variabel": col["variabel"], "lines": lines}
    crime_t = _bra_table(path, "crime", kind == "crime", group, part, value, a_codes, a_uniq, year, ind_idx, ind_ids, ctx)
    survey_t = _bra_table(path, "survey", kind == "survey", group, part, value, a_codes, a_uniq, year, ind_idx, ind_ids, ctx)
    crime_t["status"] = "final"
    crime_t["source"] = source
    survey_t["source"] = source
    # respondents: one n per area and year, joined to every NTU indicator of that area and year
    resp = kind == "respondents"
    if resp.any() and len(survey_t):
        n_val = value[resp]
        frac = np.isfinite(n_val) & (n_val % 1 != 0)
        if frac.any():
            i = np.flatnonzero(resp)[np.flatnonzero(frac)[0]]
            raise _fail(path, f"'{BRA_RESPONDENTS}' must be a whole number; line {lines[i]} has {col['varde'][i]!r}")
        n_map = pd.Series(n_val, index=pd.MultiIndex.from_arrays([np.array(a_uniq, dtype=object)[a_codes[resp]], year[resp]]))
        key = pd.MultiIndex.from_arrays([survey_t["area_code"].to_numpy(dtype=object), survey_t["year"].to_numpy()])
        survey_t["n_respondents"] = n_map.reindex(key).to_numpy()
    else:
        survey_t["n_respondents"] = np.nan
    crime_t = to_canonical("crime", crime_t[COLUMNS["crime"]], path.name)
    survey_t = to_canonical("survey", survey_t[COLUMNS["survey"]], path.name)

    years_c = f"anmälda brott {crime_t['year'].min()}–{crime_t['year'].max()}" if len(crime_t) else None
    years_s = f"NTU {survey_t['year'].min()}–{survey_t['year'].max()}" if len(survey_t) else None
    vintage = ", ".join(v for v in (years_c, years_s) if v) or None
    prov = _provenance(path, data, "Brå", "bra_long", vintage)
    return SourceTables(
        crime=validate("crime", crime_t, path.name),
        survey=validate("survey", survey_t, path.name),
        population=empty_table("population"),
        provenance=prov,
    )


def _bra_table(path, name, mask, group, part, value, a_codes, a_uniq, year, ind_idx, ind_ids, ctx) -> pd.DataFrame:
    """Join the rows of one kind (crime or survey) into one row per (area, year, indicator)."""
    parts = ["count", "rate_per_100k"] if name == "crime" else ["share_pct", "ci_low_pct", "ci_high_pct"]
    what = "crime" if name == "crime" else "NTU"
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return pd.DataFrame({c: [] for c in ["area_code", "year", "indicator", *parts]})
    gid, _uniq = pd.factorize(group[rows])
    n = int(gid.max()) + 1
    first = np.full(n, -1, dtype=np.int64)
    first[gid[::-1]] = rows[::-1]  # the first row of every group
    out = {
        "area_code": np.array(a_uniq, dtype=object)[a_codes[first]],
        "year": year[first],
        "indicator": np.array(ind_ids, dtype=object)[ind_idx[first]],
    }
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
            examples.append(f"{ctx['geografi'][i]} {year[i]} {ctx['variabel'][i]!r} (line {ctx['lines'][i]}) lacks {lack}")
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


# ---- SCB PxWeb JSON (v1 and json-stat2) ------------------------------------------------

_POPULATION_CONTENTS = ("BE0101N1", "BE0101A9", "000000LV", "000000LY", "0000001A")
_TOTAL_CODES = {"1+2", "tot", "totalt", "t", "total", "tot1", "totalt ålder", "samtliga"}


def _json(path: Path, data: bytes) -> object:
    text = _decode(path, data)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        body = text.rstrip()
        end = exc.pos >= len(body) - 1 or not body.endswith(("}", "]"))
        why = "the file ends too early: it looks truncated" if end else "is it damaged?"
        raise _fail(path, f"not valid JSON ({exc.msg}, line {exc.lineno}, column {exc.colno}) — {why}") from None


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
        if not isinstance(key, list) or not isinstance(values, list) or len(key) != len(dims) or len(values) != len(contents):
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
            raise _fail(path, f"'value' has {len(values)} entries, expected {total} (the product of 'size') — truncated?")
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
        raise _fail(path, f"expected a JSON object; supported formats: {_supported_text()}")
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
        raise _fail(path, f"not SCB PxWeb JSON; supported formats: {_supported_text()}")

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
                raise _fail(path, f"several contents {', '.join(codes)}; expected one population measure (e.g. BE0101N1 Folkmängd)")
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
                raise _fail(path, f"dimension {kon!r} has values {sorted(values)}; expected 1 and 2 (summed) or a total")
        frame = frame.drop(columns=[kon], errors="ignore")
    alder = _dim(frame, "Alder", "ålder")
    if alder is not None:
        values = set(frame[alder])
        if len(values) > 1:
            totals = [v for v in values if v.casefold() in _TOTAL_CODES]
            if not totals:
                raise _fail(path, f"dimension {alder!r} has {len(values)} values and no total ('tot'); expected the total population")
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
        raise _fail(path, f"'{time}' must be a year such as 2024; found {years[bad_year].iloc[0]!r} (only yearly population is read)")
    out = pd.DataFrame(
        {
            "area_code": frame[region].astype("str").str.strip().to_numpy(),
            "year": years.astype("int64").to_numpy(),
            "population": frame["value"].to_numpy(),
        }
    )
    out = out[out["population"].notna()]
    label = obj.get("label") if isinstance(obj.get("label"), str) else None
    if label is None and isinstance(obj.get("metadata"), list) and obj["metadata"] and isinstance(obj["metadata"][0], dict):
        label = obj["metadata"][0].get("label")
    out["source"] = f"SCB: {label or 'Folkmängd'}"
    pop = to_canonical("population", out, path.name)
    tid = f"{pop['year'].min()}–{pop['year'].max()}" if len(pop) else None
    vintage = " ".join(v for v in (f"folkmängd {tid}" if tid else None, f"(uppdaterad {updated})" if updated else None) if v) or None
    prov = _provenance(path, data, "SCB", fmt, vintage)
    return SourceTables(population=validate("population", pop, path.name), provenance=prov)
